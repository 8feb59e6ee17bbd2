/**
 * Linear-algebra helpers for CMA-ES on flat, row-major `Float64Array` matrices, and an exact,
 * JSON-safe encoding of float arrays for checkpoints.
 *
 * The eigendecomposition is ml-matrix's (a port of JAMA's Householder tridiagonalisation and
 * implicit QL), not a hand-written routine.
 *
 * @module
 */

import { EigenvalueDecomposition, Matrix } from "ml-matrix";

/** Eigenvalues and eigenvectors of a symmetric matrix. */
export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** Row-major n x n matrix whose column i is the unit eigenvector of `values[i]`. */
  vectors: Float64Array;
}

/**
 * Eigendecomposition of the symmetric n x n matrix `a` (row-major; only the lower triangle is
 * read, the upper one is assumed to mirror it).
 */
export function symmetricEigen(a: Float64Array, n: number): SymmetricEigen {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) {
    throw new RangeError(
      `Cannot decompose the matrix: ${a.length} entries do not form a ${n} x ${n} matrix`,
    );
  }
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = a[i * n + j];
      if (!Number.isFinite(v)) {
        throw new RangeError(`Cannot decompose the matrix: entry (${i}, ${j}) is ${v}`);
      }
      m.set(i, j, v);
      m.set(j, i, v);
    }
  }
  const evd = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const raw = evd.realEigenvalues;
  const vec = evd.eigenvectorMatrix;
  // JAMA's symmetric QL already sorts ascending; sort anyway so callers can rely on it.
  const order = Array.from(raw.keys()).sort((p, q) => raw[p] - raw[q] || p - q);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    const src = order[c];
    values[c] = raw[src];
    for (let r = 0; r < n; r++) vectors[r * n + c] = vec.get(r, src);
  }
  return { values, vectors };
}

/** Encodes a float64 array as base64 of its little-endian bytes (exact, NaN/Infinity safe). */
export function encodeFloat64(values: ArrayLike<number>): string {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i], true);
  // Table-driven encoding into ASCII bytes: an order of magnitude faster than btoa on a binary
  // string for the ~9 MB of a full 867-D state.
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0, i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const t = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o++] = BASE64[t >>> 18];
    out[o++] = BASE64[(t >>> 12) & 63];
    out[o++] = BASE64[(t >>> 6) & 63];
    out[o++] = BASE64[t & 63];
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const t = (bytes[i] << 16) | (rest === 2 ? bytes[i + 1] << 8 : 0);
    out[o++] = BASE64[t >>> 18];
    out[o++] = BASE64[(t >>> 12) & 63];
    out[o++] = rest === 2 ? BASE64[(t >>> 6) & 63] : PAD;
    out[o++] = PAD;
  }
  return new TextDecoder().decode(out);
}

const BASE64 = new TextEncoder().encode(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
);
const PAD = 61; // "="

/**
 * Decodes {@linkcode encodeFloat64} output; `length`, when given, is checked.
 *
 * @throws {TypeError} when the text is not base64 of whole float64 values of that length.
 */
export function decodeFloat64(text: string, length?: number): Float64Array {
  if (typeof text !== "string") {
    throw new TypeError("Cannot decode a float array: expected a base64 string");
  }
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new TypeError("Cannot decode a float array: the text is not valid base64");
  }
  if (binary.length % 8 !== 0 || (length !== undefined && binary.length !== length * 8)) {
    throw new TypeError(
      `Cannot decode a float array: ${binary.length} bytes where ${
        length === undefined ? "a multiple of 8" : length * 8
      } were expected`,
    );
  }
  const view = new DataView(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) view.setUint8(i, binary.charCodeAt(i));
  const out = new Float64Array(binary.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}
