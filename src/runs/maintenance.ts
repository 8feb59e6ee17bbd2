/**
 * Store maintenance: `store verify` rehashes every object (damaged ones go to quarantine, so a
 * cache hit never serves them) and `gc` removes what no kept run references, without touching
 * anything a running runner may use.
 *
 * @module
 */

import { join } from "node:path";
import { hashFile } from "../runner/hash.ts";
import type { ContentHash, Manifest } from "../runner/hash.ts";
import { type RunRecord, UsageError } from "../runner/mod.ts";
import { lockHeld, recoverStaleRuns } from "../runner/run_folder.ts";
import { type StageResultEntry, Store } from "../runner/store.ts";
import { storeRoot } from "./run_data.ts";

/** One problem found by {@linkcode verifyStore}. */
export interface StoreProblem {
  /** `corrupt` (bytes do not hash to the name), `unreadable`, or `missing` (a result needs it). */
  kind: "corrupt" | "unreadable" | "missing" | "bad-result";
  /** Object hash or result key. */
  id: string;
  /** What is wrong. */
  message: string;
  /** Where a damaged object was moved. */
  quarantined?: string;
}

/** The outcome of {@linkcode verifyStore}. */
export interface VerifyReport {
  /** The store folder. */
  store: string;
  /** Objects rehashed. */
  objects: number;
  /** Bytes read. */
  bytes: number;
  /** Stage results checked. */
  results: number;
  /** Everything wrong. */
  problems: StoreProblem[];
  /** Leftover temp files of killed writers (harmless; `gc` removes them). */
  leftovers: number;
  /** Whether the store is sound. */
  ok: boolean;
}

/** Iterates `<root>/<2 hex>/<name>` entries of a sharded folder. */
function* sharded(root: string): Generator<{ shard: string; name: string; path: string }> {
  let shards: Deno.DirEntry[];
  try {
    shards = [...Deno.readDirSync(root)];
  } catch {
    return;
  }
  for (const shard of shards) {
    if (!shard.isDirectory) continue;
    for (const entry of Deno.readDirSync(join(root, shard.name))) {
      if (entry.isFile) {
        yield { shard: shard.name, name: entry.name, path: join(root, shard.name, entry.name) };
      }
    }
  }
}

const HASH = /^[0-9a-f]{64}$/;
const RESULT = /^([0-9a-f]{64})\.json$/;

