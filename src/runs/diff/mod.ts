/**
 * Comparing two runs: {@linkcode diffRuns} computes the grouped differences (parameters, seed,
 * code, git, environment, stage keys, metrics and artifacts), {@linkcode formatDiff} renders
 * them for a terminal and {@linkcode diffHtml} as a self-contained HTML page.
 *
 * @example Compare two runs
 * ```ts
 * import { diffRuns, formatDiff } from "./mod.ts";
 * import { resolvePair } from "../run_data.ts";
 * const [a, b] = resolvePair("runs", ["smoke"]);
 * console.log(formatDiff(diffRuns(a, b)));
 * ```
 *
 * @module
 */

export {
  type ArtifactChange,
  type Change,
  type CodeChange,
  type DiffOptions,
  diffRuns,
  type FileChange,
  type MetricChange,
  type MetricSide,
  type RunDiff,
  type RunSide,
  sparkline,
  type StageChange,
} from "./compute.ts";
export { formatBytes, formatDiff } from "./text.ts";
export { diffHtml } from "./html.ts";
