/**
 * The `.npy` format itself: the supported dtypes and their in-memory arrays, the header (built
 * and parsed, with the small subset of Python literal syntax NumPy writes) and the conversion of
 * elements to and from little-endian bytes.
 *
 * @module
 */

import { decodeFloat16, encodeFloat16 } from "../float16.ts";

/** A dtype this module reads and writes (NumPy's short codes, byte order aside). */
export type NpyDtype = "u1" | "b1" | "i4" | "f2" | "f4" | "f8";

/** The in-memory array type of each dtype. */
export interface NpyDataTypes {
  /** uint8 */
  u1: Uint8Array;
  /** bool, one byte per element, 0 or 1 */
  b1: Uint8Array;
  /** int32 */
  i4: Int32Array;
  /** float16, widened exactly to float32 in memory */
  f2: Float32Array;
  /** float32 */
  f4: Float32Array;
  /** float64 */
  f8: Float64Array;
}

/** A dense C-order array: `data.length` equals the product of `shape`. */
export interface NpyArray<D extends NpyDtype = NpyDtype> {
  /** Element type. */
  dtype: D;
  /** Dimensions; `[]` is a scalar. */
  shape: number[];
  /** Elements in C (row-major) order. */
  data: NpyDataTypes[D];
}

/** What the header of a `.npy` file says. */
export interface NpyHeader {
  /** Element type. */
  dtype: NpyDtype;
  /** Dimensions. */
  shape: number[];
  /** Format version, `[major, minor]`. */
  version: [number, number];
  /** Byte offset of the first element in the file. */
  dataOffset: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGN = 64; // NumPy aligns the data start to 64 bytes

/** Bytes per element of each dtype. */
export const ITEM_SIZE: Record<NpyDtype, number> = { u1: 1, b1: 1, i4: 4, f2: 2, f4: 4, f8: 8 };
const DESCR: Record<NpyDtype, string> = {
  u1: "|u1",
  b1: "|b1",
  i4: "<i4",
  f2: "<f2",
  f4: "<f4",
  f8: "<f8",
};

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Number of elements of an array of this shape. */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** Throws a RangeError naming `action` unless every dimension is a safe integer >= 0. */
export function checkShape(shape: readonly number[], action: string): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(
        `Cannot ${action}: shape [${shape.join(", ")}] has an invalid dimension`,
      );
    }
  }
}

/** Throws a TypeError naming `action` unless `dtype` is a supported dtype. */
export function assertDtype(dtype: string, action: string): asserts dtype is NpyDtype {
  if (!Object.hasOwn(ITEM_SIZE, dtype)) {
    throw new TypeError(
      `Cannot ${action}: dtype '${dtype}' is not one of ${Object.keys(ITEM_SIZE).join(", ")}`,
    );
  }
}

/** Allocates a zeroed array of `dtype` holding `length` elements. */
export function allocate<D extends NpyDtype>(dtype: D, length: number): NpyDataTypes[D] {
  switch (dtype) {
    case "i4":
      return new Int32Array(length) as NpyDataTypes[D];
    case "f2":
    case "f4":
      return new Float32Array(length) as NpyDataTypes[D];
    case "f8":
      return new Float64Array(length) as NpyDataTypes[D];
    default:
      return new Uint8Array(length) as NpyDataTypes[D];
  }
}

function expectedArrayType(dtype: NpyDtype): string {
  return dtype === "i4"
    ? "Int32Array"
    : dtype === "f2" || dtype === "f4"
    ? "Float32Array"
    : dtype === "f8"
    ? "Float64Array"
    : "Uint8Array";
}

/** Throws a TypeError naming `action` unless `data` is the in-memory array type of `dtype`. */
export function checkData(dtype: NpyDtype, data: ArrayBufferView, action: string): void {
  const ok = dtype === "i4"
    ? data instanceof Int32Array
    : dtype === "f2" || dtype === "f4"
    ? data instanceof Float32Array
    : dtype === "f8"
    ? data instanceof Float64Array
    : data instanceof Uint8Array;
  if (!ok) {
    throw new TypeError(
      `Cannot ${action}: dtype '${dtype}' takes a ${
        expectedArrayType(dtype)
      }, got ${data.constructor.name}`,
    );
  }
}

function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** Little-endian bytes of `data` as `dtype` (a fresh copy). */
export function toBytes(dtype: NpyDtype, data: ArrayBufferView): Uint8Array {
  if (dtype === "f2") {
    const bits = encodeFloat16(data as Float32Array);
    const bytes = new Uint8Array(bits.buffer);
    if (!LITTLE_ENDIAN_HOST) swapBytes(bytes, 2);
    return bytes;
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (dtype === "b1") {
    for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i] === 0 ? 0 : 1;
  } else if (!LITTLE_ENDIAN_HOST) {
    swapBytes(bytes, ITEM_SIZE[dtype]);
  }
  return bytes;
}

/** Converts little-endian bytes (owned, aligned at 0) into the in-memory array of `dtype`. */
export function fromBytes<D extends NpyDtype>(dtype: D, bytes: Uint8Array): NpyDataTypes[D] {
  if (!LITTLE_ENDIAN_HOST) swapBytes(bytes, ITEM_SIZE[dtype]);
  const buffer = bytes.buffer as ArrayBuffer;
  const length = bytes.length / ITEM_SIZE[dtype];
  switch (dtype) {
    case "i4":
      return new Int32Array(buffer, bytes.byteOffset, length) as NpyDataTypes[D];
    case "f2":
      return decodeFloat16(new Uint16Array(buffer, bytes.byteOffset, length)) as NpyDataTypes[D];
    case "f4":
      return new Float32Array(buffer, bytes.byteOffset, length) as NpyDataTypes[D];
    case "f8":
      return new Float64Array(buffer, bytes.byteOffset, length) as NpyDataTypes[D];
    default:
      return bytes as NpyDataTypes[D];
  }
}

