/**
 * {@linkcode Random}: the seeded generator of library code (data, models, environments,
 * evolution strategies): 53-bit uniform floats, integers, shuffles and polar-method normals,
 * with a JSON-safe state.
 *
 * @module
 */

import { float53, intBelow, PolarNormal, shuffle } from "./samplers.ts";
import { foldSeed, keyedSplitMixWords, mixedSeedWords, splitMixWords } from "./seeding.ts";
import { type StateWords, Xoshiro128 } from "./xoshiro.ts";

/** A source of randomness a generator can draw its seed from (e.g. a stage's `ctx.rng`). */
export interface SeedSource {
  /** A uniform integer in [0, 2^32). Used when present. */
  nextUint32?(): number;
  /** A uniform float in [0, 1). Used when `nextUint32` is absent. */
  nextFloat(): number;
}

/** The JSON-safe state of a {@linkcode Random}. */
export interface RandomState {
  /** The four 32-bit words of the xoshiro128** state. */
  s: StateWords;
  /** The second deviate of the last polar-method pair, or null when none is cached. */
  spare: number | null;
}

/** A seeded generator of uniform and standard normal variates (xoshiro128**). */
export class Random extends Xoshiro128 {
  #normal = new PolarNormal();

  /**
   * Starts the stream of a seed, seeded through {@linkcode mixSeed} (see `seeding.ts`; the
   * static constructors start the other seeding schemes' streams).
   *
   * @param seed A non-negative safe integer.
   * @throws {RangeError} If the seed is not a non-negative safe integer.
   */
  constructor(seed: number);
  /** Starts from a xoshiro128** state. */
  constructor(state: { words: Readonly<StateWords> });
  constructor(seed: number | { words: Readonly<StateWords> }) {
    super(typeof seed === "number" ? mixedSeedWords(seed) : seed.words);
  }

  /**
   * The stream of a safe integer seed (negative allowed) through SplitMix32; for seeds below
   * 2^32 its integers are those of the runner's `createRng(seed)`.
   *
   * @param seed A safe integer.
   * @returns The generator.
   * @throws {TypeError} If the seed is not a safe integer.
   */
  static splitMix(seed: number): Random {
    return new Random({ words: splitMixWords(foldSeed(seed)) });
  }

  /**
   * The stream of a seed through SplitMix32 keyed by its high 32 bits (CarRacing's tracks).
   *
   * @param seed A non-negative safe integer.
   * @returns The generator.
   * @throws {RangeError} If the seed is not a non-negative safe integer.
   */
  static keyedSplitMix(seed: number): Random {
    return new Random({ words: keyedSplitMixWords(seed) });
  }

  /**
   * A {@linkcode Random.splitMix} generator whose 53-bit seed is drawn from another source.
   *
   * @param source Where the seed comes from; two draws.
   * @returns The generator.
   */
  static fromSource(source: SeedSource): Random {
    const draw = () =>
      source.nextUint32 ? source.nextUint32() >>> 0 : Math.floor(source.nextFloat() * 0x100000000);
    const high = draw() & 0x1fffff;
    return Random.splitMix(high * 0x100000000 + draw());
  }

  /**
   * Restores a generator from {@linkcode Random.prototype.toState}.
   *
   * @param state A saved state.
   * @returns A generator that continues the saved one's stream.
   * @throws {TypeError} If the state is malformed.
   */
  static fromState(state: RandomState): Random {
    const { s, spare } = state;
    if (
      !Array.isArray(s) || s.length !== 4 ||
      s.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff) ||
      (spare !== null && typeof spare !== "number")
    ) {
      throw new TypeError("Cannot restore the random generator: malformed state");
    }
    const rng = new Random({ words: s });
    rng.#normal.spare = spare;
    return rng;
  }

  /** The current state, JSON-safe. */
  toState(): RandomState {
    return { s: this.stateWords(), spare: this.#normal.spare };
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    return float53(this);
  }

  /** A uniform float in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.nextFloat();
  }

  /** A uniform integer in [0, n). */
  nextInt(n: number): number {
    return intBelow(this, n);
  }

  /** A standard normal variate (Marsaglia's polar method). */
  normal(): number {
    return this.#normal.next(this);
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    return shuffle(this, array);
  }
}
