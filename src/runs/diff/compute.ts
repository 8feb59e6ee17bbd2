/**
 * The pure comparison of two runs: parameters, seed, code, git, environment, stage keys, metrics
 * and artifacts, grouped, keeping only what differs unless asked for everything.
 *
 * @module
 */

import { join } from "node:path";
import type { StageReport } from "../../runner/mod.ts";
import type { ContentHash, Manifest } from "../../runner/hash.ts";
import { type LoadedRun, readMetrics, storeRoot } from "../run_data.ts";

/** A value on both sides and whether it differs. */
export interface Change<T = unknown> {
  /** What it is (a dotted path, a field or a stage). */
  path: string;
  /** Value in run A (undefined: absent). */
  a: T | undefined;
  /** Value in run B. */
  b: T | undefined;
  /** Whether A and B differ. */
  changed: boolean;
}

/** A stage's code change. */
export interface CodeChange {
  /** Stage name. */
  stage: string;
  /** Whether anything in this entry differs. */
  changed: boolean;
  /** Shell command (kind `run`) on both sides, when it differs or with `--all`. */
  command?: Change<string>;
  /** Module file -> hash on both sides (kind `ts`). */
  files: Change<string>[];
  /** npm/jsr versions the module uses. */
  packages: Change<string>[];
}

/** One stage on both sides. */
export interface StageChange {
  /** Stage name. */
  stage: string;
  /** Status and key in A. */
  a?: { status: string; key: string | null; reason: string };
  /** Status and key in B. */
  b?: { status: string; key: string | null; reason: string };
  /** Whether the key differs. */
  keyChanged: boolean;
  /** Whether anything shown differs (key or status). */
  changed: boolean;
}

/** One metric on one side. */
export interface MetricSide {
  /** Last logged value. */
  final: number;
  /** Best value (lowest for loss-like names, highest otherwise). */
  best: number;
  /** Logged steps. */
  steps: number;
  /** A small curve of the series, scaled over both sides. */
  spark: string;
}

/** One metric on both sides. */
export interface MetricChange {
  /** Stage name. */
  stage: string;
  /** Metric name. */
  metric: string;
  /** `min` or `max`: which direction is best. */
  goal: "min" | "max";
  /** Side A. */
  a?: MetricSide;
  /** Side B. */
  b?: MetricSide;
  /** b.final - a.final. */
  delta: number | null;
  /** Whether the series differ. */
  changed: boolean;
}

/** A file inside a directory output whose content differs. */
export interface FileChange {
  /** Path inside the output. */
  path: string;
  /** Hash and size in A. */
  a?: { hash: string; bytes: number };
  /** Hash and size in B. */
  b?: { hash: string; bytes: number };
}

/** One output on both sides. */
export interface ArtifactChange {
  /** Stage name. */
  stage: string;
  /** Output name. */
  output: string;
  /** Type, hash and size in A. */
  a?: ContentHash;
  /** Type, hash and size in B. */
  b?: ContentHash;
  /** Whether the hashes differ. */
  changed: boolean;
  /** Files that differ inside directory outputs (when the store has the manifests). */
  files: FileChange[];
}

/** One of the two runs compared. */
export interface RunSide {
  /** `<experiment>/<NNNN>`. */
  run: string;
  /** Its folder. */
  dir: string;
  /** Its status. */
  status: string;
  /** The run it resumed (`deno task resume`), if any. */
  resumedFrom?: string;
}

/** The difference between two runs. */
export interface RunDiff {
  /** Run A (`<experiment>/<NNNN>`, folder, status, the run it resumed if any). */
  a: RunSide;
  /** Run B. */
  b: RunSide;
  /** Experiment parameters and stage parameters (`with:`), other stage settings. */
  params: Change[];
  /** The seed. */
  seed: Change<number>;
  /** Stage code: commands, module files, package versions. */
  code: CodeChange[];
  /** Git commit and dirty flag. */
  git: Change<string>[];
  /** Deno, V8, OS, CPU, and backend facts the stages reported. */
  environment: Change<string>[];
  /** Stage keys and whether each side ran or was cached. */
  stages: StageChange[];
  /** Final and best metric values. */
  metrics: MetricChange[];
  /** Outputs by hash. */
  artifacts: ArtifactChange[];
  /** Whether anything differs at all. */
  identical: boolean;
}

