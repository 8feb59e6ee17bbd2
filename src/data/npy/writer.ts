/**
 * Streaming `.npy` output: {@linkcode createNpyWriter} starts a file whose rows
 * {@linkcode NpyWriter} appends along the first axis, fixing the shape in the header on close.
 *
 * @module
 */

import {
  assertDtype,
  buildHeader,
  checkData,
  checkShape,
  type NpyDataTypes,
  type NpyDtype,
  shapeSize,
  toBytes,
} from "./format.ts";

/** Room left in a growable header so the first dimension can reach any safe integer. */
const GROWTH_DIGITS = 21;

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
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
