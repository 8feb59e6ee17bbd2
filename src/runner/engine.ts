/**
 * The engine: validates an experiment, decides per stage from its cache key whether to reuse a
 * stored result or run it (saying why), runs stages in parallel up to `jobs`, commits results
 * atomically to the store and records a numbered run.
 *
 * @module
 */

import { dirname, fromFileUrl, join } from "./path.ts";
import { explainChange, KEY_VERSION, type KeyComponents, KeyMemo } from "./cache_key.ts";
import { type Problem, UsageError } from "./errors.ts";
import { type Experiment, loadExperiment, type StageDef } from "./experiment/mod.ts";
import {
  localExecutor,
  type StageExecutor,
  type StageInput,
  type StageJob,
  stageRefs,
} from "./stage_executor.ts";
import { ModuleCatalog } from "./module_catalog.ts";
import { Semaphore } from "./semaphore.ts";
import { type ContentHash, FileHashMemo, hashPath } from "./hash.ts";
import { commandValue, formatValue, parseTemplate, splitRaw } from "./placeholders.ts";
import { collectEnvironment, type Environment } from "./environment.ts";
import { type HeldLock, type StageResultEntry, Store, writeFileAtomic } from "./store.ts";
import { endTree } from "./processes.ts";
import { damageMessage, InputGuard } from "./input_guard.ts";
import { KILL_GRACE_MS } from "./executor.ts";
import { recoverStaleRuns, RunFolder } from "./run_folder.ts";
import type { ProgressState, RunReport, StageReport } from "./report.ts";

export type { ProgressState };

/** Receives events while an experiment runs (the CLI prints them). */
export interface RunObserver {
  /** The stages about to be decided, in order (also for dry runs). */
  planned?(stages: string[]): void;
  /** The run folder was created. */
  runStarted?(info: { experiment: string; run: number; dir: string; stages: number }): void;
  /** A stage starts executing, with the reason. */
  stageStarted?(name: string, reason: string): void;
  /** A stage finished (any status). */
  stageFinished?(report: StageReport): void;
  /** A TypeScript stage reported progress. */
  stageProgress?(name: string, state: ProgressState): void;
  /** A TypeScript stage logged a line. */
  stageLog?(name: string, message: string): void;
  /** The runner must wait for another process. */
  waiting?(message: string): void;
  /**
   * Something is amiss but the run goes on: a validation problem that does not stop the run (a
   * `Problem`, before any stage), or a message (a corrupt store entry read as a miss).
   */
  warning?(warning: string | Problem): void;
}

/** Options of {@linkcode runExperiment}. */
export interface RunOptions {
  /** Folder holding runs and the store (`<runsDir>/.store`). */
  runsDir: string;
  /** `path=value` overrides. */
  sets?: string[];
  /** `true` forces every stage; a list forces the named stages. */
  force?: boolean | string[];
  /** Decide and report, but run nothing and write no run. */
  dryRun?: boolean;
  /** Stages run at once. @default {navigator.hardwareConcurrency} */
  jobs?: number;
  /** Built-in stage name -> module URL. */
  builtins?: Record<string, string>;
  /** Event receiver. */
  observer?: RunObserver;
  /** Aborts the run: running stages get SIGTERM, the run is marked interrupted. */
  signal?: AbortSignal;
  /** deno.json that TypeScript stages run with. @default {the ditto project's deno.json} */
  denoConfig?: string;
  /** Where stages execute (a worker fleet). @default {here, in child processes} */
  executor?: StageExecutor;
}

const TRACE = (() => {
  try {
    return Deno.env.get("DITTO_TRACE") === "1";
  } catch {
    return false;
  }
})();

/** With DITTO_TRACE=1, prints phase timings to stderr (for profiling the no-op path). */
function trace(phase: string): void {
  if (TRACE) console.error(`[trace] ${performance.now().toFixed(1)}ms ${phase}`);
}

const PROJECT_ROOT = dirname(dirname(dirname(fromFileUrl(import.meta.url))));
const DEFAULT_CONFIG = join(PROJECT_ROOT, "deno.json");

/**
 * Resolves the default folder for runs: `DITTO_RUNS`, else the project's `runs/`.
 *
 * @returns An absolute folder.
 */
export function defaultRunsDir(): string {
  return Deno.env.get("DITTO_RUNS") ?? join(PROJECT_ROOT, "runs");
}

