/**
 * The generic experiment runner: YAML stage DAGs, content-addressed cache, numbered runs.
 *
 * @example Run an experiment
 * ```ts
 * import { runExperiment } from "./mod.ts";
 * const report = await runExperiment("experiments/smoke.yaml", { runsDir: "runs" });
 * console.log(report.status);
 * ```
 *
 * @module
 */

export * from "./stage.ts";
export { createRng, type Rng, stageRng } from "../random/mod.ts";
export * from "./errors.ts";
export {
  defaultRunsDir,
  type ProgressState,
  runExperiment,
  type RunObserver,
  type RunOptions,
} from "./engine.ts";
export {
  formatSeconds,
  runId,
  runName,
  type RunRecord,
  type RunReport,
  type StageReport,
  type StageStatus,
} from "./report.ts";
export {
  type Experiment,
  loadExperiment,
  type LoadExperimentOptions,
  type MatrixValue,
  type StageDef,
  type StageMeta,
} from "./experiment/mod.ts";
export type { ContentHash, Manifest } from "./hash.ts";
export type { CodeFingerprint } from "./fingerprint.ts";
export { listRuns, type LoadedRun, loadRun, type RunSummary } from "./runs.ts";
export { recoverStaleRunsFor } from "./run_folder.ts";
export type { Environment } from "./environment.ts";
export {
  localExecutor,
  runStageHere,
  type StageExecutor,
  type StageInput,
  type StageJob,
  stageRefs,
  type StageRun,
} from "./stage_executor.ts";
export type { ExecHooks, ExecOutcome } from "./executor.ts";
