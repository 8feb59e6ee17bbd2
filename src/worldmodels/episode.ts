/**
 * One data-collection episode: reset CarRacing with the episode's seed and drive it with a
 * collection policy until it terminates or reaches the step limit. A pure function of the seed
 * and the settings, whichever environment instance or Worker runs it.
 *
 * @module
 */

import type { CarRacing } from "../envs/car_racing/mod.ts";
import { mixSeed, Random } from "../random/mod.ts";
import type { Episode } from "../data/rollouts.ts";
import { createPolicy, type PolicyName } from "./policies.ts";

/** What defines one collection episode. */
export interface EpisodeSpec {
  /** Position of the episode in the dataset. */
  episode: number;
  /** Seed the environment is reset with. */
  seed: number;
  /** Collection policy. */
  policy: PolicyName;
  /** Steps an action is held (`random`, `book`). */
  actionRefreshRate: number;
}

/**
 * The seed of episode `episode` of a collection run with experiment seed `seed`:
 * `mixSeed(seed, "worldmodels/collect", episode)`, a uint32 (see src/random/).
 */
export function collectEpisodeSeed(seed: number, episode: number): number {
  return mixSeed(seed, "worldmodels/collect", episode);
}

/**
 * Runs one episode on `env` (created with the desired `maxSteps`; its observations are the
 * stored frames). Frame t is the observation the action t was chosen at, reward t and done t
 * come from `step(action t)`; done is set only when the environment terminates the episode.
 */
export function runEpisode(env: CarRacing, spec: EpisodeSpec): Episode {
  const policy = createPolicy(spec.policy, new Random(mixSeed(spec.seed, "policy")), {
    actionRefreshRate: spec.actionRefreshRate,
  });
  const frameSize = env.observationShape[0] * env.observationShape[1] *
    env.observationShape[2];
  const maxSteps = env.maxSteps;
  const frames = new Uint8Array(maxSteps * frameSize);
  const actions = new Float32Array(maxSteps * 3);
  const rewards = new Float32Array(maxSteps);
  const dones = new Uint8Array(maxSteps);
  let observation = env.reset({ seed: spec.seed }).observation;
  let t = 0;
  for (;;) {
    const action = policy.next();
    frames.set(observation, t * frameSize);
    actions.set(action, t * 3);
    const result = env.step(action);
    rewards[t] = result.reward;
    dones[t] = result.terminated ? 1 : 0;
    observation = result.observation;
    t++;
    if (result.terminated || result.truncated) break;
  }
  // Copies of exactly t steps, so the buffers can be transferred without the unused tail.
  return {
    frames: frames.slice(0, t * frameSize),
    actions: actions.slice(0, t * 3),
    rewards: rewards.slice(0, t),
    dones: dones.slice(0, t),
  };
}