function emptyReport(stage: StageDef): StageReport {
  const variant = stage.base === undefined ? {} : { base: stage.base, matrix: stage.matrix };
  return {
    ...variant,
    name: stage.name,
    status: "pending",
    kind: stage.kind,
    uses: stage.uses,
    key: null,
    reason: "",
    seconds: 0,
    outputs: {},
    metrics: {},
    facts: {},
    deterministic: stage.deterministic,
  };
}

function finalMetrics(text: string): Record<string, number> {
  const final: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line);
      for (const [k, v] of Object.entries(row)) {
        if (k !== "step" && typeof v === "number") final[k] = v;
      }
    } catch {
      // Skip malformed lines.
    }
  }
  return final;
}

/**
 * Runs an experiment file.
 *
 * @param file Path of the experiment YAML.
 * @param options Where runs go, overrides, forcing, parallelism, observer and abort signal.
 * @returns The run's report.
 * @throws {ExperimentError} When the experiment is invalid (nothing is written under runs/).
 * @throws {UsageError} When `--force` names an unknown stage.
 */
export async function runExperiment(file: string, options: RunOptions): Promise<RunReport> {
  const started = performance.now();
  trace("runExperiment");
  const denoConfig = options.denoConfig ?? DEFAULT_CONFIG;
  const storeRoot = join(options.runsDir, ".store");
  const memoDir = join(storeRoot, "memo");
  // Validation must not write under runs/: memos are only read until it passes.
  const catalog = new ModuleCatalog(memoDir, denoConfig);
  const experiment = await loadExperiment(file, {
    sets: options.sets,
    builtins: options.builtins,
    describe: catalog.describe,
    memoDir,
  });
  trace("experiment loaded");
  for (const warning of experiment.warnings) options.observer?.warning?.(warning);
  const forced = new Set<string>();
  if (Array.isArray(options.force)) {
    const names = experiment.stages.map((s) => s.name);
    for (const name of options.force) {
      // A declared matrix stage's name forces all its variants.
      const variants = experiment.stages.filter((s) => s.base === name).map((s) => s.name);
      if (!names.includes(name) && variants.length === 0) {
        throw new UsageError(
          `Cannot force stage "${name}": no such stage (stages: ${names.join(", ")})`,
        );
      }
      if (variants.length > 0) variants.forEach((v) => forced.add(v));
      else forced.add(name);
    }
  } else if (options.force) {
    for (const s of experiment.stages) forced.add(s.name);
  }
  const observer = options.observer;
  const store = new Store(storeRoot, {
    onWarning: observer?.warning ? (message) => observer.warning!(message) : undefined,
  });
  trace("store opened");
  experiment.saveMemo?.();
  const engine = new Engine(experiment, store, catalog, options, forced, denoConfig);
  trace("engine constructed");
  // One duration: run.json records the seconds the report carries.
  return await engine.run(started);
}

async function renderYaml(config: Record<string, unknown>, memoPath: string): Promise<string> {
  // The config is built in a fixed order, so its native JSON text identifies it.
  const id = JSON.stringify(config);
  let memo: [string, string][] = [];
  try {
    memo = JSON.parse(Deno.readTextFileSync(memoPath));
  } catch {
    // Empty.
  }
  const hit = memo.find(([k]) => k === id);
  if (hit) return hit[1];
  // A variable specifier: Deno preloads literal dynamic imports at start-up (tens of ms).
  const specifier = "yaml";
  const yaml: typeof import("yaml") = await import(specifier);
  const text = yaml.stringify(config, { lineWidth: 0 });
  memo = [...memo.slice(-7), [id, text]];
  writeFileAtomic(memoPath, JSON.stringify(memo), { sync: false });
  return text;
}

/** A stage's last attempt, kept per experiment in the store (for the next run's reasons). */
interface PrevState {
  key: string;
  components: KeyComponents;
  /** How the attempt ended when it stored no result. */
  outcome?: "failed" | "interrupted";
  /** The first line of a failed attempt's error. */
  error?: string;
}

class Engine {
  #exp: Experiment;
  #store: Store;
  #catalog: ModuleCatalog;
  #options: RunOptions;
  #forced: Set<string>;
  #denoConfig: string;
  #fileMemo: FileHashMemo;
  #keyMemo: KeyMemo;
  #reports = new Map<string, StageReport>();
  #components = new Map<string, KeyComponents>();
  #outputs = new Map<string, Record<string, ContentHash>>();
  #done = new Map<string, Promise<void>>();
  #folder?: RunFolder;
  #abort = new AbortController();
  #state: Record<string, PrevState>;

