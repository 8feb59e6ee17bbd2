/**
 * Seeded random numbers for ditto: one xoshiro128** core, the seeding schemes that turn seeds
 * into its states, and the samplers built on its outputs. Pure integer arithmetic, so the same
 * seed gives the same numbers on every platform.
 *
 * - {@linkcode Random}: library code's generator (53-bit floats, polar normals, shuffles,
 *   saveable state), seeded with {@linkcode mixSeed} or by the static constructors.
 * - {@linkcode Rng}, {@linkcode createRng}, {@linkcode stageRng}: the stage API's `ctx.rng`.
 *
 * @example Usage
 * ```ts
 * import { mixSeed, Random } from "./mod.ts";
 * const rng = new Random(mixSeed(42, "worldmodels/collect", 0));
 * const z = rng.normal();
 * ```
 *
 * @module
 */

export { Random, type RandomState, type SeedSource } from "./random.ts";
export { createRng, type Rng, stageRng } from "./rng.ts";
export {
  foldSeed,
  hashLabel,
  keyedSplitMixWords,
  mixedSeedWords,
  mixSeed,
  splitMixWords,
} from "./seeding.ts";
export {
  BoxMullerNormal,
  float32,
  float53,
  type FloatSource,
  intBelow,
  PolarNormal,
  shuffle,
  type Uint32Source,
} from "./samplers.ts";
export { type StateWords, Xoshiro128 } from "./xoshiro.ts";
