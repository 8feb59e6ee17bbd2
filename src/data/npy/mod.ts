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

export {
  allocate,
  type NpyArray,
  type NpyDataTypes,
  type NpyDtype,
  type NpyHeader,
  parseNpyHeader,
  shapeSize,
} from "./format.ts";
export { decodeNpy, encodeNpy, readNpy, writeNpy } from "./array.ts";
export { NpyReader, openNpy } from "./reader.ts";
export { createNpyWriter, NpyWriter, type NpyWriterOptions } from "./writer.ts";
