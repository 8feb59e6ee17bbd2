/**
 * Where a stage executes: the engine describes each stage it must run as a {@linkcode StageJob}
 * (what to run and where its inputs are) and hands it to a {@linkcode StageExecutor}. The
 * default one runs it here, in a child process; another (a worker fleet) may run it elsewhere
 * and put its outputs, log and metrics into the same work dir. Either way the engine alone
 * stores the result.
 *
 * @module
 */

import type { StageDef } from "./experiment/mod.ts";
import type { CodeFingerprint } from "./fingerprint.ts";
import type { ContentHash } from "./hash.ts";
import { type ExecHooks, type ExecOutcome, runShell, runTypeScript } from "./executor.ts";
import {
  commandValue,
  parseTemplate,
  renderTemplate,
  shellQuote,
  splitRaw,
} from "./placeholders.ts";

/** One input of a stage: an upstream output or a declared dep. */
export interface StageInput {
  /** Where it is on this machine. */
  path: string;
  /** Its content hash, when known (upstream outputs; deps are hashed by whoever needs it). */
  content?: ContentHash;
}

/** What to run: plain data, so that it can travel to another machine. */
export interface StageJob {
  /** The stage. */
  stage: StageDef;
  /** Its cache key. */
  key: string;
  /** The experiment seed. */
  seed: number;
  /** The experiment's `params:` (for `${params.*}` in commands). */
  params: Record<string, unknown>;
  /** The code fingerprint (kind `ts`). */
  code?: CodeFingerprint;
  /** Reference (`stages.make.outs.rows`, `deps.table`) -> the input. */
  inputs: Record<string, StageInput>;
  /** Set when `--force` names the stage: no result computed elsewhere may stand in. */
  forced?: true;
}

/** Where and how a job runs on this machine. */
export interface StageRun {
  /** The stage's empty work dir: its outputs are created there. */
  workDir: string;
  /** The log file (stdout and stderr). */
  logFile: string;
  /** The metrics JSON lines file. */
  metricsFile: string;
  /** The key's checkpoint folder. */
  checkpointDir: string;
  /** deno.json TypeScript stages run with. */
  denoConfig?: string;
  /** Aborts the stage. */
  signal: AbortSignal;
  /** Log and progress callbacks. */
  hooks: ExecHooks;
}

/** Runs stage jobs somewhere. */
export interface StageExecutor {
  /**
   * Runs a job; on success its outputs are in `run.workDir` at the stage's `outs` paths, its
   * log in `run.logFile` and its metrics (if any) in `run.metricsFile`.
   */
  execute(job: StageJob, run: StageRun): Promise<ExecOutcome>;
}

/**
 * The references a stage reads: every declared dep (`deps.<name>`) and every upstream output
 * its command or inputs name.
 *
 * @param stage The stage.
 * @returns References, deps first.
 */
export function stageRefs(stage: StageDef): string[] {
  const refs = new Set(Object.keys(stage.deps).map((name) => `deps.${name}`));
  const used = stage.kind === "run"
    ? parseTemplate(stage.command!).flatMap((part) => "ref" in part ? [splitRaw(part.ref).ref] : [])
    : Object.values(stage.inputs);
  for (const ref of used) if (ref.startsWith("stages.") || ref.startsWith("deps.")) refs.add(ref);
  return [...refs];
}

/** The shell command of a `run:` stage with every placeholder filled in. */
export function stageCommand(job: StageJob): string {
  const { stage } = job;
  return renderTemplate(parseTemplate(stage.command!), (placeholder) => {
    const { ref, raw } = splitRaw(placeholder);
    const root = ref.split(".")[0];
    if (root === "seed") return String(job.seed);
    if (root === "matrix") return commandValue(stage.matrix![ref.split(".")[1]], raw);
    if (root === "params") {
      let value: unknown = job.params;
      for (const p of ref.split(".").slice(1)) value = (value as Record<string, unknown>)[p];
      return commandValue(value, raw);
    }
    return shellQuote(job.inputs[ref].path);
  });
}

/**
 * Runs a job on this machine: `sh -c` or the stage host.
 *
 * @param job What to run.
 * @param run Where.
 * @returns The outcome.
 */
export function runStageHere(job: StageJob, run: StageRun): Promise<ExecOutcome> {
  const { stage } = job;
  if (stage.kind === "run") {
    return runShell(stageCommand(job), {
      cwd: run.workDir,
      logFile: run.logFile,
      env: { DITTO_METRICS: run.metricsFile, DITTO_STAGE: stage.name },
      signal: run.signal,
      spawned: run.hooks.spawned,
    });
  }
  const inputs: Record<string, string> = {};
  for (const [name, ref] of Object.entries(stage.inputs)) inputs[name] = job.inputs[ref].path;
  const deps: Record<string, string> = {};
  for (const name of Object.keys(stage.deps)) deps[name] = job.inputs[`deps.${name}`].path;
  return runTypeScript({
    module: stage.module!,
    name: stage.name,
    params: stage.params,
    seed: job.seed,
    inputs,
    deps,
    workDir: run.workDir,
    outputs: Object.keys(stage.outs),
    metricsFile: run.metricsFile,
    checkpointDir: run.checkpointDir,
  }, { logFile: run.logFile, denoConfig: run.denoConfig, signal: run.signal, hooks: run.hooks });
}

/** The default executor: every stage runs on this machine. */
export const localExecutor: StageExecutor = { execute: runStageHere };
