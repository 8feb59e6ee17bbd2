/**
 * `worldmodels/collect`: rollouts of a data-collection policy in CarRacing, saved as a rollout
 * dataset (see src/data/rollouts.ts) that `numpy.load` opens.
 *
 * ```yaml
 * collect:
 *   uses: worldmodels/collect
 *   with: { episodes: 200, max_steps: 300, policy: book, action_refresh_rate: 20, workers: 2 }
 * ```
 *
 * Episode i is reset with seed `mixSeed(experiment seed, "worldmodels/collect", i)` and its
 * policy draws from `Random(mixSeed(episode seed, "policy"))`, so every episode is a function
 * of (experiment seed, i, parameters) alone. Episodes run in `workers` Workers (or in the stage
 * process when `workers` is 1) and are written strictly in index order: the output bytes do
 * not depend on the number of workers.
 *
 * @module
 */

import type { Episode } from "../../data/rollouts.ts";
import { RolloutWriter } from "../../data/rollouts.ts";
import { defineStage, type StageContext } from "../../runner/mod.ts";
import type { JobPool } from "../../pool/mod.ts";
import { collectEpisodePool, type CollectShared } from "../../worldmodels/collect_pool.ts";
import { collectEpisodeSeed, type EpisodeSpec } from "../../worldmodels/episode.ts";
import { POLICY_NAMES, type PolicyName } from "../../worldmodels/policies.ts";

/** Parameters of `worldmodels/collect` (the `with:` keys). */
export interface CollectParams {
  /** Number of episodes. */
  episodes: number;
  /** Step limit of an episode (it ends earlier if the environment terminates it). */
  max_steps: number;
  /** Collection policy. */
  policy: PolicyName;
  /** Steps an action is held by `random` and `book`. */
  action_refresh_rate: number;
  /** Worker threads running episodes; does not change the output. */
  workers: number;
}

/** Episodes a Worker may run ahead of the oldest one not yet written, per worker. */
const AHEAD_PER_WORKER = 4;

/** Runs the collection: the body of the stage, usable with any {@linkcode StageContext}. */
export async function collect(ctx: StageContext<CollectParams>): Promise<void> {
  const { episodes, max_steps: maxSteps, policy, action_refresh_rate: refresh, workers } =
    ctx.params;
  const specs: EpisodeSpec[] = Array.from({ length: episodes }, (_, episode) => ({
    episode,
    seed: collectEpisodeSeed(ctx.seed, episode),
    policy,
    actionRefreshRate: refresh,
  }));
  const writer = await RolloutWriter.create(ctx.output("rollouts"), {
    frameShape: [64, 64, 3],
    actionSize: 3,
    policy: { name: policy, action_refresh_rate: refresh },
    meta: {
      stage: "worldmodels/collect",
      env: "CarRacing (gym v0 port), observation pixels64",
      max_steps: maxSteps,
      experiment_seed: ctx.seed,
      episode_seed: 'mixSeed(experiment_seed, "worldmodels/collect", episode)',
      policy_seed: 'mixSeed(episode_seed, "policy")',
      frame_t: "observation the action t was chosen at",
      reward_t: "reward of step(action t)",
      done_t: "step(action t) terminated the episode (not set on truncation at max_steps)",
    },
  });
  ctx.progress.total(episodes, "episodes");
  // Finished episodes wait here until every earlier one is written.
  const pending = new Map<number, Episode>();
  let written = 0;
  const onEpisode = async (spec: EpisodeSpec, data: Episode) => {
    pending.set(spec.episode, data);
    while (pending.has(written)) {
      const episode = pending.get(written)!;
      pending.delete(written);
      const info = await writer.append(specs[written].seed, episode);
      ctx.metrics.log(written, { return: info.return, length: info.length });
      ctx.progress.advance(
        1,
        `episode ${written}: return ${info.return.toFixed(1)} in ${info.length} steps`,
      );
      written++;
    }
  };
  let pool: JobPool<EpisodeSpec, Episode, CollectShared> | undefined;
  try {
    pool = await collectEpisodePool(Math.min(workers, Math.max(1, episodes)));
    await pool.stream(specs, (data, i) => onEpisode(specs[i], data), {
      shared: { maxSteps },
      signal: ctx.signal,
      ahead: AHEAD_PER_WORKER * pool.size,
    });
  } finally {
    pool?.close();
    // Always leave consistent files (what was written so far), then report.
    const index = await writer.close();
    if (index.episodes_count === episodes) {
      ctx.metrics.log(episodes, {
        mean_return: index.mean_return,
        mean_length: index.mean_length,
        frames: index.frames_count,
      });
      ctx.report({ frames: index.frames_count, episodes, workers });
      ctx.log(
        `${episodes} episodes, ${index.frames_count} frames, mean return ${
          index.mean_return.toFixed(1)
        }`,
      );
    }
  }
}

/** The `worldmodels/collect` stage module. */
export default defineStage<CollectParams>({
  description: "Rollouts of a data-collection policy in CarRacing, as NumPy-readable files",
  params: {
    episodes: { type: "integer", default: 100, min: 1, description: "number of episodes" },
    max_steps: {
      type: "integer",
      default: 1000,
      min: 1,
      description: "step limit of an episode (earlier if the car finishes or leaves the field)",
    },
    policy: {
      type: "string",
      default: "random",
      enum: POLICY_NAMES,
      description: "random (uniform, held), brownian (ctallec), book (2020 Keras mixture)",
    },
    action_refresh_rate: {
      type: "integer",
      default: 20,
      min: 1,
      description: "steps an action is held by the random and book policies",
    },
    workers: {
      type: "integer",
      default: 1,
      min: 1,
      max: 256,
      description: "worker threads running episodes (the output does not depend on it)",
    },
  },
  outputs: ["rollouts"],
  deterministic: true,
  run: collect,
});
