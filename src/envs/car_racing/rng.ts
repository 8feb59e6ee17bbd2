/**
 * Differs from gym: gym draws from numpy's MT19937 (seeded through gym's hash); this is
 * the environment's own seeded random number generator (xoshiro128** seeded through
 * splitmix32), drawing 53-bit uniform doubles like numpy's `uniform`. Pure integer
 * arithmetic, so every platform produces the same stream.
 *
 * @module
 */

function splitmix32(state: number): number {
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A seeded generator of uniform numbers; the only randomness the environment uses. */
export class EnvRng {
  #s = new Uint32Array(4);

  /**
   * Creates a generator.
   *
   * @param seed A non-negative safe integer.
   * @throws {RangeError} If the seed is not a non-negative safe integer.
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(
        `Cannot seed the environment: seed ${seed} is not a non-negative integer`,
      );
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    let state = (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
    for (let i = 0; i < 4; i++) {
      state = (state + 0x9e3779b9) >>> 0;
      this.#s[i] = splitmix32(state ^ Math.imul(hi + i, 0x27d4eb2f));
    }
    // An all-zero state would stay zero forever.
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[0] = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits (numpy's construction). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A uniform double in [low, high), as numpy's `uniform(low, high)`. */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.random();
  }
}
