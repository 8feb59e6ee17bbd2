/**
 * CarRacing (gym v0, as used by World Models) on box2d-wasm with a software renderer.
 *
 * @example Usage
 * ```ts
 * import { CarRacing } from "./mod.ts";
 * const env = await CarRacing.create({ observation: "pixels64" });
 * const { observation, info } = env.reset({ seed: 7 });
 * const step = env.step([0, 1, 0]);
 * env.close();
 * ```
 *
 * @module
 */

export {
  type Action,
  CarRacing,
  type CarRacingOptions,
  type CarRacingState,
  type ObservationKind,
  type ResetInfo,
  type ResetResult,
  type StepInfo,
  type StepResult,
  validateAction,
  type WheelState,
} from "./car_racing.ts";
export type { Track, TrackPoint } from "./track.ts";
export { TrackFollower, type TrackFollowerOptions } from "./track_follower.ts";
