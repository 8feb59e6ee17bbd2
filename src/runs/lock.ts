/**
 * Share and verify: `export` writes one self-contained YAML (the resolved experiment plus a
 * `lock:` section with each stage's key, output hashes, code fingerprint, dependency versions
 * and the environment it ran in); `run file.yaml --verify` compares a new run with that lock
 * stage by stage and explains every mismatch.
 *
 * @module
 */

import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { Environment, LoadedRun, RunReport, StageReport } from "../runner/mod.ts";
import { UsageError } from "../runner/mod.ts";
import type { ContentHash } from "../runner/hash.ts";
import { hashPath } from "../runner/hash.ts";
import type { CodeFingerprint } from "../runner/fingerprint.ts";

/** Lock format version. */
export const LOCK_VERSION = 1;

/** One stage in a lock. */
export interface LockedStage {
  /** `run` or `ts`. */
  kind: "run" | "ts";
  /** The cache key. */
  key: string;
  /** Whether the stage declares itself deterministic. */
  deterministic: boolean;
  /** Output name -> type, hash and size. */
  outputs: Record<string, ContentHash>;
  /** Declared dep name -> `type:hash` of its content at export time. */
  deps?: Record<string, string>;
  /** Module files and npm versions (TypeScript stages). */
  code?: CodeFingerprint;
  /** Facts the stage reported (backend, versions, ...). */
  facts?: Record<string, unknown>;
  /** Resolved parameters (`with:`) of a TypeScript stage. */
  with?: Record<string, unknown>;
  /** The command of a shell stage. */
  command?: string;
}

/** The `lock:` section of an exported experiment. */
export interface Lock {
  /** Format version. */
  version: number;
  /** The run it was exported from (`<experiment>/<NNNN>`). */
  run: string;
  /** When it was exported (ISO). */
  exported: string;
  /** The environment the run ran in. */
  environment: Environment | null;
  /** Experiment parameters. */
  params?: Record<string, unknown>;
  /** Experiment seed. */
  seed?: number;
  /** Per stage, in execution order. */
  stages: Record<string, LockedStage>;
}

/** Options of {@linkcode exportRun}. */
export interface ExportOptions {
  /** Folder the YAML will live in: absolute paths are written relative to it. */
  baseDir: string;
}

/** Rewrites an absolute path relative to `base` with a `./` or `../` prefix. */
function relativePath(path: string, base: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(base, path);
  return rel.startsWith("..") ? rel : `./${rel}`;
}

async function depHashes(stage: Record<string, unknown>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries((stage.deps ?? {}) as Record<string, string>)) {
    try {
      const h = await hashPath(path);
      out[name] = `${h.type}:${h.hash}`;
    } catch {
      out[name] = "missing";
    }
  }
  return out;
}

/**
 * Builds the exported experiment of a finished run: its resolved config with paths relative to
 * `baseDir`, plus `lock:`.
 *
 * @param run The run.
 * @param options Where the YAML will live.
 * @returns The document (plain data; render it with the yaml package).
 * @throws {UsageError} When the run did not succeed (a lock needs every stage's outputs).
 */
export async function exportRun(
  run: LoadedRun,
  options: ExportOptions,
): Promise<Record<string, unknown>> {
  const record = run.record;
  if (record.status !== "succeeded") {
    throw new UsageError(
      `Cannot export ${run.name}: its status is ${record.status}; export a succeeded run`,
    );
  }
  const config = structuredClone(record.config) as Record<string, unknown>;
  const stages = (config.stages ?? {}) as Record<string, Record<string, unknown>>;
  const lockStages: Record<string, LockedStage> = {};
  for (const report of record.stages) {
    // Matrix variants are declared once, under their base name.
    const stage = stages[report.base ?? report.name] ?? {};
    const locked: LockedStage = {
      kind: report.kind,
      key: report.key ?? "",
      deterministic: report.deterministic,
      outputs: report.outputs,
    };
    if (stage.deps) locked.deps = await depHashes(stage);
    if (report.code) locked.code = report.code;
    if (stage.with) locked.with = stage.with as Record<string, unknown>;
    if (typeof stage.run === "string") locked.command = stage.run;
    if (report.facts && Object.keys(report.facts).length > 0) locked.facts = report.facts;
    lockStages[report.name] = locked;
  }
  // Paths after hashing: the dep hashes above read the recorded absolute paths.
  for (const stage of Object.values(stages)) {
    if (typeof stage.uses === "string" && isAbsolute(stage.uses)) {
      stage.uses = relativePath(stage.uses, options.baseDir);
    }
    if (stage.deps) {
      stage.deps = Object.fromEntries(
        Object.entries(stage.deps as Record<string, string>).map((
          [k, v],
        ) => [k, relativePath(v, options.baseDir)]),
      );
    }
  }
  const lock: Lock = {
    version: LOCK_VERSION,
    run: run.name,
    exported: new Date().toISOString(),
    environment: record.environment,
    params: config.params as Record<string, unknown>,
    seed: config.seed as number,
    stages: lockStages,
  };
  return { ...config, lock };
}

