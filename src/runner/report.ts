/**
 * The run-folder protocol: what a run reports and what `run.json` holds. The engine fills
 * these records, the run folder writes them, and the run tools and the CLI read them.
 *
 * @module
 */

import type { ContentHash } from "./hash.ts";
import type { CodeFingerprint } from "./fingerprint.ts";
import type { Environment } from "./environment.ts";
import type { MatrixValue } from "./experiment/mod.ts";

/** Final status of a stage in a run. `pending` only appears in dry runs. */
export type StageStatus = "ran" | "cached" | "failed" | "blocked" | "interrupted" | "pending";

/** Progress of a running stage. */
export interface ProgressState {
  /** Units done. */
  done: number;
  /** Total units (0 when unknown). */
  total: number;
  /** Unit name. */
  unit: string;
  /** Latest status message. */
  message?: string;
}

/** One stage's outcome, as recorded in `run.json` and printed by `--json`. */
export interface StageReport {
  /** Stage name. */
  name: string;
  /** What happened. */
  status: StageStatus;
  /**
   * While a TypeScript stage runs: its latest progress, in `run.json` (rewritten at most once a
   * second) for whoever watches the run; gone when the stage ends.
   */
  progress?: ProgressState;
  /** `run` or `ts`. */
  kind: "run" | "ts";
  /** `uses:` of a TypeScript stage. */
  uses?: string;
  /** Cache key, or null when it could not be computed (dry run downstream of a change). */
  key: string | null;
  /** Why it ran, or why it did not. */
  reason: string;
  /** Seconds spent running (0 when cached). */
  seconds: number;
  /** Output name -> content hash, type and size. */
  outputs: Record<string, ContentHash>;
  /** Final value of each metric. */
  metrics: Record<string, number>;
  /** Facts the stage reported (e.g. a tfjs backend). */
  facts: Record<string, unknown>;
  /** Whether the stage declares itself deterministic. */
  deterministic: boolean;
  /** Code fingerprint of a TypeScript stage (files and npm versions), for diff and export. */
  code?: CodeFingerprint;
  /** Failure message. */
  error?: string;
  /** Matrix variants only: the declared stage this variant expands (`train`). */
  base?: string;
  /** Matrix variants only: matrix key -> this variant's value. */
  matrix?: Record<string, MatrixValue>;
}

/** The outcome of one invocation. */
export interface RunReport {
  /** Experiment name. */
  experiment: string;
  /** Run number, or null for a dry run. */
  run: number | null;
  /** Absolute run folder, or null for a dry run. */
  dir: string | null;
  /** `succeeded`, `failed`, `interrupted`, or `dry-run`. */
  status: "succeeded" | "failed" | "interrupted" | "dry-run";
  /** Stages in execution order. */
  stages: StageReport[];
  /**
   * Wall-clock seconds of the run: from the runner starting it (reading the experiment) to its
   * end; `run.json` records the same number.
   */
  seconds: number;
}

/** The contents of `run.json`. */
export interface RunRecord {
  /** Experiment name. */
  experiment: string;
  /** Run number. */
  run: number;
  /** `running`, `succeeded`, `failed` or `interrupted`. */
  status: "running" | "succeeded" | "failed" | "interrupted";
  /** ISO start time. */
  started: string;
  /** ISO end time, or null while running. */
  finished: string | null;
  /** Wall-clock seconds, as {@linkcode RunReport.seconds} (so far, while running). */
  seconds: number;
  /** The experiment file that was run. */
  file: string;
  /** Runner process. */
  pid: number;
  /** Machine name. */
  host: string;
  /** Machine and code versions (null until the run finishes). */
  environment: Environment | null;
  /** The resolved experiment (also in `config.yaml`). */
  config: Record<string, unknown>;
  /** Per-stage outcomes. */
  stages: StageReport[];
}

/** Names of numbered run folders: four or more digits. */
export const RUN_NUMBER: RegExp = /^\d{4,}$/;

/** Pads a run number to four digits: the name of its folder. */
export function runId(n: number): string {
  return String(n).padStart(4, "0");
}

/** Formats `<experiment>/<NNNN>`, the name the run tools print. */
export function runName(record: Pick<RunRecord, "experiment" | "run">): string {
  return `${record.experiment}/${runId(record.run)}`;
}

/**
 * Formats a duration the one way the CLI, the UI and the report print it: `0.42s`, `12.6s`,
 * `16m 00s`, `1h 02m` (rounded before splitting: never `15m 60s`).
 *
 * @param s Seconds.
 * @returns The text, empty for a value that is not finite.
 */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "";
  const short = s.toFixed(s < 10 ? 2 : 1);
  if (Number(short) < 60) return `${short}s`;
  const t = Math.round(s);
  const m = Math.floor(t / 60);
  if (m < 60) return `${m}m ${String(t % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}