/** Options of {@linkcode diffRuns}. */
export interface DiffOptions {
  /** Keep unchanged entries too. @default {false} */
  all?: boolean;
  /** Characters per sparkline. @default {24} */
  sparkWidth?: number;
}

const SPARK = "▁▂▃▄▅▆▇█";
const LOSS_LIKE = /loss|err|mse|mae|nll|kl|cost|perplex|seconds|time|regret/i;
const ENV_FACT = /backend|tfjs|version|device|simd|threads|gpu/i;

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, {});
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, value);
  }
}

function changes(a: Map<string, unknown>, b: Map<string, unknown>): Change[] {
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  return keys.map((path) => ({
    path,
    a: a.get(path),
    b: b.get(path),
    changed: !same(a.get(path), b.get(path)),
  }));
}

function stageMap(run: LoadedRun): Map<string, StageReport> {
  return new Map(run.record.stages.map((s) => [s.name, s]));
}

function stageNames(a: LoadedRun, b: LoadedRun): string[] {
  const names = a.record.stages.map((s) => s.name);
  for (const s of b.record.stages) if (!names.includes(s.name)) names.push(s.name);
  return names;
}

/**
 * Draws a series as a small curve, scaled to `[lo, hi]`.
 *
 * @param values The values in order.
 * @param options Width and the range shared by both sides.
 * @returns One character per bucket.
 */
export function sparkline(
  values: number[],
  options: { width?: number; lo?: number; hi?: number } = {},
): string {
  if (values.length === 0) return "";
  const width = Math.min(options.width ?? 24, values.length);
  const lo = options.lo ?? Math.min(...values);
  const hi = options.hi ?? Math.max(...values);
  let out = "";
  for (let i = 0; i < width; i++) {
    // Each character shows the mean of its bucket of steps.
    const start = Math.floor((i * values.length) / width);
    const end = Math.max(start + 1, Math.floor(((i + 1) * values.length) / width));
    const bucket = values.slice(start, end);
    const mean = bucket.reduce((s, v) => s + v, 0) / bucket.length;
    const level = hi > lo ? Math.round(((mean - lo) / (hi - lo)) * (SPARK.length - 1)) : 0;
    out += SPARK[Math.max(0, Math.min(SPARK.length - 1, level))];
  }
  return out;
}

function metricSide(
  series: [number, number][] | undefined,
  goal: "min" | "max",
  range: { lo: number; hi: number },
  width: number,
): MetricSide | undefined {
  if (!series || series.length === 0) return undefined;
  const values = series.map(([, v]) => v);
  return {
    final: values[values.length - 1],
    best: goal === "min" ? Math.min(...values) : Math.max(...values),
    steps: values.length,
    spark: sparkline(values, { width, ...range }),
  };
}

/** Reads a manifest from the store, or undefined when the store lacks it. */
function readManifest(storeDir: string, hash: string): Manifest | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(join(storeDir, "objects", hash.slice(0, 2), hash)));
  } catch {
    return undefined;
  }
}

/** Lists the files of a stored directory output: relative path -> content hash. */
export function manifestFiles(
  storeDir: string,
  content: ContentHash,
  prefix = "",
  out = new Map<string, ContentHash>(),
): Map<string, ContentHash> {
  if (content.type === "file") {
    out.set(prefix, content);
    return out;
  }
  const manifest = readManifest(storeDir, content.hash);
  if (!manifest) return out;
  for (const [name, child] of Object.entries(manifest.entries)) {
    manifestFiles(storeDir, child, prefix ? `${prefix}/${name}` : name, out);
  }
  return out;
}

function dirFileChanges(runsA: string, runsB: string, a: ContentHash, b: ContentHash) {
  const fa = manifestFiles(storeRoot(runsA), a);
  const fb = manifestFiles(storeRoot(runsB), b);
  const out: FileChange[] = [];
  for (const path of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    const x = fa.get(path);
    const y = fb.get(path);
    if (x?.hash === y?.hash) continue;
    out.push({
      path,
      a: x && { hash: x.hash, bytes: x.bytes },
      b: y && { hash: y.hash, bytes: y.bytes },
    });
  }
  return out;
}

