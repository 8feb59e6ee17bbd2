/**
 * The memory arena of a kernel module: named f32 buffers placed one after another in its
 * linear memory, each on a 64-byte boundary (a cache line, so no two buffers share one), the
 * memory grown to fit.
 *
 * @module
 */

/** Byte offset of each buffer, and a view of the whole memory after it was grown. */
export interface Arena<Name extends string> {
  /** Byte offset of each named buffer. */
  at: Record<Name, number>;
  /** The memory as floats (a fresh view: growing detaches the old one). */
  f32: Float32Array<ArrayBuffer>;
  /** Bytes in use, from 0 to the end of the last buffer. */
  bytes: number;
}

/** Alignment of every buffer in bytes. */
export const ARENA_ALIGN = 64;
/** Bytes kept free at address 0, so that no buffer starts at the null address. */
const RESERVED = 64;
const PAGE = 65536;

/**
 * Places `sizes` (floats per buffer, in insertion order) in `memory`, grows it to fit and
 * zero-fills the whole memory (a new layout starts from a clean slate: padding rows and
 * columns must read as zero).
 */
export function layoutArena<Name extends string>(
  memory: WebAssembly.Memory,
  sizes: Record<Name, number>,
): Arena<Name> {
  let top = RESERVED;
  const at = {} as Record<Name, number>;
  for (const [name, n] of Object.entries(sizes) as [Name, number][]) {
    at[name] = top;
    top += Math.ceil((n * 4) / ARENA_ALIGN) * ARENA_ALIGN;
  }
  const need = Math.ceil(top / PAGE);
  const have = memory.buffer.byteLength / PAGE;
  if (need > have) memory.grow(need - have);
  const f32 = new Float32Array(memory.buffer as ArrayBuffer);
  f32.fill(0);
  return { at, f32, bytes: top };
}
