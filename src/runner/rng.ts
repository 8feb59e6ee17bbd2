/**
 * A small seeded random number generator (xoshiro128**), so that stages never need
 * `Math.random` and the same seed gives the same numbers on every platform.
 *
 * @module
 */

/** A seeded source of random numbers. */
export interface Rng {
  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** A uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number;
  /** A standard normal sample (Box-Muller). */
  normal(): number;
  /** A new independent generator derived from this one's seed and `label`; this one is unchanged. */
  fork(label: string): Rng;
}

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [state, (z ^ (z >>> 16)) >>> 0];
}

/** FNV-1a over the UTF-16 code units of a string: a cheap, stable label hash. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

class Xoshiro128 implements Rng {
  #s = new Uint32Array(4);
  #seed: number;
  #spare: number | undefined;

  constructor(seed: number) {
    this.#seed = seed >>> 0;
    let state = this.#seed;
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(state);
      state = next;
      this.#s[i] = out;
    }
    // An all-zero state would stay zero forever.
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[0] = 1;
  }

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

  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  normal(): number {
    if (this.#spare !== undefined) {
      const spare = this.#spare;
      this.#spare = undefined;
      return spare;
    }
    let u = 0;
    while (u === 0) u = this.nextFloat();
    const v = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  fork(label: string): Rng {
    return new Xoshiro128((Math.imul(this.#seed, 0x9e3779b1) ^ hashLabel(label)) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Creates a generator from a 32-bit seed.
 *
 * @example Usage
 * ```ts
 * import { createRng } from "./rng.ts";
 * const rng = createRng(42);
 * const x = rng.nextFloat();
 * ```
 *
 * @param seed Any number; only its low 32 bits are used.
 * @returns A new generator.
 */
export function createRng(seed: number): Rng {
  return new Xoshiro128(seed);
}

/**
 * Derives a stage's generator from the experiment seed and the stage name.
 *
 * @param seed The experiment seed.
 * @param stageName The stage's name.
 * @returns A generator that depends only on both values.
 */
export function stageRng(seed: number, stageName: string): Rng {
  return createRng(seed).fork(`stage:${stageName}`);
}