/**
 * Renders an exported document as YAML with a header comment.
 *
 * @param doc From {@linkcode exportRun}.
 * @returns YAML text.
 */
export async function renderExport(doc: Record<string, unknown>): Promise<string> {
  const yaml = await import("yaml");
  const lock = doc.lock as Lock;
  return `# Exported from run ${lock.run} by \`deno task export\`.\n` +
    `# Rerun and check it: deno task run <this file> --verify\n` +
    yaml.stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * Reads the `lock:` section of an experiment file.
 *
 * @param file The YAML file.
 * @returns The lock, or undefined when the file has none.
 */
export async function readLock(file: string): Promise<Lock | undefined> {
  const yaml = await import("yaml");
  const doc = yaml.parse(await Deno.readTextFile(file));
  const lock = doc?.lock;
  if (lock === undefined) return undefined;
  if (typeof lock !== "object" || typeof lock.stages !== "object") {
    throw new UsageError(`Cannot verify against ${file}: its lock: section is malformed`);
  }
  return lock as Lock;
}

/** How one stage compares with the lock. */
export interface StageVerification {
  /** Stage name. */
  name: string;
  /** `match`, `mismatch`, `not-run` (failed, blocked, interrupted), or `new` (not in lock). */
  result: "match" | "mismatch" | "not-run" | "new";
  /** Whether the cache keys are equal. */
  keyMatch: boolean;
  /** Whether every output hash is equal. */
  outputsMatch: boolean;
  /** Whether the stage is known to be non-deterministic. */
  deterministic: boolean;
  /** Why it differs, most specific first. */
  explanations: string[];
}

/** The result of {@linkcode verifyAgainstLock}. */
export interface Verification {
  /** True when every deterministic stage matches (non-deterministic ones may differ). */
  ok: boolean;
  /** The run the lock came from. */
  lockedRun: string;
  /** Stage by stage. */
  stages: StageVerification[];
}

function packageMap(code?: CodeFingerprint): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of code?.packages ?? []) {
    const at = spec.lastIndexOf("@");
    out.set(at > spec.indexOf(":") + 1 ? spec.slice(0, at) : spec, spec);
  }
  return out;
}

function envDifferences(locked: Environment | null, now: Environment | null): string[] {
  if (!locked || !now) return [];
  const out: string[] = [];
  for (const k of ["os", "arch", "cpu", "deno", "v8"] as const) {
    if (locked[k] !== now[k]) out.push(`${k} ${locked[k]} -> ${now[k]}`);
  }
  return out;
}

const BACKEND_FACT = /backend|tfjs|device|simd|threads/i;

function factDifferences(a: Record<string, unknown> = {}, b: Record<string, unknown> = {}) {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (!BACKEND_FACT.test(k)) continue;
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) {
      out.push(`${k} ${JSON.stringify(a[k])} -> ${JSON.stringify(b[k])}`);
    }
  }
  return out;
}

/** Options of {@linkcode verifyAgainstLock}. */
export interface VerifyOptions {
  /** The environment of the new run (read from its `run.json` when omitted). */
  environment?: Environment | null;
  /** The experiment file (for re-hashing deps named in the lock). */
  file?: string;
}

/**
 * Compares a new run with a lock, stage by stage, and explains each mismatch: different code
 * (which files), different dependency versions, different deps content, different upstream
 * outputs, different backend or platform, or a non-deterministic stage.
 *
 * @param lock The lock.
 * @param report The new run's report.
 * @param options The new run's environment and the experiment file.
 * @returns The verification.
 */
