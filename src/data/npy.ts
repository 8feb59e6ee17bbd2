/**
 * NumPy `.npy` files (format versions 1.0 and 2.0), C order, little-endian.
 *
 * Whole-array encode/decode, an incremental writer that appends rows along the first axis and
 * fixes the shape in the header when closed, and a reader that reads row ranges (or scattered
 * rows) from disk with seek + read, without loading the file.
 *
 * Supported dtypes and their in-memory arrays:
 * `u1` (uint8) and `b1` (bool, 0/1) as Uint8Array, `i4` as Int32Array, `f2` (float16) and `f4`
 * as Float32Array (float16 is converted exactly, rounding to nearest even on write), `f8` as
 * Float64Array.
 *
 * @module
 */

import { decodeFloat16, encodeFloat16 } from "./float16.ts";

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
/** Room left in a growable header so the first dimension can reach any safe integer. */
const GROWTH_DIGITS = 21;
/** Rows closer than this many bytes apart are fetched by one read in `readRowsAt`. */
const MERGE_GAP_BYTES = 16384;

const ITEM_SIZE: Record<NpyDtype, number> = { u1: 1, b1: 1, i4: 4, f2: 2, f4: 4, f8: 8 };
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

function checkShape(shape: readonly number[], action: string): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(
        `Cannot ${action}: shape [${shape.join(", ")}] has an invalid dimension`,
      );
    }
  }
}

