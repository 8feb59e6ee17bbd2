/**
 * What the pages show, read from a runs folder without writing to it: experiments, the runs
 * table of one experiment, one run's stages, artifacts and DAG, and pages of long files.
 *
 * Unlike `listRuns`/`readRun` (which mark runs of killed runners `interrupted`), nothing here
 * writes: the UI is read-only.
 *
 * @module
 */

import { join, relative } from "node:path";
import type { RunRecord, StageReport } from "../runner/mod.ts";
import type { LoadedRun } from "../runs/run_data.ts";

/** A run read for the UI. */
export type UiRun = LoadedRun;

const RUN_DIR = /^\d{4,}$/;

interface CacheEntry {
  mtime: number;
  size: number;
  record: RunRecord;
}

/** run.json path -> parsed record, reused while the file's mtime and size stay the same. */
const recordCache = new Map<string, CacheEntry>();

/**
 * Reads one `run.json`, from the cache when unchanged.
 *
 * @param dir A run folder.
 * @returns The record, or undefined when missing or unreadable.
 */
export function readRecord(dir: string): RunRecord | undefined {
  const path = join(dir, "run.json");
  let stat: Deno.FileInfo;
  try {
    stat = Deno.statSync(path);
  } catch {
    return undefined;
  }
  const mtime = stat.mtime?.getTime() ?? 0;
  const hit = recordCache.get(path);
  if (hit && hit.mtime === mtime && hit.size === stat.size) return hit.record;
  try {
    const record = JSON.parse(Deno.readTextFileSync(path)) as RunRecord;
    if (!record || !Array.isArray(record.stages)) return undefined;
    recordCache.set(path, { mtime, size: stat.size, record });
    return record;
  } catch {
    return undefined;
  }
}

/**
 * Whether the runner of a `running` run is alive: it holds an exclusive lock on the run's
 * `.lock` as long as it runs. Taking (and at once releasing) a shared lock writes nothing.
 */
export function runnerAlive(dir: string): boolean {
  let lock: Deno.FsFile | undefined;
  try {
    lock = Deno.openSync(join(dir, ".lock"), { read: true });
    if (!lock.tryLockSync(false)) return true;
    lock.unlockSync();
    return false;
  } catch {
    return false;
  } finally {
    lock?.close();
  }
}

/**
 * The record as the next `deno task runs` will write it: a `running` run whose runner is gone
 * is `interrupted` (shown so here without writing it).
 */
function current(dir: string, record: RunRecord): RunRecord {
  if (record.status !== "running" || runnerAlive(dir)) return record;
  return {
    ...record,
    status: "interrupted",
    stages: record.stages.map((s) =>
      s.status === "pending"
        ? {
          ...s,
          status: "interrupted",
          reason: s.reason ? `${s.reason}; runner was killed` : "runner was killed",
        }
        : s
    ),
  };
}

/** `<experiment>/<NNNN>`. */
export function runRef(experiment: string, run: number): string {
  return `${experiment}/${String(run).padStart(4, "0")}`;
}

/** One experiment of the runs folder. */
export interface ExperimentSummary {
  /** Its name (folder). */
  name: string;
  /** Number of runs. */
  runs: number;
  /** The newest run's status and start. */
  latest?: { run: number; status: string; started: string };
}

/**
 * Lists the experiments of a runs folder (folders not starting with a dot), by name.
 *
 * @param runsDir The runs folder.
 * @returns One summary per experiment.
 */
export function listExperiments(runsDir: string): ExperimentSummary[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(runsDir)];
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory && !e.name.startsWith("."))
    .map((e) => e.name).sort().map((name) => {
      const numbers = runNumbers(join(runsDir, name));
      const last = numbers.at(-1);
      const record = last === undefined ? undefined : readRecord(join(runsDir, name, runDir(last)));
      return {
        name,
        runs: numbers.length,
        latest: record && { run: record.run, status: record.status, started: record.started },
      };
    });
}

function runDir(n: number): string {
  return String(n).padStart(4, "0");
}

function runNumbers(expDir: string): number[] {
  try {
    return [...Deno.readDirSync(expDir)].filter((e) => e.isDirectory && RUN_DIR.test(e.name))
      .map((e) => Number(e.name)).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/**
 * Reads every run of an experiment, oldest first.
 *
 * @param runsDir The runs folder.
 * @param experiment The experiment's name.
 * @returns Its runs (those with a readable `run.json`).
 */
export function experimentRuns(runsDir: string, experiment: string): UiRun[] {
  const expDir = join(runsDir, experiment);
  const out: UiRun[] = [];
  for (const n of runNumbers(expDir)) {
    const dir = join(expDir, runDir(n));
    const record = readRecord(dir);
    if (record) {
      out.push({ name: runRef(record.experiment, record.run), dir, record: current(dir, record) });
    }
  }
  return out;
}

/**
 * Reads one run by experiment and number.
 *
 * @param runsDir The runs folder.
 * @param experiment The experiment's name.
 * @param run The run number.
 * @returns The run, or undefined when it does not exist.
 */
export function findRun(runsDir: string, experiment: string, run: number): UiRun | undefined {
  if (!Number.isInteger(run) || run < 0) return undefined;
  const dir = join(runsDir, experiment, runDir(run));
  const record = readRecord(dir);
  return record ? { name: runRef(experiment, run), dir, record: current(dir, record) } : undefined;
}

/** Flattens nested objects to dotted paths (arrays and scalars are leaves). */
export function flatten(value: unknown, prefix = "", out = new Map<string, unknown>()) {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    }
  } else if (prefix) {
    out.set(prefix, value);
  }
  return out;
}