export async function verifyAgainstLock(
  lock: Lock,
  report: RunReport,
  options: VerifyOptions = {},
): Promise<Verification> {
  let environment = options.environment;
  if (environment === undefined && report.dir) {
    try {
      environment = JSON.parse(Deno.readTextFileSync(join(report.dir, "run.json"))).environment;
    } catch {
      environment = null;
    }
  }
  const config = await readConfig(options.file);
  const results = new Map<string, StageVerification>();
  const stages: StageVerification[] = [];
  for (const s of report.stages) {
    const locked = lock.stages[s.name];
    const v = compareStage(s, locked, lock, environment ?? null, results, config);
    if (locked?.deps && config) {
      const deps = await depHashes(config.stages[s.base ?? s.name] ?? {});
      for (const [name, h] of Object.entries(locked.deps)) {
        if (deps[name] !== undefined && deps[name] !== h) {
          v.explanations.unshift(`dep ${name} has different content`);
        }
      }
    }
    results.set(s.name, v);
    stages.push(v);
  }
  for (const name of Object.keys(lock.stages)) {
    if (!results.has(name)) {
      stages.push({
        name,
        result: "mismatch",
        keyMatch: false,
        outputsMatch: false,
        deterministic: lock.stages[name].deterministic,
        explanations: ["the stage is in the lock but not in this experiment"],
      });
    }
  }
  const ok = stages.every((s) =>
    s.result === "match" || (s.result === "mismatch" && !s.deterministic)
  );
  return { ok, lockedRun: lock.run, stages };
}

interface FileConfig {
  stages: Record<string, Record<string, unknown>>;
  params: Record<string, unknown>;
  seed: unknown;
}

/** Reads the experiment's stages with deps resolved against the file's folder. */
async function readConfig(file?: string): Promise<FileConfig | undefined> {
  if (!file) return undefined;
  try {
    const yaml = await import("yaml");
    const doc = yaml.parse(await Deno.readTextFile(file));
    const stages = (doc?.stages ?? {}) as Record<string, Record<string, unknown>>;
    for (const stage of Object.values(stages)) {
      if (stage?.deps && typeof stage.deps === "object") {
        stage.deps = Object.fromEntries(
          Object.entries(stage.deps as Record<string, string>).map((
            [k, v],
          ) => [k, resolve(dirname(file), String(v))]),
        );
      }
    }
    return { stages, params: doc?.params ?? {}, seed: doc?.seed };
  } catch {
    return undefined;
  }
}

function show(value: unknown): string {
  return value === undefined ? "(unset)" : JSON.stringify(value);
}

/** Parameter, seed and command differences between the lock and the file as it is now. */
function configDifferences(
  name: string,
  locked: LockedStage,
  lock: Lock,
  config: FileConfig | undefined,
): string[] {
  if (!config) return [];
  const out: string[] = [];
  const stage = config.stages[name] ?? {};
  if (locked.command !== undefined && stage.run !== locked.command) out.push("different command");
  const now = (stage.with ?? {}) as Record<string, unknown>;
  const before = locked.with ?? {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(now)])) {
    if (JSON.stringify(before[k]) !== JSON.stringify(now[k])) {
      out.push(`different parameter ${k} (${show(before[k])} -> ${show(now[k])})`);
    }
  }
  const text = JSON.stringify(stage);
  for (const k of new Set([...Object.keys(lock.params ?? {}), ...Object.keys(config.params)])) {
    const a = lock.params?.[k];
    const b = config.params[k];
    const used = text.includes(`params.${k}`);
    if (used && JSON.stringify(a) !== JSON.stringify(b)) {
      out.push(`different parameter params.${k} (${show(a)} -> ${show(b)})`);
    }
  }
  if (
    lock.seed !== undefined && config.seed !== lock.seed &&
    (locked.kind === "ts" || text.includes("${seed}"))
  ) {
    out.push(`different seed (${show(lock.seed)} -> ${show(config.seed)})`);
  }
  return out;
}

/** `train@k=2,t=1` -> `["k=2", "t=1"]`: a variant's matrix values as written in its name. */
function assignment(name: string): string[] {
  const at = name.indexOf("@");
  return at < 0 ? [] : name.slice(at + 1).split(",");
}

/**
 * The earlier stages a stage reads: those it `needs` or whose outputs its text references,
 * matrix variants included. A variant reads the upstream variants that agree with its own
 * matrix values (`evaluate@k=2` reads `train@k=2`, not `train@k=3`).
 */
function upstreamOf(
  name: string,
  base: string | undefined,
  earlier: Iterable<string>,
  config: FileConfig | undefined,
): string[] {
  const stage = config?.stages[base ?? name];
  if (!stage) return [];
  const needs = (stage.needs ?? []) as string[];
  const text = JSON.stringify(stage);
  const mine = new Map(assignment(name).map((pair) => [pair.split("=")[0], pair]));
  return [...earlier].filter((n) => {
    const upstreamBase = n.split("@")[0];
    const reads = needs.includes(upstreamBase) || needs.includes(n) ||
      text.includes(`stages.${upstreamBase}.`);
    return reads &&
      assignment(n).every((pair) => (mine.get(pair.split("=")[0]) ?? pair) === pair);
  });
}