  constructor(
    exp: Experiment,
    store: Store,
    catalog: ModuleCatalog,
    options: RunOptions,
    forced: Set<string>,
    denoConfig: string,
  ) {
    this.#exp = exp;
    this.#store = store;
    this.#catalog = catalog;
    this.#options = options;
    this.#forced = forced;
    this.#denoConfig = denoConfig;
    this.#fileMemo = new FileHashMemo(store.memoPath("files.json"));
    this.#keyMemo = new KeyMemo(store.memoPath("keys.json"));
    this.#state = store.readState(exp.name) as Record<string, PrevState>;
    if (options.signal) {
      if (options.signal.aborted) this.#abort.abort();
      else options.signal.addEventListener("abort", () => this.#abort.abort(), { once: true });
    }
  }

  get #aborted(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Runs every stage; `started` is `performance.now()` when the run began. */
  async run(started: number): Promise<RunReport> {
    const exp = this.#exp;
    const dry = this.#options.dryRun ?? false;
    const env: Promise<Environment> = dry
      ? Promise.resolve({} as Environment)
      : collectEnvironment(dirname(exp.file), { gitMemo: this.#store.memoPath("git.json") });
    trace("environment started");
    for (const stage of exp.stages) this.#reports.set(stage.name, emptyReport(stage));
    this.#options.observer?.planned?.(exp.stages.map((s) => s.name));
    if (!dry) {
      trace("engine ready");
      this.#store.sweepTemp();
      recoverStaleRuns(join(this.#options.runsDir, exp.name));
      this.#folder = RunFolder.create(join(this.#options.runsDir, exp.name), {
        experiment: exp,
        stages: () => [...this.#reports.values()],
        started,
      });
      this.#options.observer?.runStarted?.({
        experiment: exp.name,
        run: this.#folder.number,
        dir: this.#folder.dir,
        stages: exp.stages.length,
      });
    }
    trace("run folder created");
    const jobs = new Semaphore(Math.max(1, this.#options.jobs ?? navigator.hardwareConcurrency));
    for (const stage of exp.stages) {
      this.#done.set(stage.name, this.#stage(stage, jobs, dry));
    }
    await Promise.all(this.#done.values());
    trace("stages done");
    const stages = exp.stages.map((s) => this.#reports.get(s.name)!);
    let status: RunReport["status"] = "succeeded";
    if (dry) status = "dry-run";
    else if (this.#aborted || stages.some((s) => s.status === "interrupted")) {
      status = "interrupted";
    } else if (stages.some((s) => s.status === "failed" || s.status === "blocked")) {
      status = "failed";
    }
    let seconds = (performance.now() - started) / 1000;
    this.#fileMemo.save();
    this.#keyMemo.save();
    this.#catalog.save();
    if (!dry) {
      const newState: Record<string, PrevState> = {};
      for (const [name, components] of this.#components) {
        const { key, status, error } = this.#reports.get(name)!;
        if (!key) continue;
        newState[name] = { key, components };
        if (status === "failed" || status === "interrupted") newState[name].outcome = status;
        if (status === "failed" && error) newState[name].error = error.split("\n")[0];
      }
      let changed = false;
      for (const [name, entry] of Object.entries(newState)) {
        const prev = this.#state[name];
        if (prev?.key !== entry.key || prev.outcome !== entry.outcome) changed = true;
        if (prev?.error !== entry.error) changed = true;
      }
      for (const [name, prev] of Object.entries(this.#state)) {
        if (!(name in newState)) newState[name] = prev;
      }
      if (changed) this.#store.writeState(exp.name, newState);
      const yamlText = await renderYaml(exp.config, this.#store.memoPath("yaml.json"));
      trace("yaml rendered");
      const environment = await env;
      trace("environment collected");
      seconds = this.#folder!.finish(
        status as "succeeded" | "failed" | "interrupted",
        environment,
        yamlText,
      );
      trace("run folder finished");
    }
    return {
      experiment: exp.name,
      run: this.#folder?.number ?? null,
      dir: this.#folder?.dir ?? null,
      status,
      stages,
      seconds,
    };
  }

  async #hashDep(path: string): Promise<string> {
    const h = await hashPath(path, { memo: this.#fileMemo });
    return `${h.type}:${h.hash}`;
  }

  /** Builds a stage's key record; undefined when an upstream output is unknown (dry run). */
  async #keyComponents(stage: StageDef): Promise<KeyComponents | undefined> {
    const deps: Record<string, string> = {};
    for (const [name, path] of Object.entries(stage.deps)) deps[name] = await this.#hashDep(path);
    const inputs: Record<string, string> = {};
    const params: Record<string, unknown> = {};
    let seed: number | undefined;
    const addRef = (ref: string): boolean => {
      const parts = ref.split(".");
      if (parts[0] === "stages") {
        const upstream = stage.upstream?.[parts[1]] ?? parts[1];
        const out = this.#outputs.get(upstream)?.[parts.slice(3).join(".")];
        if (!out) return false;
        inputs[ref] = `${out.type}:${out.hash}`;
      } else if (parts[0] === "params") {
        let value: unknown = this.#exp.params;
        for (const p of parts.slice(1)) value = (value as Record<string, unknown>)[p];
        params[ref] = value;
      } else if (parts[0] === "seed") {
        seed = this.#exp.seed;
      } else if (parts[0] === "matrix") {
        params[ref] = stage.matrix![parts[1]];
      }
      return true;
    };
    if (stage.kind === "run") {
      let quoted: true | undefined;
      for (const part of parseTemplate(stage.command!)) {
        if (!("ref" in part)) continue;
        const { ref, raw } = splitRaw(part.ref);
        if (!addRef(ref)) return undefined;
        // A value that quoting changes marks the key, so no result of the unquoted rendering
        // is served; keys whose values render as before stay as they were.
        if (
          !raw && ref in params && commandValue(params[ref], false) !== formatValue(params[ref])
        ) {
          quoted = true;
        }
      }
      return {
        v: KEY_VERSION,
        kind: "run",
        command: stage.command,
        quoted,
        params,
        seed,
        deps,
        inputs,
        outs: stage.outs,
      };
    }
    for (const ref of Object.values(stage.inputs)) {
      if (!addRef(ref)) return undefined;
    }
    const code = await this.#catalog.fingerprint(stage.module!);
    return {
      v: KEY_VERSION,
      kind: "ts",
      code,
      name: stage.name,
      params: stage.params,
      seed: this.#exp.seed,
      deps,
      inputs,
      outs: stage.outs,
      bind: stage.inputs,
    };
  }

  #whyRun(stage: StageDef, components: KeyComponents, missing: boolean): string {
    if (this.#forced.has(stage.name)) return "forced";
    const prev = this.#state[stage.name];
    if (missing) return "stored outputs missing";
    if (!prev) return "no stored result";
    const reasons = explainChange(prev.components, components);
    if (reasons.length > 0) return reasons.join("; ");
    if (prev.outcome === "failed") {
      return `no stored result (previous attempt failed${prev.error ? `: ${prev.error}` : ""})`;
    }
    if (prev.outcome === "interrupted") return "no stored result (previous attempt interrupted)";
    return "no stored result (previous attempt did not finish)";
  }

  async #stage(stage: StageDef, jobs: Semaphore, dry: boolean): Promise<void> {
    await Promise.all(stage.needs.map((n) => this.#done.get(n)));
    try {
      await this.#decide(stage, jobs, dry);
    } catch (error) {
      // An unexpected error (a full disk, a permission problem) fails this stage only.
      const report = this.#reports.get(stage.name)!;
      report.status = "failed";
      report.error = (error as Error).message;
      if (!dry) this.#folder!.stageChanged();
      this.#options.observer?.stageFinished?.(report);
    }
  }

  async #decide(stage: StageDef, jobs: Semaphore, dry: boolean): Promise<void> {
    const report = this.#reports.get(stage.name)!;
    const finish = () => {
      if (!dry) this.#folder!.stageChanged();
      this.#options.observer?.stageFinished?.(report);
    };
    const bad = stage.needs.filter((n) => {
      const s = this.#reports.get(n)!.status;
      return s === "failed" || s === "blocked" || s === "interrupted";
    });
    if (bad.length > 0) {
      const interrupted = bad.some((n) => this.#reports.get(n)!.status === "interrupted");
      report.status = interrupted ? "interrupted" : "blocked";
      report.reason = `upstream ${bad.join(", ")} ${interrupted ? "interrupted" : "failed"}`;
      return finish();
    }
    if (this.#aborted) {
      report.status = "interrupted";
      report.reason = "not started";
      return finish();
    }
    let components: KeyComponents | undefined;
    try {
      components = await this.#keyComponents(stage);
    } catch (error) {
      report.status = "failed";
      report.reason = "cannot compute key";
      report.error = `Cannot hash inputs of stage "${stage.name}": ${(error as Error).message}`;
      return finish();
    }
    if (!components) {
      const pending = stage.needs.filter((n) => this.#reports.get(n)!.status === "pending");
      report.reason = `upstream ${pending.join(", ")} will run`;
      return finish();
    }
    const key = await this.#keyMemo.key(components);
    report.key = key;
    if (components.code) report.code = components.code;
    this.#components.set(stage.name, components);
    let entry = this.#forced.has(stage.name) ? undefined : this.#store.readResult(key);
    let missing = false;
    if (entry && !dry) {
      if (this.#adopt(stage, report, entry, "cached")) return finish();
      missing = true;
      entry = undefined;
    } else if (entry && dry) {
      if (Object.values(entry.outputs).every((o) => this.#store.has(o))) {
        this.#outputs.set(stage.name, entry.outputs);
        report.status = "cached";
        report.reason = "cached";
        report.outputs = entry.outputs;
        return finish();
      }
      missing = true;
    }
    report.reason = this.#whyRun(stage, components, missing);
    if (dry) return finish();

    await jobs.acquire();
    try {
      if (this.#aborted) {
        report.status = "interrupted";
        report.reason = "not started";
        return finish();
      }
      let lock;
      try {
        lock = await this.#store.lockKey(key, {
          signal: this.#abort.signal,
          onWait: (holder) =>
            this.#options.observer?.waiting?.(
              `stage ${stage.name}: waiting for the store lock of key ${
                key.slice(0, 12)
              } held by ${holder}`,
            ),
        });
      } catch (error) {
        if (!(error instanceof DOMException && error.name === "AbortError")) throw error;
        report.status = "interrupted";
        report.reason = `${report.reason}; interrupted while waiting for the store lock`;
        return finish();
      }
      using _lock = lock;
      if (lock.orphan !== undefined) await this.#endOrphan(stage, lock.orphan);
      if (!this.#forced.has(stage.name)) {
        const fresh = this.#store.readResult(key);
        if (fresh && this.#adopt(stage, report, fresh, "cached")) {
          report.reason = "cached (computed by a concurrent runner)";
          return finish();
        }
      }
      await this.#execute(stage, report, key, lock);
      return finish();
    } finally {
      jobs.release();
    }
  }

  /** Links a stored result into the run folder; false when objects are missing. */
  #adopt(
    stage: StageDef,
    report: StageReport,
    entry: StageResultEntry,
    status: "cached" | "ran",
  ): boolean {
    try {
      this.#folder!.link(stage, entry, this.#store);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
    this.#outputs.set(stage.name, entry.outputs);
    report.status = status;
    if (status === "cached") report.reason = "cached";
    report.outputs = entry.outputs;
    report.metrics = entry.metrics?.final ?? {};
    report.facts = entry.facts ?? {};
    report.seconds = status === "cached" ? 0 : entry.seconds;
    return true;
  }

  #resolvePath(ref: string, stage: StageDef): string {
    const parts = ref.split(".");
    if (parts[0] === "deps") return stage.deps[parts[1]];
    const name = stage.upstream?.[parts[1]] ?? parts[1];
    const upstream = this.#exp.stages.find((s) => s.name === name)!;
    return this.#folder!.outputPath(upstream.name, upstream.outs[parts.slice(3).join(".")]);
  }

  /** What the executor needs to run a stage: its inputs' paths here and their hashes. */
  #job(stage: StageDef, key: string): StageJob {
    const inputs: Record<string, StageInput> = {};
    for (const ref of stageRefs(stage)) {
      const parts = ref.split(".");
      const upstream = stage.upstream?.[parts[1]] ?? parts[1];
      const content = parts[0] === "stages"
        ? this.#outputs.get(upstream)?.[parts.slice(3).join(".")]
        : undefined;
      inputs[ref] = { path: this.#resolvePath(ref, stage), content };
    }
    const code = this.#components.get(stage.name)?.code;
    const forced = this.#forced.has(stage.name) || undefined;
    return { stage, key, seed: this.#exp.seed, params: this.#exp.params, code, inputs, forced };
  }

  /**
   * Ends a stage process that a killed runner left computing this key: its result would have no
   * one to store it, and it would run beside the new one, writing into a dead runner's folder.
   */
  async #endOrphan(stage: StageDef, orphan: NonNullable<HeldLock["orphan"]>): Promise<void> {
    const how = await endTree(orphan.process.pid, KILL_GRACE_MS);
    this.#options.observer?.warning?.(
      `stage ${stage.name}: ended process ${orphan.process.pid} (${
        how === "terminated" ? "SIGTERM" : `SIGKILL after ${KILL_GRACE_MS / 1000} s`
      }), left computing the same key by a runner that was killed (${orphan.runner}); computing it again`,
    );
  }

  async #execute(stage: StageDef, report: StageReport, key: string, lock: HeldLock): Promise<void> {
    const observer = this.#options.observer;
    observer?.stageStarted?.(stage.name, report.reason);
    const t0 = performance.now();
    const tmp = this.#store.makeTempDir();
    try {
      const workDir = join(tmp.dir, "work");
      Deno.mkdirSync(workDir);
      const logFile = join(tmp.dir, "log.txt");
      const metricsFile = join(tmp.dir, "metrics.jsonl");
      const executor = this.#options.executor ?? localExecutor;
      const job = this.#job(stage, key);
      const guard = new InputGuard(
        this.#store,
        Object.entries(job.inputs).flatMap(([ref, input]) =>
          input.content !== undefined ? [{ ref, path: input.path, content: input.content }] : []
        ),
      );
      let outcome;
      try {
        outcome = await executor.execute(job, {
          workDir,
          logFile,
          metricsFile,
          // Only TypeScript stages keep checkpoints: no empty folder for the others.
          checkpointDir: stage.kind === "ts" ? this.#store.checkpointDir(key) : "",
          denoConfig: this.#denoConfig,
          signal: this.#abort.signal,
          hooks: {
            spawned: (pid) => lock.recordProcess(pid),
            log: (message) => observer?.stageLog?.(stage.name, message),
            progress: (state) => {
              report.progress = state;
              this.#folder!.stageChanged();
              observer?.stageProgress?.(stage.name, state);
            },
          },
        });
      } finally {
        delete report.progress; // it belongs to the running stage only
      }
      report.seconds = (performance.now() - t0) / 1000;
      report.facts = outcome.facts;
      const damaged = await guard.check();
      if (damaged.length > 0) {
        report.status = "failed";
        report.error = damageMessage(stage.name, damaged);
        this.#folder!.keepLog(stage.name, logFile);
        return;
      }
      if (outcome.status !== "ok") {
        report.status = outcome.status === "interrupted" ? "interrupted" : "failed";
        if (outcome.error) report.error = outcome.error;
        this.#folder!.keepLog(stage.name, logFile);
        return;
      }
      const missing = Object.entries(stage.outs).filter(([, path]) => {
        try {
          Deno.lstatSync(join(workDir, path));
          return false;
        } catch {
          return true;
        }
      });
      if (missing.length > 0) {
        report.status = "failed";
        report.error = `Cannot store outputs: the stage did not create ${
          missing.map(([n, p]) => `${n} (${p})`).join(", ")
        }`;
        this.#folder!.keepLog(stage.name, logFile);
        return;
      }
      const outputs: Record<string, ContentHash> = {};
      for (const [name, path] of Object.entries(stage.outs)) {
        outputs[name] = await this.#store.ingest(join(workDir, path));
      }
      const entry: StageResultEntry = {
        key,
        stage: stage.name,
        outputs,
        facts: outcome.facts,
        seconds: report.seconds,
        created: new Date().toISOString(),
      };
      const metricsText = (() => {
        try {
          return Deno.readTextFileSync(metricsFile);
        } catch {
          return "";
        }
      })();
      if (metricsText) {
        const h = await this.#store.ingest(metricsFile);
        entry.metrics = { hash: h.hash, final: finalMetrics(metricsText) };
      }
      // Empty logs are not stored: most shell stages print nothing.
      if (Deno.statSync(logFile).size > 0) entry.log = (await this.#store.ingest(logFile)).hash;
      this.#store.writeResult(entry);
      this.#store.dropCheckpoints(key);
      this.#adopt(stage, report, entry, "ran");
      report.seconds = (performance.now() - t0) / 1000;
    } catch (error) {
      report.status = "failed";
      report.error = (error as Error).message;
    } finally {
      tmp.dispose();
    }
  }
}