/** The settings of a run that a user varies: params, seed, stage `with:` and `matrix:`. */
export function runSettings(record: RunRecord): Map<string, unknown> {
  const config = record.config ?? {};
  const out = new Map<string, unknown>();
  flatten(config.params ?? {}, "params", out);
  out.set("seed", config.seed);
  const stages = (config.stages ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, stage] of Object.entries(stages)) {
    if (stage.with) flatten(stage.with, `stages.${name}.with`, out);
    if (stage.matrix) flatten(stage.matrix, `stages.${name}.matrix`, out);
  }
  return out;
}

/** One row of the runs table. */
export interface RunRow {
  /** `<experiment>/<NNNN>`. */
  name: string;
  /** Run number. */
  run: number;
  /** Run status. */
  status: RunRecord["status"];
  /** ISO start time. */
  started: string;
  /** Wall-clock seconds. */
  seconds: number;
  /** Git commit (short) and dirty flag, when recorded. */
  git?: { commit: string; dirty: boolean };
  /** Stage count per stage status. */
  counts: Record<string, number>;
  /** Values of the differing settings, by column. */
  params: Record<string, unknown>;
  /** Final metric values, by `stage.metric` column. */
  metrics: Record<string, number>;
}

/** The runs table of one experiment (like `dvc exp show`). */
export interface RunsTable {
  /** The experiment. */
  experiment: string;
  /** Setting columns: those whose value differs between runs. */
  params: string[];
  /** Final metric columns, `stage.metric`, in stage order. */
  metrics: string[];
  /** One row per run, oldest first. */
  rows: RunRow[];
}

/**
 * Builds the runs table of an experiment.
 *
 * @param runs The experiment's runs (from {@linkcode experimentRuns}).
 * @returns Columns and rows.
 */
export function runsTable(experiment: string, runs: UiRun[]): RunsTable {
  const settings = runs.map((r) => runSettings(r.record));
  const keys = new Set<string>();
  for (const s of settings) for (const k of s.keys()) keys.add(k);
  const params = [...keys].filter((k) => {
    const first = JSON.stringify(settings[0]?.get(k));
    return settings.some((s) => JSON.stringify(s.get(k)) !== first);
  });
  const metricSet = new Set<string>();
  const rows = runs.map((r, i): RunRow => {
    const counts: Record<string, number> = {};
    const metrics: Record<string, number> = {};
    for (const stage of r.record.stages) {
      counts[stage.status] = (counts[stage.status] ?? 0) + 1;
      for (const [m, v] of Object.entries(stage.metrics ?? {})) {
        const col = `${stage.name}.${m}`;
        metricSet.add(col);
        metrics[col] = v;
      }
    }
    const git = r.record.environment?.git;
    return {
      name: r.name,
      run: r.record.run,
      status: r.record.status,
      started: r.record.started,
      seconds: r.record.seconds,
      git: git ? { commit: git.commit, dirty: git.dirty } : undefined,
      counts,
      params: Object.fromEntries(params.map((p) => [p, settings[i].get(p)])),
      metrics,
    };
  });
  return { experiment, params, metrics: [...metricSet], rows };
}

/** Dependencies between the stages of a run: stage -> the stages it reads from. */
export function stageUpstream(record: RunRecord): Map<string, string[]> {
  const config = (record.config?.stages ?? {}) as Record<string, { needs?: string[] }>;
  const variants = new Map<string, StageReport[]>();
  for (const s of record.stages) {
    if (s.base !== undefined) variants.set(s.base, [...(variants.get(s.base) ?? []), s]);
  }
  const names = new Set(record.stages.map((s) => s.name));
  const out = new Map<string, string[]>();
  for (const s of record.stages) {
    const needs = config[s.base ?? s.name]?.needs ?? [];
    const up: string[] = [];
    for (const need of needs) {
      const expanded = variants.get(need);
      if (!expanded) {
        if (names.has(need)) up.push(need);
        continue;
      }
      // A variant reads the variants of its upstream matrix stage that agree on shared keys.
      for (const v of expanded) {
        const agree = Object.entries(v.matrix ?? {}).every(([k, x]) =>
          s.matrix?.[k] === undefined || s.matrix[k] === x
        );
        if (agree) up.push(v.name);
      }
    }
    out.set(s.name, up);
  }
  return out;
}