function compareStage(
  s: StageReport,
  locked: LockedStage | undefined,
  lock: Lock,
  environment: Environment | null,
  earlier: Map<string, StageVerification>,
  config: FileConfig | undefined,
): StageVerification {
  const deterministic = s.deterministic && (locked?.deterministic ?? true);
  const v: StageVerification = {
    name: s.name,
    result: "match",
    keyMatch: false,
    outputsMatch: false,
    deterministic,
    explanations: [],
  };
  if (!locked) {
    v.result = "new";
    v.explanations.push("the stage is not in the lock");
    return v;
  }
  if (s.status !== "ran" && s.status !== "cached") {
    v.result = "not-run";
    v.explanations.push(
      `the stage did not finish here (${s.status}${s.error ? `: ${s.error}` : ""})`,
    );
    return v;
  }
  v.keyMatch = s.key === locked.key;
  const names = new Set([...Object.keys(locked.outputs), ...Object.keys(s.outputs)]);
  const differing = [...names].filter((n) => locked.outputs[n]?.hash !== s.outputs[n]?.hash);
  v.outputsMatch = differing.length === 0;
  if (v.keyMatch && v.outputsMatch) return v;
  v.result = "mismatch";
  const why = v.explanations;
  if (!v.keyMatch) {
    if (locked.code && s.code) {
      const files = [...new Set([...Object.keys(locked.code.files), ...Object.keys(s.code.files)])]
        .filter((f) => locked.code!.files[f] !== s.code!.files[f]).sort();
      if (files.length > 0) why.push(`different code (${files.join(", ")})`);
      const a = packageMap(locked.code);
      const b = packageMap(s.code);
      for (const p of new Set([...a.keys(), ...b.keys()])) {
        if (a.get(p) !== b.get(p)) {
          why.push(`different dependency version (${a.get(p) ?? "none"} -> ${b.get(p) ?? "none"})`);
        }
      }
    }
    for (const n of upstreamOf(s.name, s.base, earlier.keys(), config)) {
      if (!earlier.get(n)!.outputsMatch) why.push(`upstream ${n} produced different outputs`);
    }
    why.push(...configDifferences(s.base ?? s.name, locked, lock, config));
    if (why.length === 0) why.push("different parameters, command or inputs (the key differs)");
  } else {
    const env = envDifferences(lock.environment, environment);
    const facts = factDifferences(locked.facts, s.facts);
    if (!deterministic) why.push("non-deterministic stage (declared `deterministic: false`)");
    if (facts.length > 0) why.push(`different backend (${facts.join(", ")})`);
    if (env.length > 0) why.push(`different platform (${env.join(", ")})`);
    if (why.length === 0) {
      why.push(
        "same key, same platform and backend, different bytes: the stage is not deterministic " +
          "(mark it `deterministic: false` or fix its seeding)",
      );
    }
  }
  if (!v.outputsMatch && v.keyMatch) {
    why.push(`outputs differ: ${differing.join(", ")}`);
  }
  return v;
}

/**
 * Formats a verification for people: one line per stage plus its explanations.
 *
 * @param v The verification.
 * @returns Text.
 */
export function formatVerification(v: Verification): string {
  const width = Math.max(8, ...v.stages.map((s) => s.name.length));
  const lines = [`verify against ${v.lockedRun}:`];
  for (const s of v.stages) {
    const what = s.result === "match"
      ? "match (key and outputs)"
      : s.result === "mismatch"
      ? `MISMATCH (key ${s.keyMatch ? "same" : "differs"}, outputs ${
        s.outputsMatch ? "same" : "differ"
      })${s.deterministic ? "" : " [non-deterministic]"}`
      : s.result;
    lines.push(`  ${s.name.padEnd(width)} ${what}`);
    for (const e of s.explanations) lines.push(`  ${"".padEnd(width)}   - ${e}`);
  }
  lines.push(v.ok ? "verified: every deterministic stage matches the lock" : "NOT verified");
  return lines.join("\n");
}

/**
 * Reads the lock of a file given to `run --verify`.
 *
 * @param file The experiment file.
 * @returns The lock.
 * @throws {UsageError} When the file has no `lock:` section.
 */
export async function readLockOrFail(file: string): Promise<Lock> {
  let lock: Lock | undefined;
  try {
    lock = await readLock(file);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // Unreadable or invalid YAML: the runner's own validation reports it with a location.
    return { version: LOCK_VERSION, run: "", exported: "", environment: null, stages: {} };
  }
  if (!lock) {
    throw new UsageError(
      `Cannot verify ${file}: it has no lock: section (write one with \`deno task export <run>\`)`,
    );
  }
  return lock;
}