function assertDtype(dtype: string, action: string): asserts dtype is NpyDtype {
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

function checkData(dtype: NpyDtype, data: ArrayBufferView, action: string): void {
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
function toBytes(dtype: NpyDtype, data: ArrayBufferView): Uint8Array {
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
function fromBytes<D extends NpyDtype>(dtype: D, bytes: Uint8Array): NpyDataTypes[D] {
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
function buildHeader(dtype: NpyDtype, shape: readonly number[], minLength = 0): Uint8Array {
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

// --- whole arrays ---------------------------------------------------------------------------

/** Encodes an array as the bytes of a `.npy` file. */
export function encodeNpy(array: NpyArray): Uint8Array {
  assertDtype(array.dtype, "encode .npy");
  checkShape(array.shape, "encode .npy");
  checkData(array.dtype, array.data, "encode .npy");
  if (array.data.length !== shapeSize(array.shape)) {
    throw new RangeError(
      `Cannot encode .npy: shape [${array.shape.join(", ")}] needs ${
        shapeSize(array.shape)
      } elements, data has ${array.data.length}`,
    );
  }
  const header = buildHeader(array.dtype, array.shape);
  const body = toBytes(array.dtype, array.data);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

/** Decodes the bytes of a `.npy` file. */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  const header = parseNpyHeader(bytes);
  const length = shapeSize(header.shape) * ITEM_SIZE[header.dtype];
  if (bytes.length - header.dataOffset < length) {
    throw new RangeError(
      `Cannot read .npy: shape [${header.shape.join(", ")}] needs ${length} data bytes, ` +
        `the file holds ${bytes.length - header.dataOffset}`,
    );
  }
  const data = bytes.slice(header.dataOffset, header.dataOffset + length);
  return { dtype: header.dtype, shape: header.shape, data: fromBytes(header.dtype, data) };
}

/** Writes an array to a `.npy` file. */
export async function writeNpy(path: string | URL, array: NpyArray): Promise<void> {
  await Deno.writeFile(path, encodeNpy(array));
}

/** Reads a whole `.npy` file into memory (see {@linkcode openNpy} for partial reads). */
export async function readNpy(path: string | URL): Promise<NpyArray> {
  return decodeNpy(await Deno.readFile(path));
}

// --- random access --------------------------------------------------------------------------

async function readExactly(file: Deno.FsFile, into: Uint8Array, what: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const n = await file.read(into.subarray(done));
    if (n === null) throw new RangeError(`Cannot read ${what}: unexpected end of file`);
    done += n;
  }
}

/**
 * Synchronous reads for row access: a seek + read of a few KiB from the page cache takes
 * microseconds, far less than the overhead of two async operations.
 */
function readExactlySync(file: Deno.FsFile, into: Uint8Array, what: string): void {
  let done = 0;
  while (done < into.length) {
    const n = file.readSync(into.subarray(done));
    if (n === null) throw new RangeError(`Cannot read ${what}: unexpected end of file`);
    done += n;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/**
 * A `.npy` file opened for reading rows (slices along the first axis) from disk. Create with
 * {@linkcode openNpy}; call {@linkcode NpyReader.close} when done. Reads are synchronous
 * seek + read calls: a few KiB from the page cache cost microseconds, less than the overhead
 * of two async operations, and they cannot interleave.
 */
export class NpyReader<D extends NpyDtype = NpyDtype> {
  /** Element type. */
  readonly dtype: D;
  /** Full shape; `shape[0]` rows. */
  readonly shape: readonly number[];
  /** Shape of one row (`shape` without the first axis). */
  readonly rowShape: readonly number[];
  /** Elements per row. */
  readonly rowSize: number;
  #file: Deno.FsFile;
  #path: string;
  #offset: number;
  #rowBytes: number;

  /** Use {@linkcode openNpy}. */
  constructor(file: Deno.FsFile, path: string, header: NpyHeader) {
    if (header.shape.length === 0) {
      throw new RangeError(`Cannot open ${path} for row reads: it holds a scalar`);
    }
    this.dtype = header.dtype as D;
    this.shape = header.shape;
    this.rowShape = header.shape.slice(1);
    this.rowSize = shapeSize(this.rowShape);
    this.#file = file;
    this.#path = path;
    this.#offset = header.dataOffset;
    this.#rowBytes = this.rowSize * ITEM_SIZE[header.dtype];
  }

  /** Number of rows (`shape[0]`). */
  get rows(): number {
    return this.shape[0];
  }

  /**
   * Reads `count` consecutive rows starting at row `start`; elements in C order. The read is
   * synchronous (see {@linkcode NpyReader.readRowsSync}); the promise is for callers that
   * treat all I/O as async.
   */
  readRows(start: number, count: number): Promise<NpyDataTypes[D]> {
    try {
      return Promise.resolve(this.readRowsSync(start, count));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Reads `count` consecutive rows starting at row `start` (one seek + read). */
  readRowsSync(start: number, count: number): NpyDataTypes[D] {
    if (
      !Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 ||
      start + count > this.rows
    ) {
      throw new RangeError(
        `Cannot read rows ${start}..${start + count} of ${this.#path}: it has ${this.rows} rows`,
      );
    }
    const bytes = new Uint8Array(count * this.#rowBytes);
    this.#file.seekSync(this.#offset + start * this.#rowBytes, Deno.SeekMode.Start);
    readExactlySync(this.#file, bytes, this.#path);
    return fromBytes(this.dtype, bytes);
  }

  /**
   * Reads the rows at `indices` (any order, repeats allowed) into one array whose k-th row is row
   * `indices[k]` (see {@linkcode NpyReader.readRowsAtSync}).
   */
  readRowsAt(indices: ArrayLike<number>): Promise<NpyDataTypes[D]> {
    try {
      return Promise.resolve(this.readRowsAtSync(indices));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Reads the rows at `indices` (any order, repeats allowed) into one array whose k-th row is row
   * `indices[k]`. Nearby indices (after sorting) are read with a single seek + read.
   */
  readRowsAtSync(indices: ArrayLike<number>): NpyDataTypes[D] {
    for (let i = 0; i < indices.length; i++) {
      const r = indices[i];
      if (!Number.isSafeInteger(r) || r < 0 || r >= this.rows) {
        throw new RangeError(`Cannot read row ${r} of ${this.#path}: it has ${this.rows} rows`);
      }
    }
    const rowBytes = this.#rowBytes;
    const order = Array.from({ length: indices.length }, (_, k) => k);
    order.sort((a, b) => indices[a] - indices[b]);
    const bytes = new Uint8Array(indices.length * rowBytes);
    let k = 0;
    while (k < order.length) {
      // Extend a run of nearby rows and read it in one go: a few extra bytes cost less than
      // another seek + read.
      const first = indices[order[k]];
      let end = k + 1;
      while (
        end < order.length &&
        (indices[order[end]] - indices[order[end - 1]] - 1) * rowBytes <= MERGE_GAP_BYTES
      ) end++;
      const last = indices[order[end - 1]];
      const run = new Uint8Array((last - first + 1) * rowBytes);
      this.#file.seekSync(this.#offset + first * rowBytes, Deno.SeekMode.Start);
      readExactlySync(this.#file, run, this.#path);
      for (let j = k; j < end; j++) {
        const r = indices[order[j]] - first;
        bytes.set(run.subarray(r * rowBytes, (r + 1) * rowBytes), order[j] * rowBytes);
      }
      k = end;
    }
    return fromBytes(this.dtype, bytes);
  }

  /** Reads the whole array. */
  async readAll(): Promise<NpyArray<D>> {
    return { dtype: this.dtype, shape: [...this.shape], data: await this.readRows(0, this.rows) };
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }

  /** Closes the file (for `using`). */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Opens a `.npy` file for reading rows from disk; only the header is read now. */
export async function openNpy(path: string): Promise<NpyReader> {
  const file = await Deno.open(path, { read: true });
  try {
    const stat = await file.stat();
    const head = new Uint8Array(Math.min(stat.size, 4096));
    await readExactly(file, head, path);
    let header: NpyHeader;
    try {
      header = parseNpyHeader(head);
    } catch (error) {
      if (!(error instanceof RangeError) || !/inside its header/.test(error.message)) throw error;
      // A header longer than 4 KiB (very high rank or version 2.0): read all of it.
      const length = new DataView(head.buffer).getUint32(8, true) + 12;
      const full = new Uint8Array(Math.min(stat.size, length));
      await file.seek(0, Deno.SeekMode.Start);
      await readExactly(file, full, path);
      header = parseNpyHeader(full);
    }
    const needed = header.dataOffset + shapeSize(header.shape) * ITEM_SIZE[header.dtype];
    if (stat.size < needed) {
      throw new RangeError(
        `Cannot open ${path}: shape [${header.shape.join(", ")}] needs ${needed} bytes, ` +
          `the file has ${stat.size}`,
      );
    }
    return new NpyReader(file, path, header);
  } catch (error) {
    file.close();
    throw error;
  }
}

/** Options of {@linkcode createNpyWriter}. */
export interface NpyWriterOptions<D extends NpyDtype> {
  /** Element type. */
  dtype: D;
  /** Shape of one row; the file's shape is `[rows, ...rowShape]`. `[]` makes a 1-d array. */
  rowShape: readonly number[];
}

/**
 * Writes a `.npy` file row by row. The header is padded so that the final row count can be
 * written in place by {@linkcode NpyWriter.close}; until then the header says 0 rows.
 * Appends are serialised in call order.
 */
export class NpyWriter<D extends NpyDtype = NpyDtype> {
  /** Element type. */
  readonly dtype: D;
  /** Shape of one row. */
  readonly rowShape: readonly number[];
  /** Elements per row. */
  readonly rowSize: number;
  #file: Deno.FsFile;
  #path: string;
  #headerLength: number;
  #rows = 0;
  #closed = false;
  #queue: Promise<unknown> = Promise.resolve();

  /** Use {@linkcode createNpyWriter}. */
  constructor(file: Deno.FsFile, path: string, options: NpyWriterOptions<D>, headerLength: number) {
    this.dtype = options.dtype;
    this.rowShape = [...options.rowShape];
    this.rowSize = shapeSize(options.rowShape);
    this.#file = file;
    this.#path = path;
    this.#headerLength = headerLength;
  }

  /** Rows appended so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Appends whole rows: `data.length` must be a multiple of the row size. */
  append(data: NpyDataTypes[D]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`Cannot append to ${this.#path}: closed`));
    try {
      checkData(this.dtype, data, `append to ${this.#path}`);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.rowSize === 0 ? data.length !== 0 : data.length % this.rowSize !== 0) {
      return Promise.reject(
        new RangeError(
          `Cannot append to ${this.#path}: ${data.length} elements are not whole rows of ${this.rowSize}`,
        ),
      );
    }
    // Convert now, so the caller may reuse its buffer as soon as append() returns.
    const bytes = toBytes(this.dtype, data);
    this.#rows += this.rowSize === 0 ? 0 : data.length / this.rowSize;
    return this.#serial(() => writeAll(this.#file, bytes));
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(task);
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Waits for pending appends, writes the final shape into the header and closes the file. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return this.#serial(async () => {
      try {
        const header = buildHeader(this.dtype, [this.#rows, ...this.rowShape], this.#headerLength);
        if (header.length !== this.#headerLength) {
          throw new RangeError(`Cannot close ${this.#path}: the header outgrew its reserved space`);
        }
        await this.#file.seek(0, Deno.SeekMode.Start);
        await writeAll(this.#file, header);
      } finally {
        this.#file.close();
      }
    });
  }
}

/** Creates (or truncates) a `.npy` file to be written row by row. */
export async function createNpyWriter<D extends NpyDtype>(
  path: string,
  options: NpyWriterOptions<D>,
): Promise<NpyWriter<D>> {
  assertDtype(options.dtype, `create ${path}`);
  checkShape(options.rowShape, `create ${path}`);
  // Reserve room for the widest first dimension, then start out saying 0 rows.
  const widest = buildHeader(options.dtype, [0, ...options.rowShape]).length + GROWTH_DIGITS;
  const header = buildHeader(options.dtype, [0, ...options.rowShape], widest);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    await writeAll(file, header);
  } catch (error) {
    file.close();
    throw error;
  }
  return new NpyWriter(file, path, options, header.length);
}
