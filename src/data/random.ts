/**
 * A small seeded random number generator (xoshiro128**, seeded through SplitMix32) and a seed
 * mixer, for data code that must be reproducible without depending on the runner.
 *
 * @module
 */

/** Mixes a 32-bit state one SplitMix32 step forward and returns the output. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Derives a uint32 seed from a list of parts (non-negative safe integers or strings), e.g.
 * `mixSeed(experimentSeed, "worldmodels/collect", episode)`. Different lists give unrelated
 * seeds; the same list always gives the same seed.
 */
export function mixSeed(...parts: (number | string)[]): number {
  let h = 0x1b873593;
  const absorb = (word: number) => {
    h = splitmix32((h ^ word) >>> 0);
  };
  for (const part of parts) {
    if (typeof part === "string") {
      absorb(0x5bd1e995 ^ part.length);
      for (let i = 0; i < part.length; i++) absorb(part.charCodeAt(i));
    } else {
      if (!Number.isSafeInteger(part) || part < 0) {
        throw new RangeError(`Cannot mix seed: ${part} is not a non-negative safe integer`);
      }
      // Both 32-bit halves, so seeds above 2^32 do not collide with their low bits.
      absorb(0x27d4eb2f);
      absorb(part >>> 0);
      absorb(Math.floor(part / 2 ** 32) >>> 0);
    }
  }
  return h;
}

/** A seeded generator of uniform and normal variates (xoshiro128**). */
export class Random {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  #spare: number | undefined;

  /** Starts the stream for a uint32 `seed`. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`Cannot seed Random: ${seed} is not a non-negative safe integer`);
    }
    let s = mixSeed(seed);
    this.#s0 = s = splitmix32(s);
    this.#s1 = s = splitmix32(s);
    this.#s2 = s = splitmix32(s);
    this.#s3 = splitmix32(s) | 1; // never the all-zero state
  }

  /** A uniform uint32. */
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

  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform float in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.nextFloat();
  }

  /** A uniform integer in [0, n). */
  nextInt(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new RangeError(`Cannot draw an integer below ${n}: not a positive safe integer`);
    }
    return Math.floor(this.nextFloat() * n);
  }

  /** A standard normal variate (Marsaglia's polar method). */
  normal(): number {
    if (this.#spare !== undefined) {
      const spare = this.#spare;
      this.#spare = undefined;
      return spare;
    }
    for (;;) {
      const u = 2 * this.nextFloat() - 1;
      const v = 2 * this.nextFloat() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const factor = Math.sqrt(-2 * Math.log(s) / s);
        this.#spare = v * factor;
        return u * factor;
      }
    }
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