/** The runs folder a run folder belongs to (`<runs>/<experiment>/<NNNN>`). */
function runsDirOf(run: LoadedRun): string {
  return join(run.dir, "..", "..");
}

/**
 * Compares two runs.
 *
 * @param a The older run.
 * @param b The newer run.
 * @param options `all` keeps unchanged entries.
 * @returns The grouped differences.
 */
export function diffRuns(a: LoadedRun, b: LoadedRun, options: DiffOptions = {}): RunDiff {
  const all = options.all ?? false;
  const width = options.sparkWidth ?? 24;
  const ra = a.record;
  const rb = b.record;
  const keep = <T extends { changed: boolean }>(list: T[]) =>
    all ? list : list.filter((c) => c.changed);

  // Parameters: experiment params and every stage setting except code, which has its group.
  const ca = new Map<string, unknown>();
  const cb = new Map<string, unknown>();
  flatten({ params: ra.config.params ?? {}, stages: ra.config.stages ?? {} }, "", ca);
  flatten({ params: rb.config.params ?? {}, stages: rb.config.stages ?? {} }, "", cb);
  const isCode = (p: string) => /^stages\.[^.]+\.(run|uses|description)$/.test(p);
  for (const m of [ca, cb]) for (const k of [...m.keys()]) if (isCode(k)) m.delete(k);
  const params = keep(changes(ca, cb));

  const seedA = ra.config.seed as number | undefined;
  const seedB = rb.config.seed as number | undefined;
  const seed = { path: "seed", a: seedA, b: seedB, changed: seedA !== seedB };

  const sa = stageMap(a);
  const sb = stageMap(b);
  const names = stageNames(a, b);
  const stagesA = (ra.config.stages ?? {}) as Record<string, Record<string, unknown>>;
  const stagesB = (rb.config.stages ?? {}) as Record<string, Record<string, unknown>>;

  const code: CodeChange[] = [];
  // Variants of a matrix stage (`train@t=1`) share the declared stage's code: one entry.
  const declared = new Set<string>();
  for (const variant of names) {
    const x = sa.get(variant);
    const y = sb.get(variant);
    const name = x?.base ?? y?.base ?? variant;
    if (declared.has(name)) continue;
    declared.add(name);
    const entry: CodeChange = { stage: name, changed: false, files: [], packages: [] };
    const cmdA = stagesA[name]?.run as string | undefined;
    const cmdB = stagesB[name]?.run as string | undefined;
    if (cmdA !== undefined || cmdB !== undefined) {
      entry.command = { path: "run", a: cmdA, b: cmdB, changed: cmdA !== cmdB };
    }
    // A run recorded without fingerprints cannot tell which files changed: compare nothing.
    const known = !!x?.code === !!y?.code;
    const fa = known ? x?.code?.files ?? {} : {};
    const fb = known ? y?.code?.files ?? {} : {};
    const files = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
    entry.files = files.map((f) => ({ path: f, a: fa[f], b: fb[f], changed: fa[f] !== fb[f] }));
    const pa = new Map((known ? x?.code?.packages ?? [] : []).map((p) => [packageName(p), p]));
    const pb = new Map((known ? y?.code?.packages ?? [] : []).map((p) => [packageName(p), p]));
    entry.packages = [...new Set([...pa.keys(), ...pb.keys()])].sort().map((p) => ({
      path: p,
      a: pa.get(p),
      b: pb.get(p),
      changed: pa.get(p) !== pb.get(p),
    }));
    const usesA = stagesA[name]?.uses as string | undefined;
    const usesB = stagesB[name]?.uses as string | undefined;
    if (usesA !== usesB) {
      entry.files.unshift({ path: "(module)", a: usesA, b: usesB, changed: true });
    }
    entry.changed = !!entry.command?.changed || entry.files.some((f) => f.changed) ||
      entry.packages.some((p) => p.changed);
    if (!all) {
      if (entry.command && !entry.command.changed) delete entry.command;
      entry.files = entry.files.filter((f) => f.changed);
      entry.packages = entry.packages.filter((p) => p.changed);
    }
    if (all || entry.changed) code.push(entry);
  }

  const ga = ra.environment?.git;
  const gb = rb.environment?.git;
  const git = keep([
    { path: "commit", a: ga?.commit, b: gb?.commit, changed: ga?.commit !== gb?.commit },
    {
      path: "dirty",
      a: ga ? String(ga.dirty) : undefined,
      b: gb ? String(gb.dirty) : undefined,
      changed: ga?.dirty !== gb?.dirty,
    },
  ]);

  const envA = new Map<string, unknown>();
  const envB = new Map<string, unknown>();
  for (const [run, m] of [[ra, envA], [rb, envB]] as const) {
    const env = (run.environment ?? {}) as unknown as Record<string, unknown>;
    for (const k of ["deno", "v8", "typescript", "os", "arch", "cpu", "cores"]) {
      if (env[k] !== undefined) m.set(k, String(env[k]));
    }
    for (const s of run.stages) {
      for (const [k, v] of Object.entries(s.facts ?? {})) {
        if (ENV_FACT.test(k)) {
          m.set(`${s.name}.${k}`, typeof v === "string" ? v : JSON.stringify(v));
        }
      }
    }
  }
  const environment = keep(changes(envA, envB)) as Change<string>[];

  const stages: StageChange[] = [];
  for (const name of names) {
    const x = sa.get(name);
    const y = sb.get(name);
    const side = (s?: StageReport) => s && { status: s.status, key: s.key, reason: s.reason };
    const keyChanged = x?.key !== y?.key;
    const changed = keyChanged || x?.status !== y?.status;
    if (all || changed) stages.push({ stage: name, a: side(x), b: side(y), keyChanged, changed });
  }

  const metrics: MetricChange[] = [];
  for (const name of names) {
    const ma = readMetrics(a, name);
    const mb = readMetrics(b, name);
    // Stages without a metrics file still report final values in run.json.
    for (const [series, report] of [[ma, sa.get(name)], [mb, sb.get(name)]] as const) {
      for (const [k, v] of Object.entries(report?.metrics ?? {})) {
        if (!series[k]) series[k] = [[0, v]];
      }
    }
    for (const metric of [...new Set([...Object.keys(ma), ...Object.keys(mb)])].sort()) {
      const goal = LOSS_LIKE.test(metric) ? "min" : "max";
      const values = [...(ma[metric] ?? []), ...(mb[metric] ?? [])].map(([, v]) => v);
      const range = { lo: Math.min(...values), hi: Math.max(...values) };
      const x = metricSide(ma[metric], goal, range, width);
      const y = metricSide(mb[metric], goal, range, width);
      const changed = !same(ma[metric], mb[metric]);
      const delta = x && y ? y.final - x.final : null;
      if (all || changed) metrics.push({ stage: name, metric, goal, a: x, b: y, delta, changed });
    }
  }

  const artifacts: ArtifactChange[] = [];
  for (const name of names) {
    const oa = sa.get(name)?.outputs ?? {};
    const ob = sb.get(name)?.outputs ?? {};
    for (const output of [...new Set([...Object.keys(oa), ...Object.keys(ob)])]) {
      const x = oa[output];
      const y = ob[output];
      const changed = x?.hash !== y?.hash;
      if (!all && !changed) continue;
      const files = changed && x?.type === "dir" && y?.type === "dir"
        ? dirFileChanges(runsDirOf(a), runsDirOf(b), x, y)
        : [];
      artifacts.push({ stage: name, output, a: x, b: y, changed, files });
    }
  }

  const identical = !seed.changed &&
    [params, git, environment].every((l) => l.every((c) => !c.changed)) &&
    code.every((c) => !c.changed) && stages.every((s) => !s.changed) &&
    metrics.every((m) => !m.changed) && artifacts.every((x) => !x.changed);
  return {
    a: side(a),
    b: side(b),
    params,
    seed,
    code,
    git,
    environment,
    stages,
    metrics,
    artifacts,
    identical,
  };
}

function side(run: LoadedRun): RunSide {
  const out: RunSide = { run: run.name, dir: run.dir, status: run.record.status };
  const from = (run.record as { resumed_from?: { run?: string } }).resumed_from?.run;
  if (from) out.resumedFrom = from;
  return out;
}

/** `npm:yaml@2.9.1` -> `npm:yaml`. */
function packageName(specifier: string): string {
  const at = specifier.lastIndexOf("@");
  return at > specifier.indexOf(":") + 1 ? specifier.slice(0, at) : specifier;
}