function shapeLiteral(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(", ")})`;
}

/**
 * Builds the header (magic through the newline) for `dtype`/`shape`. With `minLength`, the header
 * is padded with spaces to at least that many bytes, which lets a writer rewrite it in place.
 */
export function buildHeader(dtype: NpyDtype, shape: readonly number[], minLength = 0): Uint8Array {
  const dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${
    shapeLiteral(shape)
  }, }`;
  // Version 1.0 has a 2-byte length field (10-byte preamble), 2.0 a 4-byte one (12 bytes).
  let preamble = 10;
  let total = Math.ceil(Math.max(preamble + dict.length + 1, minLength) / ALIGN) * ALIGN;
  if (total - preamble > 0xffff) {
    preamble = 12;
    total = Math.ceil(Math.max(preamble + dict.length + 1, minLength) / ALIGN) * ALIGN;
  }
  const out = new Uint8Array(total);
  out.set(MAGIC);
  const view = new DataView(out.buffer);
  const headerLength = total - preamble;
  if (preamble === 10) {
    out[6] = 1;
    out[7] = 0;
    view.setUint16(8, headerLength, true);
  } else {
    out[6] = 2;
    out[7] = 0;
    view.setUint32(8, headerLength, true);
  }
  const text = dict + " ".repeat(headerLength - dict.length - 1) + "\n";
  for (let i = 0; i < text.length; i++) out[preamble + i] = text.charCodeAt(i);
  return out;
}

// --- header parsing: the small subset of Python literal syntax NumPy writes -------------------

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

function parsePythonLiteral(text: string): PyValue {
  let pos = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`Cannot parse .npy header: ${what} at offset ${pos} in ${text.trim()}`);
  };
  const skip = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const value = (): PyValue => {
    skip();
    const c = text[pos];
    if (c === "{") {
      pos++;
      const dict: { [key: string]: PyValue } = {};
      for (;;) {
        skip();
        if (text[pos] === "}") {
          pos++;
          return dict;
        }
        const key = value();
        if (typeof key !== "string") fail("a non-string key");
        skip();
        if (text[pos] !== ":") fail("expected ':'");
        pos++;
        dict[key as string] = value();
        skip();
        if (text[pos] === ",") pos++;
        else if (text[pos] !== "}") fail("expected ',' or '}'");
      }
    }
    if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]";
      pos++;
      const items: PyValue[] = [];
      for (;;) {
        skip();
        if (text[pos] === close) {
          pos++;
          return items;
        }
        items.push(value());
        skip();
        if (text[pos] === ",") pos++;
        else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, pos + 1);
      if (end < 0) fail("an unterminated string");
      const s = text.slice(pos + 1, end);
      pos = end + 1;
      return s;
    }
    const word = /^[A-Za-z_]+|^-?\d+L?/.exec(text.slice(pos));
    if (word === null) return fail("an unexpected character");
    pos += word[0].length;
    if (word[0] === "True") return true;
    if (word[0] === "False") return false;
    if (word[0] === "None") return null;
    if (/^-?\d/.test(word[0])) return Number.parseInt(word[0], 10);
    return fail(`an unknown name '${word[0]}'`);
  };
  const result = value();
  skip();
  if (pos !== text.length) fail("trailing characters");
  return result;
}

/** Parses the header at the start of `bytes` (which must hold at least the whole header). */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw new SyntaxError("Cannot read .npy: the magic string is missing");
    }
  }
  const major = bytes[6];
  const minor = bytes[7];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let preamble: number;
  let headerLength: number;
  if (major === 1) {
    preamble = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    preamble = 12;
    headerLength = view.getUint32(8, true);
  } else {
    throw new RangeError(`Cannot read .npy: format version ${major}.${minor} is not supported`);
  }
  if (bytes.length < preamble + headerLength) {
    throw new RangeError("Cannot read .npy: the file ends inside its header");
  }
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(preamble, preamble + headerLength),
  );
  const dict = parsePythonLiteral(text);
  if (dict === null || typeof dict !== "object" || Array.isArray(dict)) {
    throw new SyntaxError(`Cannot read .npy: the header is not a dict: ${text.trim()}`);
  }
  const { descr, fortran_order: fortranOrder, shape } = dict;
  if (typeof descr !== "string") {
    throw new TypeError(`Cannot read .npy: structured dtypes are not supported (${text.trim()})`);
  }
  if (fortranOrder !== false) {
    throw new RangeError("Cannot read .npy: Fortran-order arrays are not supported");
  }
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number")) {
    throw new SyntaxError(`Cannot read .npy: bad shape in header ${text.trim()}`);
  }
  const order = descr[0];
  const code = descr.slice(1);
  if (order === ">" && code !== "u1" && code !== "b1") {
    throw new RangeError(`Cannot read .npy: big-endian dtype '${descr}' is not supported`);
  }
  if (!"<|=>".includes(order) || !Object.hasOwn(ITEM_SIZE, code)) {
    throw new TypeError(
      `Cannot read .npy: dtype '${descr}' is not supported (u1, b1, i4, f2, f4, f8 are)`,
    );
  }
  checkShape(shape as number[], "read .npy");
  return {
    dtype: code as NpyDtype,
    shape: shape as number[],
    version: [major, minor],
    dataOffset: preamble + headerLength,
  };
}
