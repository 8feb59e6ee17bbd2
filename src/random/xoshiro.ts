/**
 * The xoshiro128** generator of Blackman and Vigna: 128 bits of state, 32-bit outputs, pure
 * integer arithmetic, so every platform produces the same stream. Seeding lives in
 * `seeding.ts`; floats and normals are built from its outputs in `samplers.ts`.
 *
 * @module
 */

/** The four 32-bit words of a xoshiro128** state. */
export type StateWords = [number, number, number, number];

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The xoshiro128** core: a state and its step. */
export class Xoshiro128 {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /**
   * Starts from a state (see `seeding.ts` for how seeds become states).
   *
   * @param words The four state words; an all-zero state would stay zero forever.
   */
  constructor(words: Readonly<StateWords>) {
    this.#s0 = words[0] | 0;
    this.#s1 = words[1] | 0;
    this.#s2 = words[2] | 0;
    this.#s3 = words[3] | 0;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** The current state, as four unsigned 32-bit words. */
  stateWords(): StateWords {
    return [this.#s0 >>> 0, this.#s1 >>> 0, this.#s2 >>> 0, this.#s3 >>> 0];
  }
}
