/**
 * `worldmodels/baseline`: the return of a fixed action policy (no model) on the held-out tracks
 * `worldmodels/evaluate` uses, so that a trained controller's score has its floor beside it
 * (the paper's "random policy" row).
 *
 * ```yaml
 * baseline:
 *   uses: worldmodels/baseline
 *   with: { policy: random, episodes: 100, max_steps: 1000 }
 * ```
 *
 * Episode i runs on track `mixSeed(experiment seed, "worldmodels/evaluate", i)`, exactly as
 * evaluate's episode i, and draws its actions from `mixSeed(track seed, "policy")`. Output
 * `report/returns.json` has evaluate's format (`format: "ditto.evaluation"`, the summary and
 * per-episode seed, return and length), with `policy` in place of the controller fields.
 *
 * @module
 */

import { mixSeed, Random } from "../../random/mod.ts";
import { CarRacing } from "../../envs/car_racing/mod.ts";
import { defineStage, type StageContext } from "../../runner/mod.ts";
import {
  describeReturns,
  evaluateEpisodeSeed,
  HELD_OUT_PARAMS,
  summarizeReturns,
  writeReturnsReport,
} from "../../worldmodels/held_out.ts";
import { createPolicy, POLICY_NAMES, type PolicyName } from "../../worldmodels/policies.ts";

/** Parameters of `worldmodels/baseline` (the `with:` keys). */
export interface BaselineParams {
  /** The action policy: `random` (uniform), `brownian` or `book` (see policies.ts). */
  policy: PolicyName;
  /** Steps an action is held (`random`, `book`). */
  action_refresh_rate: number;
  /** Held-out episodes (evaluate's first `episodes` tracks). */
  episodes: number;
  /** Step limit of an episode. */
  max_steps: number;
}

/** One episode's outcome. */
export interface BaselineEpisode {
  /** Index of the episode (and of evaluate's track). */
  episode: number;
  /** Track seed. */
  seed: number;
  /** Sum of rewards. */
  return: number;
  /** Steps taken. */
  length: number;
  /** Whether the environment ended the episode (all tiles, or off the playfield). */
  terminated: boolean;
}

/** Runs the policy on evaluate's held-out track `episode`; a pure function of its arguments. */
export function runBaselineEpisode(
  env: CarRacing,
  track: { seed: number; episode: number },
  params: Pick<BaselineParams, "policy" | "action_refresh_rate">,
): BaselineEpisode {
  const policy = createPolicy(params.policy, new Random(mixSeed(track.seed, "policy")), {
    actionRefreshRate: params.action_refresh_rate,
  });
  env.reset({ seed: track.seed });
  let total = 0;
  for (let t = 1;; t++) {
    const result = env.step(policy.next());
    total += result.reward;
    if (result.terminated || result.truncated) {
      return { ...track, return: total, length: t, terminated: result.terminated };
    }
  }
}

/** Runs the baseline: the body of the stage, usable with any {@linkcode StageContext}. */
export async function baseline(ctx: StageContext<BaselineParams>): Promise<void> {
  const p = ctx.params;
  const env = await CarRacing.create({ observation: "pixels64", maxSteps: p.max_steps });
  ctx.log(`${p.episodes} held-out episodes of the ${p.policy} policy`);
  ctx.progress.total(p.episodes, "episodes");
  const outcomes: BaselineEpisode[] = [];
  try {
    for (let i = 0; i < p.episodes; i++) {
      ctx.signal.throwIfAborted();
      const outcome = runBaselineEpisode(env, {
        seed: evaluateEpisodeSeed(ctx.seed, i),
        episode: i,
      }, p);
      outcomes.push(outcome);
      ctx.metrics.log(i, { return: outcome.return, length: outcome.length });
      ctx.progress.advance(1);
      // Let an interrupt (delivered by the event loop) through between episodes.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    env.close();
  }
  const summary = summarizeReturns(outcomes.map((o) => o.return));
  ctx.metrics.log(p.episodes, { ...summary });
  await writeReturnsReport(ctx.output("report"), {
    what: { policy: p.policy, action_refresh_rate: p.action_refresh_rate },
    maxSteps: p.max_steps,
    summary,
    details: { per_episode: outcomes },
  });
  ctx.log(`${p.policy} policy: ${describeReturns(summary)}`);
}

/** The `worldmodels/baseline` stage module. */
export default defineStage<BaselineParams>({
  description:
    "Scores a fixed action policy (random, brownian, book) on evaluate's held-out tracks",
  params: {
    policy: {
      type: "string",
      default: "random",
      enum: POLICY_NAMES,
      description: "random (uniform actions), brownian, or book (the collection policy)",
    },
    action_refresh_rate: {
      type: "integer",
      default: 1,
      min: 1,
      description: "steps an action is held (random, book)",
    },
    ...HELD_OUT_PARAMS,
  },
  inputs: {},
  outputs: ["report"],
  deterministic: true,
  run: baseline,
});
