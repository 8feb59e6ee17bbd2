/**
 * Reading recorded runs: listing them and resolving the references users type (`smoke`,
 * `smoke/3`, a run folder). Reading never writes: marking the runs of killed runners
 * `interrupted` is a separate step (`recoverStaleRunsFor` in run_folder.ts) that the runner
 * and the commands take before they read.
 *
 * @module
 */

import { basename, dirname, isAbsolute, join, resolve } from "./path.ts";
import { osReason, UsageError } from "./errors.ts";
import { RUN_NUMBER, runId, runName, type RunRecord } from "./report.ts";

/** One line of `deno task runs`. */
export interface RunSummary {
  /** Experiment name. */
  experiment: string;
  /** Run number. */
  run: number;
  /** Run folder. */
  dir: string;
  /** Run status; `damaged` when its `run.json` is missing or unreadable (see `damage`). */
  status: RunRecord["status"] | "damaged";
  /** Damaged runs only: what is wrong with `run.json`. */
  damage?: string;
  /** ISO start time. */
  started: string;
  /** Wall-clock seconds. */
  seconds: number;
  /** Stage count per stage status (each matrix variant counts as a stage). */
  counts: Record<string, number>;
  /** Matrix stages only: declared stage -> number of variants (absent without any). */
  variants?: Record<string, number>;
}

/** A run read from its folder. */
export interface LoadedRun {
  /** `<experiment>/<NNNN>`. */
  name: string;
  /** Absolute run folder. */
  dir: string;
  /** The parsed `run.json`. */
  record: RunRecord;
}

/** A run folder's record, or what is wrong with its `run.json` (a string). */
function readRecord(dir: string): RunRecord | string {
  let text: string;
  try {
    text = Deno.readTextFileSync(join(dir, "run.json"));
  } catch (error) {
    return `its run.json cannot be read (${osReason(error)})`;
  }
  let record: RunRecord;
  try {
    record = JSON.parse(text);
  } catch (error) {
    return `its run.json is not valid JSON (${(error as Error).message})`;
  }
  const valid = typeof record === "object" && record !== null && Array.isArray(record.stages) &&
    typeof record.status === "string" && typeof record.experiment === "string" &&
    typeof record.run === "number";
  return valid ? record : "its run.json lacks experiment, run, status or stages";
}

/** Whether a folder exists (a run folder that may be damaged). */
function isFolder(dir: string): boolean {
  try {
    return Deno.statSync(dir).isDirectory;
  } catch {
    return false;
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

/**
 * The experiment names in a runs folder, sorted.
 *
 * @param runsDir The runs folder.
 * @returns Its experiment folders' names (none when it does not exist).
 */
export function experimentNames(runsDir: string): string[] {
  try {
    return [...Deno.readDirSync(runsDir)]
      .filter((e) => e.isDirectory && !e.name.startsWith("."))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

/** Run numbers in an experiment folder, ascending; undefined when the folder is unreadable. */
function runNumbers(expDir: string): number[] | undefined {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(expDir)];
  } catch {
    return undefined;
  }
  return entries.filter((e) => e.isDirectory && RUN_NUMBER.test(e.name))
    .map((e) => Number(e.name)).sort((a, b) => a - b);
}

/**
 * Lists runs, oldest first.
 *
 * @param runsDir The runs folder.
 * @param experiment Only this experiment's runs.
 * @returns One summary per run.
 * @throws {UsageError} When `experiment` has no folder in `runsDir`.
 */
export function listRuns(runsDir: string, experiment?: string): RunSummary[] {
  const out: RunSummary[] = [];
  for (const name of experiment ? [experiment] : experimentNames(runsDir)) {
    const expDir = join(runsDir, name);
    const numbers = runNumbers(expDir);
    if (numbers === undefined) {
      if (experiment) {
        throw new UsageError(`Cannot list runs: no runs of "${experiment}" in ${runsDir}`);
      }
      continue;
    }
    for (const n of numbers) {
      const dir = join(expDir, runId(n));
      const record = readRecord(dir);
      if (typeof record !== "string") out.push(summarize(dir, record));
      else {
        // Listed, not hidden: every command names a damaged run as such.
        out.push({
          experiment: name,
          run: n,
          dir,
          status: "damaged",
          damage: record,
          started: "",
          seconds: 0,
          counts: {},
        });
      }
    }
  }
  return out;
}

/** Whether a reference names a folder (`/abs/run`, `./run`, `../runs/x/0001`). */
function isPathRef(ref: string): boolean {
  return isAbsolute(ref) || ref.startsWith(".");
}

/**
 * The experiment folder a run reference points into: `<runsDir>/<experiment>` for
 * `<experiment>[/<n>]`, the parent folder for a run folder path.
 *
 * @param runsDir The runs folder.
 * @param ref The run reference.
 * @returns The folder, or undefined for an empty reference.
 */
export function referencedExperimentDir(runsDir: string, ref: string): string | undefined {
  if (isPathRef(ref)) return dirname(resolve(ref));
  const name = ref.split("/")[0];
  return name ? join(runsDir, name) : undefined;
}

/**
 * Reads one run. References: `<experiment>` (latest), `<experiment>/latest`,
 * `<experiment>/<n>` (`3` or `0003`), or a run folder path. A bare experiment name (or
 * `<experiment>/latest`) without `latest` (set only when a run finishes, and dangling when its
 * folder was deleted) means its newest run, e.g. a killed one.
 *
 * @param runsDir The runs folder.
 * @param ref The run reference.
 * @returns The run's name, folder and record.
 * @throws {UsageError} When the run does not exist, or its `run.json` is missing or damaged.
 */
export function loadRun(runsDir: string, ref: string): LoadedRun {
  const candidates: string[] = [];
  if (isPathRef(ref)) candidates.push(resolve(ref));
  const [name, which] = ref.split("/");
  if (name) {
    if (which === undefined || which === "latest") {
      candidates.push(join(runsDir, name, "latest"));
    } else if (/^\d+$/.test(which)) {
      candidates.push(join(runsDir, name, runId(Number(which))));
    }
  }
  candidates.push(resolve(ref));
  // `latest` is set only when a run finishes: a bare experiment name whose newest run was
  // killed still means that newest run.
  if (name && (which === undefined || which === "latest") && !isPathRef(ref)) {
    const expDir = join(runsDir, name);
    for (const n of (runNumbers(expDir) ?? []).reverse()) candidates.push(join(expDir, runId(n)));
  }
  for (const dir of candidates) {
    let real = dir;
    try {
      real = Deno.realPathSync(dir);
      // Where symlinks are unavailable `latest` is a file naming the run.
      if (Deno.statSync(real).isFile) {
        real = join(runsDir, name, Deno.readTextFileSync(real).trim());
      }
    } catch {
      continue;
    }
    const record = readRecord(real);
    if (typeof record !== "string") return { name: runName(record), dir: real, record };
    if (isFolder(real) && (RUN_NUMBER.test(basename(real)) || isPathRef(ref))) {
      throw new UsageError(`Cannot read run "${ref}": ${real} is damaged: ${record}`);
    }
  }
  throw new UsageError(`Cannot show run "${ref}": no such run in ${runsDir}`);
}
