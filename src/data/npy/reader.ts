/**
 * Random access to a `.npy` file on disk: {@linkcode openNpy} reads only the header, then
 * {@linkcode NpyReader} reads row ranges or scattered rows with seek + read.
 *
 * @module
 */

import {
  fromBytes,
  ITEM_SIZE,
  type NpyArray,
  type NpyDataTypes,
  type NpyDtype,
  type NpyHeader,
  parseNpyHeader,
  shapeSize,
} from "./format.ts";

/** Rows closer than this many bytes apart are fetched by one read in `readRowsAt`. */
const MERGE_GAP_BYTES = 16384;

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
