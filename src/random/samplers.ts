/**
 * Turning uniform 32-bit draws into floats, integers, permutations and standard normals.
 *
 * @module
 */

/** A source of uniform 32-bit unsigned integers. */
export interface Uint32Source {
  /** A uniform integer in [0, 2^32). */
  nextUint32(): number;
}

/** A source of uniform floats in [0, 1). */
export interface FloatSource {
  /** A uniform float in [0, 1). */
  nextFloat(): number;
}

/**
 * A uniform float in [0, 1) with 32 random bits (one draw).
 *
 * @param source The generator.
 * @returns The float.
 */
export function float32(source: Uint32Source): number {
  return source.nextUint32() / 4294967296;
}

/**
 * A uniform float in [0, 1) with 53 random bits from two draws (numpy's construction).
 *
 * @param source The generator.
 * @returns The float.
 */
export function float53(source: Uint32Source): number {
  const hi = source.nextUint32() >>> 5; // 27 bits
  const lo = source.nextUint32() >>> 6; // 26 bits
  return (hi * 67108864 + lo) / 9007199254740992;
}

/**
 * A uniform integer in [0, n), as `floor(u * n)`.
 *
 * @param source The generator.
 * @param n A positive safe integer.
 * @returns The integer.
 * @throws {RangeError} If `n` is not a positive safe integer.
 */
export function intBelow(source: FloatSource, n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`Cannot draw an integer below ${n}: not a positive safe integer`);
  }
  return Math.floor(source.nextFloat() * n);
}

/**
 * Shuffles `array` in place (Fisher-Yates, from the end) and returns it.
 *
 * @param source The generator.
 * @param array An array or typed array.
 * @returns `array`.
 */
export function shuffle<T extends { length: number; [i: number]: unknown }>(
  source: FloatSource,
  array: T,
): T {
  for (let i = array.length - 1; i > 0; i--) {
    const j = intBelow(source, i + 1);
    const t = array[i];
    array[i] = array[j];
    array[j] = t;
  }
  return array;
}

/**
 * Standard normals by Marsaglia's polar method (only `Math.log` and `Math.sqrt`): each accepted
 * pair gives two deviates, the second kept for the next call.
 */
export class PolarNormal {
  /** The pair's second deviate, or null when none is kept. */
  spare: number | null = null;

  /**
   * A standard normal deviate.
   *
   * @param source The uniform floats to draw from.
   * @returns The deviate.
   */
  next(source: FloatSource): number {
    if (this.spare !== null) {
      const spare = this.spare;
      this.spare = null;
      return spare;
    }
    for (;;) {
      const u = 2 * source.nextFloat() - 1;
      const v = 2 * source.nextFloat() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const factor = Math.sqrt(-2 * Math.log(s) / s);
        this.spare = v * factor;
        return u * factor;
      }
    }
  }
}

/**
 * Standard normals by the Box-Muller transform: each pair of uniforms gives two deviates, the
 * second kept for the next call.
 */
export class BoxMullerNormal {
  /** The pair's second deviate, or null when none is kept. */
  spare: number | null = null;

  /**
   * A standard normal deviate.
   *
   * @param source The uniform floats to draw from.
   * @returns The deviate.
   */
  next(source: FloatSource): number {
    if (this.spare !== null) {
      const spare = this.spare;
      this.spare = null;
      return spare;
    }
    let u = 0;
    while (u === 0) u = source.nextFloat();
    const v = source.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}
