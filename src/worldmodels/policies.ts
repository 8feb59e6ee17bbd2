/**
 * Data-collection driving policies for CarRacing (actions `[steer, gas, brake]`, steer in
 * [-1, 1], gas and brake in [0, 1]). None of them looks at the observation.
 *
 * - `random`: a uniform action from the action space, held for `actionRefreshRate` steps
 *   (the 2019 Keras version: `action_space.sample()` every `action_refresh_rate` frames).
 * - `brownian`: ctallec's `sample_continuous_policy`: a_0 uniform, then every step
 *   a_{t+1} = clip(a_t + sqrt(1/50) N(0, I), low, high). It ignores `actionRefreshRate`.
 * - `book`: the 2020 Keras version: the first refresh is forced to [-0.1, 1, 0] (a push), then
 *   each refresh picks 10% nothing [0, 0, 0], 40% gas [0, U, 0], 20% left [-U, 0, 0], 20% right
 *   [U, 0, 0], 10% brake [0, 0, U] (U ~ U[0, 1]), held for `actionRefreshRate` steps.
 *
 * Actions are float32 values (`Math.fround`), so what the environment receives is exactly what
 * a float32 dataset stores.
 *
 * @module
 */

/** The randomness a policy needs; the runner's `Rng` and `Random` from src/data both fit. */
export interface PolicyRng {
  /** A uniform float in [0, 1). */
  nextFloat(): number;
  /** A standard normal variate. */
  normal(): number;
}

/** Names of the collection policies. */
export const POLICY_NAMES = ["random", "brownian", "book"] as const;

/** A collection policy's name. */
export type PolicyName = (typeof POLICY_NAMES)[number];

/** Options of {@linkcode createPolicy}. */
export interface PolicyOptions {
  /** Steps an action is held by `random` and `book` (default 1). */
  actionRefreshRate?: number;
}

/** A policy for one episode: call `next()` once per step, in order. */
export interface ActionPolicy {
  /** The policy's name. */
  readonly name: PolicyName;
  /** The action for the next step, `[steer, gas, brake]` (a fresh array). */
  next(): [number, number, number];
}

/** Action-space bounds of CarRacing. */
export const ACTION_LOW: readonly [number, number, number] = [-1, 0, 0];
/** Action-space bounds of CarRacing. */
export const ACTION_HIGH: readonly [number, number, number] = [1, 1, 1];

/** The brownian policy's time step (ctallec: dt = 1/50). */
const BROWNIAN_DT = 1 / 50;

function clip(x: number, low: number, high: number): number {
  return x < low ? low : x > high ? high : x;
}

function float32(action: [number, number, number]): [number, number, number] {
  return [Math.fround(action[0]), Math.fround(action[1]), Math.fround(action[2])];
}

function uniformAction(rng: PolicyRng): [number, number, number] {
  return [
    ACTION_LOW[0] + (ACTION_HIGH[0] - ACTION_LOW[0]) * rng.nextFloat(),
    rng.nextFloat(),
    rng.nextFloat(),
  ];
}

function bookAction(rng: PolicyRng): [number, number, number] {
  const choice = Math.floor(rng.nextFloat() * 10);
  if (choice === 0) return [0, 0, 0];
  if (choice <= 4) return [0, rng.nextFloat(), 0];
  if (choice <= 6) return [-rng.nextFloat(), 0, 0];
  if (choice <= 8) return [rng.nextFloat(), 0, 0];
  return [0, 0, rng.nextFloat()];
}

/** Creates the policy `name` for one episode, drawing from `rng`. */
export function createPolicy(
  name: PolicyName,
  rng: PolicyRng,
  options: PolicyOptions = {},
): ActionPolicy {
  const refresh = options.actionRefreshRate ?? 1;
  if (!Number.isSafeInteger(refresh) || refresh < 1) {
    throw new RangeError(`Cannot create policy '${name}': action refresh rate ${refresh} < 1`);
  }
  let step = 0;
  let current: [number, number, number] = [0, 0, 0];
  switch (name) {
    case "random":
      return {
        name,
        next() {
          if (step++ % refresh === 0) current = float32(uniformAction(rng));
          return [...current];
        },
      };
    case "book":
      return {
        name,
        next() {
          if (step % refresh === 0) {
            current = float32(step === 0 ? [-0.1, 1, 0] : bookAction(rng));
          }
          step++;
          return [...current];
        },
      };
    case "brownian": {
      const scale = Math.sqrt(BROWNIAN_DT);
      return {
        name,
        next() {
          if (step++ === 0) {
            current = float32(uniformAction(rng));
          } else {
            current = float32(
              [0, 1, 2].map((i) =>
                clip(current[i] + scale * rng.normal(), ACTION_LOW[i], ACTION_HIGH[i])
              ) as [number, number, number],
            );
          }
          return [...current];
        },
      };
    }
    default:
      throw new TypeError(
        `Cannot create policy '${name}': not one of ${POLICY_NAMES.join(", ")}`,
      );
  }
}