/** Reads a stored result, or undefined when it is unreadable. */
function readResultFile(path: string): StageResultEntry | undefined {
  try {
    const entry = JSON.parse(Deno.readTextFileSync(path));
    return entry && typeof entry.outputs === "object" ? entry : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every object hash a stored output needs (the file, or a manifest and everything below it).
 * Manifests the store lacks are reported through `missing`.
 */
function objectsOf(
  store: Store,
  content: ContentHash,
  out: Set<string>,
  missing?: Set<string>,
): void {
  if (out.has(content.hash)) return;
  if (content.type === "file") {
    out.add(content.hash);
    return;
  }
  let manifest: Manifest;
  try {
    manifest = store.readManifest(content.hash);
  } catch {
    missing?.add(content.hash);
    return;
  }
  out.add(content.hash);
  for (const child of Object.values(manifest.entries)) objectsOf(store, child, out, missing);
}

/** Every object a stored result needs: outputs, metrics and log. */
function resultObjects(store: Store, entry: StageResultEntry, out: Set<string>): void {
  for (const content of Object.values(entry.outputs)) objectsOf(store, content, out);
  if (entry.metrics) out.add(entry.metrics.hash);
  if (entry.log) out.add(entry.log);
}

/**
 * Rehashes every object of a store and checks every stage result against the objects.
 * Damaged objects are moved to `quarantine/` (unless `quarantine` is false), so the next run
 * that needs one recomputes it instead of serving it.
 *
 * @param runsDir The runs folder (its store is `<runsDir>/.store`).
 * @param options `quarantine`: move damaged objects aside. @default {true}
 * @returns What was checked and every problem.
 */
export async function verifyStore(
  runsDir: string,
  options: { quarantine?: boolean } = {},
): Promise<VerifyReport> {
  const root = storeRoot(runsDir);
  try {
    Deno.statSync(join(root, "objects"));
  } catch {
    throw new UsageError(`Cannot verify the store: no store in ${runsDir}`);
  }
  const store = new Store(root);
  const report: VerifyReport = {
    store: root,
    objects: 0,
    bytes: 0,
    results: 0,
    problems: [],
    leftovers: 0,
    ok: true,
  };
  for (const { name, path } of sharded(join(root, "objects"))) {
    if (!HASH.test(name)) {
      report.leftovers++;
      continue;
    }
    report.objects++;
    let actual: string;
    try {
      const h = await hashFile(path);
      actual = h.hash;
      report.bytes += h.bytes;
    } catch (error) {
      report.problems.push({
        kind: "unreadable",
        id: name,
        message: `Cannot read object ${name}: ${(error as Error).message}`,
      });
      continue;
    }
    if (actual !== name) {
      const problem: StoreProblem = {
        kind: "corrupt",
        id: name,
        message: `Object ${name} is corrupt: its bytes hash to ${actual}`,
      };
      if (options.quarantine ?? true) problem.quarantined = store.quarantine(name);
      report.problems.push(problem);
    }
  }
  for (const { name, path } of sharded(join(root, "results"))) {
    const match = name.match(RESULT);
    if (!match) {
      report.leftovers++;
      continue;
    }
    report.results++;
    const entry = readResultFile(path);
    if (!entry || entry.key !== match[1]) {
      report.problems.push({
        kind: "bad-result",
        id: match[1],
        message: `Stage result ${match[1]} is unreadable or names another key`,
      });
      continue;
    }
    const needed = new Set<string>();
    const missingManifests = new Set<string>();
    for (const content of Object.values(entry.outputs)) {
      objectsOf(store, content, needed, missingManifests);
    }
    if (entry.metrics) needed.add(entry.metrics.hash);
    const missing = [...missingManifests, ...[...needed].filter((h) => !exists(store, h))];
    if (missing.length > 0) {
      report.problems.push({
        kind: "missing",
        id: entry.key,
        message:
          `Stage result ${entry.key.slice(0, 12)} (${entry.stage}) needs ${missing.length} ` +
          `missing object(s), e.g. ${missing[0].slice(0, 12)}; the stage will run again`,
      });
    }
  }
  report.ok = report.problems.length === 0;
  return report;
}

function exists(store: Store, hash: string): boolean {
  try {
    return Deno.statSync(store.objectPath(hash)).isFile;
  } catch {
    return false;
  }
}

/** Options of {@linkcode collectGarbage}. */
export interface GcOptions {
  /** Keep only the newest N runs of each experiment (and any running one). Default: all. */
  keep?: number;
  /** Report what would be removed; remove nothing. */
  dryRun?: boolean;
}

/** The outcome of {@linkcode collectGarbage}. */
export interface GcReport {
  /** Run folders removed (`<experiment>/<NNNN>`). */
  runsRemoved: string[];
  /** Runs kept. */
  runsKept: number;
  /** Objects removed. */
  objectsRemoved: number;
  /** Stage results removed. */
  resultsRemoved: number;
  /** Checkpoint folders removed. */
  checkpointsRemoved: number;
  /** Temp files of killed writers removed. */
  leftoversRemoved: number;
  /** Bytes whose last link was removed. */
  bytesFreed: number;
  /** Objects kept because a running runner may be using them. */
  protected: number;
  /** Runners active while collecting (their runs and recent objects are kept). */
  activeRuns: string[];
  /** Whether nothing was removed because of `dryRun`. */
  dryRun: boolean;
}

interface RunEntry {
  experiment: string;
  number: number;
  dir: string;
  record?: RunRecord;
  active: boolean;
}

function listRunEntries(runsDir: string): RunEntry[] {
  const out: RunEntry[] = [];
  let experiments: Deno.DirEntry[];
  try {
    experiments = [...Deno.readDirSync(runsDir)];
  } catch {
    return out;
  }
  for (const exp of experiments) {
    if (!exp.isDirectory || exp.name.startsWith(".")) continue;
    const expDir = join(runsDir, exp.name);
    // Runs of killed runners become `interrupted` first (their unrecorded work is protected).
    recoverStaleRuns(expDir);
    for (const entry of Deno.readDirSync(expDir)) {
      if (!entry.isDirectory || !/^\d{4,}$/.test(entry.name)) continue;
      const dir = join(expDir, entry.name);
      let record: RunRecord | undefined;
      try {
        record = JSON.parse(Deno.readTextFileSync(join(dir, "run.json")));
      } catch {
        // A run folder being created, or damaged: never removed by --keep while its lock is held.
      }
      out.push({
        experiment: exp.name,
        number: Number(entry.name),
        dir,
        record,
        active: lockHeld(join(dir, ".lock")),
      });
    }
  }
  return out;
}

/** Holds keys whose flock a runner holds now, and the earliest time they were taken. */
function heldKeyLocks(root: string): { keys: Set<string>; since: number } {
  const keys = new Set<string>();
  let since = Infinity;
  for (const { name, path } of sharded(join(root, "locks"))) {
    if (!HASH.test(name) || !lockHeld(path)) continue;
    keys.add(name);
    since = Math.min(since, Deno.statSync(path).mtime?.getTime() ?? 0);
  }
  return { keys, since };
}

function latestTarget(expDir: string): number | undefined {
  try {
    return Number(Deno.readLinkSync(join(expDir, "latest")));
  } catch {
    try {
      return Number(Deno.readTextFileSync(join(expDir, "latest")).trim());
    } catch {
      return undefined;
    }
  }
}

/** Bytes freed by removing a path: files whose last link goes, summed over a tree. */
function freedBytes(path: string): number {
  const info = Deno.lstatSync(path);
  if (info.isDirectory) {
    let total = 0;
    for (const entry of Deno.readDirSync(path)) total += freedBytes(join(path, entry.name));
    return total;
  }
  return (info.nlink ?? 1) <= 1 ? info.size : 0;
}

/** Margin for clock granularity when comparing change times with a runner's start. */
const SLACK_MS = 5_000;

/**
 * Removes store objects, stage results and checkpoints that no kept run references, and with
 * `keep`, the run folders beyond the newest N per experiment.
 *
 * Never removes what a running runner may use: its run folder, the checkpoints of keys it has
 * locked, and every object or result changed since the earliest active runner started (new
 * outputs are stored before any run references them).
 *
 * @param runsDir The runs folder.
 * @param options `keep` and `dryRun`.
 * @returns What was removed and the bytes freed.
 * @throws {UsageError} When another gc is running on the same store.
 */
export function collectGarbage(runsDir: string, options: GcOptions = {}): GcReport {
  const root = storeRoot(runsDir);
  try {
    Deno.statSync(join(root, "objects"));
  } catch {
    throw new UsageError(`Cannot collect garbage: no store in ${runsDir}`);
  }
  const store = new Store(root);
  const dryRun = options.dryRun ?? false;
  const gcStart = Date.now();
  using gcLock = Deno.openSync(join(root, "locks", "gc"), {
    read: true,
    write: true,
    create: true,
  });
  if (!gcLock.tryLockSync(true)) {
    throw new UsageError(`Cannot collect garbage: another gc is running on ${root}`);
  }
  const report: GcReport = {
    runsRemoved: [],
    runsKept: 0,
    objectsRemoved: 0,
    resultsRemoved: 0,
    checkpointsRemoved: 0,
    leftoversRemoved: 0,
    bytesFreed: 0,
    protected: 0,
    activeRuns: [],
    dryRun,
  };

  // 1. Runs to keep: the newest N per experiment, `latest`, and every active run.
  const runs = listRunEntries(runsDir);
  const byExperiment = new Map<string, RunEntry[]>();
  for (const r of runs) {
    byExperiment.set(r.experiment, [...(byExperiment.get(r.experiment) ?? []), r]);
  }
  const kept: RunEntry[] = [];
  const removed: RunEntry[] = [];
  for (const [experiment, list] of byExperiment) {
    list.sort((a, b) => a.number - b.number);
    const latest = latestTarget(join(runsDir, experiment));
    list.forEach((r, i) => {
      const recent = options.keep === undefined || i >= list.length - options.keep;
      if (recent || r.active || r.number === latest) kept.push(r);
      else removed.push(r);
    });
  }
  const active = kept.filter((r) => r.active);
  report.activeRuns = active.map((r) => `${r.experiment}/${String(r.number).padStart(4, "0")}`);
  report.runsKept = kept.length;

  // 2. What the kept runs reference: their stage keys, results, and every object below them.
  const keys = new Set<string>();
  const objects = new Set<string>();
  for (const r of kept) {
    for (const s of r.record?.stages ?? []) {
      if (s.key) keys.add(s.key);
      for (const content of Object.values(s.outputs ?? {})) objectsOf(store, content, objects);
    }
  }
  const held = heldKeyLocks(root);
  for (const k of held.keys) keys.add(k);

  // 3. What may be in use or unrecorded: anything changed since the earliest active runner
  // started or after this gc started (a runner that started meanwhile), and anything changed
  // while a kept interrupted run was running (a killed runner may not have recorded its last
  // finished stages in run.json).
  let since = held.since;
  for (const r of active) {
    const started = r.record ? Date.parse(r.record.started) : Deno.statSync(r.dir).mtime?.getTime();
    since = Math.min(since, started ?? 0);
  }
  const busy = since !== Infinity;
  const cutoff = busy ? Math.min(since - SLACK_MS, gcStart) : gcStart;
  const windows = kept.filter((r) => r.record?.status === "interrupted").map((r) => [
    Date.parse(r.record!.started) - SLACK_MS,
    r.record!.finished ? Date.parse(r.record!.finished) + SLACK_MS : gcStart,
  ]);
  const recent = (path: string): boolean => {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch {
      return true; // Gone or moving: not ours to judge.
    }
    const changed = Math.max(info.ctime?.getTime() ?? 0, info.mtime?.getTime() ?? 0);
    return changed >= cutoff || windows.some(([a, b]) => changed >= a && changed <= b);
  };

  // 4. Results to keep: those of kept runs, and recent ones; then every object they need.
  const doomedResults: string[] = [];
  for (const { name, path } of sharded(join(root, "results"))) {
    const match = name.match(RESULT);
    if (!match) {
      // A temp file of a killed writer; one a live writer is still renaming is recent.
      if (!busy && !dryRun && !recent(path)) {
        Deno.removeSync(path);
        report.leftoversRemoved++;
      }
      continue;
    }
    if (keys.has(match[1])) continue;
    if (recent(path)) {
      keys.add(match[1]);
      report.protected++;
      continue;
    }
    doomedResults.push(path);
  }
  for (const key of keys) {
    const entry = store.readResult(key);
    if (entry) resultObjects(store, entry, objects);
  }
  let checkpoints: Deno.DirEntry[] = [];
  try {
    checkpoints = [...Deno.readDirSync(join(root, "checkpoints"))];
  } catch {
    // None.
  }
  // Every recency verdict is taken before anything is removed: unlinking a run folder's hard
  // link to an object changes that object's ctime, which would then read as "recent" and leave
  // the object for the next gc, unlike what the dry run promised.
  const storedObjects = [...sharded(join(root, "objects"))].map((o) => ({
    ...o,
    recent: recent(o.path),
  }));
  const checkpointsRecent = new Set<string>();
  for (const entry of checkpoints) {
    if (recent(join(root, "checkpoints", entry.name))) checkpointsRecent.add(entry.name);
  }

  // 5. Remove: run folders first, then results (so a result never outlives its objects), then
  // objects, checkpoints and leftovers of killed writers.
  for (const r of removed) {
    report.runsRemoved.push(`${r.experiment}/${String(r.number).padStart(4, "0")}`);
    // A run folder's links to objects free nothing themselves (nlink 2): the objects count below.
    report.bytesFreed += freedBytes(r.dir);
    if (!dryRun) Deno.removeSync(r.dir, { recursive: true });
  }
  for (const path of doomedResults) {
    report.resultsRemoved++;
    if (!dryRun) Deno.removeSync(path);
  }
  for (const { name, path, recent: isRecent } of storedObjects) {
    if (!HASH.test(name)) {
      if (!busy && !dryRun && !isRecent) {
        Deno.removeSync(path);
        report.leftoversRemoved++;
      }
      continue;
    }
    if (objects.has(name)) continue;
    if (isRecent) {
      report.protected++;
      continue;
    }
    report.objectsRemoved++;
    const info = Deno.statSync(path);
    // Objects still linked from a removed-but-kept folder free nothing; count only last links.
    if (dryRun) report.bytesFreed += info.size;
    else {
      if ((info.nlink ?? 1) <= 1) report.bytesFreed += info.size;
      Deno.removeSync(path);
    }
  }
  // A killed run may not have recorded the key of the stage it was in, so a checkpoint goes only
  // when its stage has finished since (a stored result), or, with --keep, when it is older than
  // every kept run.
  let oldestKept = Infinity;
  for (const r of kept) {
    oldestKept = Math.min(oldestKept, r.record ? Date.parse(r.record.started) : 0);
  }
  for (const entry of checkpoints) {
    if (keys.has(entry.name)) continue;
    const path = join(root, "checkpoints", entry.name);
    if (checkpointsRecent.has(entry.name)) continue;
    const finished = HASH.test(entry.name) && store.readResult(entry.name) !== undefined;
    const changed = Deno.statSync(path).mtime?.getTime() ?? 0;
    if (!finished && !(options.keep !== undefined && changed < oldestKept - SLACK_MS)) continue;
    report.checkpointsRemoved++;
    if (!dryRun) {
      report.bytesFreed += freedBytes(path);
      Deno.removeSync(path, { recursive: true });
    }
  }
  return report;
}
