/**
 * Whole `.npy` arrays: encode/decode in memory, read/write a file at once.
 *
 * @module
 */

import {
  assertDtype,
  buildHeader,
  checkData,
  checkShape,
  fromBytes,
  ITEM_SIZE,
  type NpyArray,
  parseNpyHeader,
  shapeSize,
  toBytes,
} from "./format.ts";

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
