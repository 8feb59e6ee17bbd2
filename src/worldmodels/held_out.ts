/**
 * The held-out tracks `worldmodels/evaluate` scores a controller on and `worldmodels/baseline`
 * scores a fixed policy on, and the `returns.json` report both write: what the two stages share,
 * apart from the agent, its pools and the models (which only evaluate needs).
 *
 * @module
 */

import { mixSeed } from "../random/mod.ts";
import type { ParamSpec } from "../runner/mod.ts";

/** The evaluation label, mixed into every held-out track seed (no training stage uses it). */
export const EVALUATE_LABEL = "worldmodels/evaluate";

/** How held-out track seeds are derived, as `returns.json` states it. */
export const SEED_RULE = 'mixSeed(experiment_seed, "worldmodels/evaluate", episode)';

/** The `episodes` and `max_steps` parameters of both stages. */
export const HELD_OUT_PARAMS: Record<"episodes" | "max_steps", ParamSpec> = {
  episodes: { type: "integer", default: 100, min: 1, description: "held-out episodes" },
  max_steps: { type: "integer", default: 1000, min: 1, description: "step limit of an episode" },
};

/** The track seed of held-out episode `episode` of an experiment with seed `seed`. */
export function evaluateEpisodeSeed(seed: number, episode: number): number {
  return mixSeed(seed, EVALUATE_LABEL, episode);
}

/** The summary of an evaluation's returns (population standard deviation). */
export interface ReturnSummary {
  /** Mean return. */
  mean_return: number;
  /** Standard deviation of the returns. */
  std_return: number;
  /** Lowest return. */
  min_return: number;
  /** Highest return. */
  max_return: number;
  /** Number of episodes. */
  episodes: number;
}

/** Mean, standard deviation, min and max of episode returns, as `returns.json` reports them. */
export function summarizeReturns(returns: readonly number[]): ReturnSummary {
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length);
  return {
    mean_return: mean,
    std_return: std,
    min_return: Math.min(...returns),
    max_return: Math.max(...returns),
    episodes: returns.length,
  };
}

/** The log line of a summary: `mean return M +- S over N held-out tracks (min A, max B)`. */
export function describeReturns(summary: ReturnSummary): string {
  return `mean return ${summary.mean_return.toFixed(1)} +- ${summary.std_return.toFixed(1)} ` +
    `over ${summary.episodes} held-out tracks (min ${summary.min_return.toFixed(1)}, max ` +
    `${summary.max_return.toFixed(1)})`;
}

/**
 * Writes `<dir>/returns.json` (`format: "ditto.evaluation"`): the `what` fields (which
 * controller or policy), the step limit, the seed rule, the summary, then the `details`.
 *
 * @param dir The report directory (created if missing).
 * @param report What was scored, on which tracks, and how it did.
 */
export async function writeReturnsReport(dir: string, report: {
  what: Record<string, unknown>;
  maxSteps: number;
  summary: ReturnSummary;
  details: Record<string, unknown>;
}): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const json = {
    format: "ditto.evaluation",
    version: 1,
    ...report.what,
    max_steps: report.maxSteps,
    seed_rule: SEED_RULE,
    ...report.summary,
    ...report.details,
  };
  await Deno.writeTextFile(`${dir}/returns.json`, JSON.stringify(json, null, 1) + "\n");
}
