/**
 * Reading recorded runs: listing them and resolving a run reference.
 *
 * @module
 */

import { isAbsolute, join, resolve } from "./path.ts";
import { UsageError } from "./errors.ts";
import { recoverStaleRuns, runId, type RunRecord } from "./run_folder.ts";

/** One line of `deno task runs`. */
export interface RunSummary {
  /** Experiment name. */
  experiment: string;
  /** Run number. */
  run: number;
  /** Run folder. */
  dir: string;
  /** Run status. */
  status: RunRecord["status"];
  /** ISO start time. */
  started: string;
  /** Wall-clock seconds. */
  seconds: number;
  /** Stage count per stage status (each matrix variant counts as a stage). */
  counts: Record<string, number>;
  /** Matrix stages only: declared stage -> number of variants (absent without any). */
  variants?: Record<string, number>;
}

function readRecord(dir: string): RunRecord | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(join(dir, "run.json")));
  } catch {
    return undefined;
  }
}

function summarize(dir: string, record: RunRecord): RunSummary {
  const counts: Record<string, number> = {};
  const variants: Record<string, number> = {};
  for (const stage of record.stages) {
    counts[stage.status] = (counts[stage.status] ?? 0) + 1;
    if (stage.base !== undefined) variants[stage.base] = (variants[stage.base] ?? 0) + 1;
  }
  const summary: RunSummary = {
    experiment: record.experiment,
    run: record.run,
    dir,
    status: record.status,
    started: record.started,
    seconds: record.seconds,
    counts,
  };
  if (Object.keys(variants).length > 0) summary.variants = variants;
  return summary;
}

function experiments(runsDir: string): string[] {
  try {
    return [...Deno.readDirSync(runsDir)]
      .filter((e) => e.isDirectory && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * Lists runs, oldest first; runs of killed runners are marked interrupted on the way.
 *
 * @param runsDir The runs folder.
 * @param experiment Only this experiment's runs.
 * @returns One summary per run.
 */
export function listRuns(runsDir: string, experiment?: string): RunSummary[] {
  const out: RunSummary[] = [];
  const names = experiment ? [experiment] : experiments(runsDir);
  for (const name of names) {
    const expDir = join(runsDir, name);
    recoverStaleRuns(expDir);
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(expDir)];
    } catch {
      if (experiment) {
        throw new UsageError(`Cannot list runs: no runs of "${experiment}" in ${runsDir}`);
      }
      continue;
    }
    const numbers = entries.filter((e) => e.isDirectory && /^\d{4,}$/.test(e.name))
      .map((e) => Number(e.name)).sort((a, b) => a - b);
    for (const n of numbers) {
      const dir = join(expDir, runId(n));
      const record = readRecord(dir);
      if (record) out.push(summarize(dir, record));
    }
  }
  return out;
}

/**
 * Reads one run. References: `<experiment>` (latest), `<experiment>/latest`,
 * `<experiment>/<n>` (`3` or `0003`), or a run folder path.
 *
 * @param runsDir The runs folder.
 * @param ref The run reference.
 * @returns The folder and its record.
 * @throws {UsageError} When the run does not exist.
 */
export function readRun(runsDir: string, ref: string): { dir: string; record: RunRecord } {
  const candidates: string[] = [];
  if (isAbsolute(ref) || ref.startsWith(".")) candidates.push(resolve(ref));
  const [name, which] = ref.split("/");
  if (name) {
    recoverStaleRuns(join(runsDir, name));
    if (which === undefined || which === "latest") {
      candidates.push(join(runsDir, name, "latest"));
    } else if (/^\d+$/.test(which)) {
      candidates.push(join(runsDir, name, runId(Number(which))));
    }
  }
  candidates.push(resolve(ref));
  for (const dir of candidates) {
    let real = dir;
    try {
      real = Deno.realPathSync(dir);
      if (Deno.statSync(real).isFile) {
        real = join(runsDir, name, Deno.readTextFileSync(real).trim());
      }
    } catch {
      continue;
    }
    const record = readRecord(real);
    if (record) return { dir: real, record };
  }
  throw new UsageError(`Cannot show run "${ref}": no such run in ${runsDir}`);
}
