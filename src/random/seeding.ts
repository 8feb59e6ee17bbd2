/**
 * The ways seeds become xoshiro128** states. Each scheme is its own stream family, kept because
 * stored results depend on it; all are built on the SplitMix32 finaliser.
 *
 * - {@linkcode splitMixWords}: four consecutive SplitMix32 outputs from a 32-bit state (the
 *   runner's `createRng`; {@linkcode foldSeed} first folds a 53-bit seed into it).
 * - {@linkcode keyedSplitMixWords}: SplitMix32 outputs keyed by the seed's high half (CarRacing
 *   tracks).
 * - {@linkcode mixedSeedWords}: {@linkcode mixSeed} of the seed, then chained SplitMix32 steps
 *   (data, training and World Models code).
 *
 * @module
 */

import type { StateWords } from "./xoshiro.ts";

const GOLDEN_GAMMA = 0x9e3779b9;

/** The SplitMix32 output function (a bijective 32-bit mixer). */
function finalise(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** One SplitMix32 step from `state`: advances by the golden gamma and returns the output. */
function splitMix32(state: number): number {
  return finalise((state + GOLDEN_GAMMA) | 0);
}

/** Replaces the all-zero state, which xoshiro would never leave. */
function nonZero(words: StateWords): StateWords {
  if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
  return words;
}

/**
 * The state from the first four outputs of a SplitMix32 sequence started at `state`.
 *
 * @param state A 32-bit state (only its low 32 bits count).
 * @returns The xoshiro state.
 */
export function splitMixWords(state: number): StateWords {
  const words: StateWords = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    state = (state + GOLDEN_GAMMA) | 0;
    words[i] = finalise(state);
  }
  return nonZero(words);
}

/**
 * Folds a safe integer (negative allowed) into a 32-bit SplitMix32 state; seeds below 2^32 fold
 * to themselves, so {@linkcode splitMixWords} of the fold extends the 32-bit scheme.
 *
 * @param seed A safe integer.
 * @returns A 32-bit state.
 * @throws {TypeError} If the seed is not a safe integer.
 */
export function foldSeed(seed: number): number {
  if (!Number.isSafeInteger(seed)) {
    throw new TypeError(`Cannot seed the random generator: seed ${seed} is not a safe integer`);
  }
  const low = seed % 0x100000000;
  const high = Math.floor(seed / 0x100000000);
  return (low ^ Math.imul(high, 0x27d4eb2d)) | 0;
}

/**
 * The state from four SplitMix32 outputs whose inputs are keyed by the seed's high 32 bits.
 *
 * @param seed A non-negative safe integer.
 * @returns The xoshiro state.
 * @throws {RangeError} If the seed is not a non-negative safe integer.
 */
export function keyedSplitMixWords(seed: number): StateWords {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(
      `Cannot seed the random generator: seed ${seed} is not a non-negative integer`,
    );
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  let state = (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
  const words: StateWords = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    state = (state + GOLDEN_GAMMA) >>> 0;
    words[i] = finalise(state ^ Math.imul(hi + i, 0x27d4eb2f));
  }
  return nonZero(words);
}

/**
 * Derives a uint32 seed from a list of parts (non-negative safe integers or strings), e.g.
 * `mixSeed(experimentSeed, "worldmodels/collect", episode)`. Different lists give unrelated
 * seeds; the same list always gives the same seed.
 *
 * @param parts The parts, in order.
 * @returns A uint32.
 * @throws {RangeError} If a number part is not a non-negative safe integer.
 */
export function mixSeed(...parts: (number | string)[]): number {
  let h = 0x1b873593;
  const absorb = (word: number) => {
    h = splitMix32((h ^ word) >>> 0);
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

/**
 * The state from {@linkcode mixSeed} of the seed followed by chained SplitMix32 steps.
 *
 * @param seed A non-negative safe integer.
 * @returns The xoshiro state (never all zero: the last word is odd).
 * @throws {RangeError} If the seed is not a non-negative safe integer.
 */
export function mixedSeedWords(seed: number): StateWords {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`Cannot seed Random: ${seed} is not a non-negative safe integer`);
  }
  const s0 = splitMix32(mixSeed(seed));
  const s1 = splitMix32(s0);
  const s2 = splitMix32(s1);
  return [s0, s1, s2, (splitMix32(s2) | 1) >>> 0];
}

/**
 * FNV-1a over the UTF-16 code units of a string: a cheap, stable label hash.
 *
 * @param label Any string.
 * @returns A uint32.
 */
export function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}
