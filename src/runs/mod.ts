/**
 * Working with recorded runs: compare two runs, resume one, export it with a lock and verify a
 * rerun against it, verify and garbage-collect the store, and share it through a remote.
 *
 * @example Compare an experiment's two newest runs
 * ```ts
 * import { diffRuns, formatDiff, resolvePair } from "./mod.ts";
 * const [a, b] = resolvePair("runs", ["smoke"]);
 * console.log(formatDiff(diffRuns(a, b)));
 * ```
 *
 * @module
 */

export * from "./diff/mod.ts";
export * from "./lock.ts";
export * from "./maintenance.ts";
export * from "./remote.ts";
export * from "./resume.ts";
export * from "./run_data.ts";