/** Estimated start and end (seconds from the run's start) of each stage. */
export function stageTimes(record: RunRecord): Map<string, { start: number; end: number }> {
  // run.json records durations, not start times: a stage starts when its last upstream ends.
  const upstream = stageUpstream(record);
  const times = new Map<string, { start: number; end: number }>();
  const byName = new Map(record.stages.map((s) => [s.name, s]));
  const visit = (name: string, depth = 0): { start: number; end: number } => {
    const known = times.get(name);
    if (known) return known;
    const start = depth > byName.size ? 0 : Math.max(
      0,
      ...(upstream.get(name) ?? []).map((u) => visit(u, depth + 1).end),
    );
    const t = { start, end: start + (byName.get(name)?.seconds ?? 0) };
    times.set(name, t);
    return t;
  };
  for (const s of record.stages) visit(s.name);
  return times;
}

/** An output file of a stage, as the run page shows it. */
export interface Artifact {
  /** Path relative to the run folder (`train_vae/reconstructions/grid.png`). */
  path: string;
  /** Size in bytes. */
  bytes: number;
  /** How to show it. */
  kind: "image" | "text" | "other";
}

const IMAGE = /\.(png|gif|jpe?g|webp|svg)$/i;
const TEXT = /\.(txt|json|jsonl|ya?ml|csv|tsv|md|log)$/i;
/** Files listed per stage at most; walking stops there (datasets may hold thousands). */
export const MAX_ARTIFACTS = 200;

/**
 * Lists the files a stage put in the run folder, images first, then by path.
 *
 * @param runDir The run folder.
 * @param stage The stage name.
 * @returns Up to {@linkcode MAX_ARTIFACTS} files and whether the list was cut.
 */
export function stageArtifacts(
  runDir: string,
  stage: string,
): { files: Artifact[]; truncated: boolean } {
  const files: Artifact[] = [];
  let truncated = false;
  const walk = (dir: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1);
    } catch {
      return;
    }
    for (const e of entries) {
      if (files.length >= MAX_ARTIFACTS) {
        truncated = true;
        return;
      }
      const path = join(dir, e.name);
      if (e.isDirectory) {
        walk(path);
      } else if (e.isFile) {
        let bytes = 0;
        try {
          bytes = Deno.statSync(path).size;
        } catch {
          continue;
        }
        const kind = IMAGE.test(e.name) ? "image" : TEXT.test(e.name) ? "text" : "other";
        files.push({ path: relative(runDir, path), bytes, kind });
      }
    }
  };
  walk(join(runDir, stage));
  files.sort((a, b) => (a.kind === "image" ? 0 : 1) - (b.kind === "image" ? 0 : 1));
  return { files, truncated };
}

/** One page of a long file. */
export interface FilePage {
  /** The text of the page (whole lines for line files). */
  text: string;
  /** Byte offset where the page starts. */
  offset: number;
  /** Byte offset after the page (where the next one starts). */
  next: number;
  /** The file's size. */
  size: number;
}

/** Default page size of logs and metric files. */
export const PAGE_BYTES = 256 * 1024;

/**
 * Reads one page of a file without loading the rest.
 *
 * @param path The file.
 * @param offset Byte offset to start at; negative counts from the end (a log's tail).
 * @param limit Bytes at most.
 * @param lines Cut the page at the last newline (JSON lines), unless it is the file's end.
 * @returns The page, or undefined when the file cannot be read.
 */
export function readPage(
  path: string,
  offset: number,
  limit = PAGE_BYTES,
  lines = false,
): FilePage | undefined {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    const size = file.statSync().size;
    let start = offset < 0 ? Math.max(0, size + offset) : Math.min(offset, size);
    const buf = new Uint8Array(Math.max(0, Math.min(limit, size - start)));
    file.seekSync(start, Deno.SeekMode.Start);
    let got = 0;
    while (got < buf.length) {
      const n = file.readSync(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    let bytes = buf.subarray(0, got);
    if (offset < 0 && start > 0) {
      // A tail starts after the first newline, so it holds whole lines.
      const nl = bytes.indexOf(10);
      if (nl >= 0) {
        start += nl + 1;
        bytes = bytes.subarray(nl + 1);
      }
    }
    if (lines && start + bytes.length < size) {
      const nl = bytes.lastIndexOf(10);
      if (nl >= 0) bytes = bytes.subarray(0, nl + 1);
    }
    return {
      text: new TextDecoder().decode(bytes),
      offset: start,
      next: start + bytes.length,
      size,
    };
  } finally {
    file.close();
  }
}

export { parseMetricLines } from "../runs/run_data.ts";
