/**
 * {@linkcode Rng}: the generator the runner hands each stage as `ctx.rng`, so that stages never
 * need `Math.random` and the same seed gives the same numbers on every platform. Its floats have
 * 32 random bits and its normals come from Box-Muller.
 *
 * @module
 */

import { BoxMullerNormal, float32 } from "./samplers.ts";
import { hashLabel, splitMixWords } from "./seeding.ts";
import { Xoshiro128 } from "./xoshiro.ts";

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

class SplitMixRng extends Xoshiro128 implements Rng {
  #seed: number;
  #normal = new BoxMullerNormal();

  constructor(seed: number) {
    super(splitMixWords(seed >>> 0));
    this.#seed = seed >>> 0;
  }

  nextFloat(): number {
    return float32(this);
  }

  normal(): number {
    return this.#normal.next(this);
  }

  fork(label: string): Rng {
    return new SplitMixRng((Math.imul(this.#seed, 0x9e3779b1) ^ hashLabel(label)) >>> 0);
  }
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
  return new SplitMixRng(seed);
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
