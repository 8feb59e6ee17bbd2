/**
 * Numbered run folders: `runs/<experiment>/<NNNN>/` with `run.json`, `config.yaml`,
 * `metrics/<stage>.jsonl`, `logs/<stage>.log` and one folder per stage linking its outputs;
 * `runs/<experiment>/latest` points to the newest run.
 *
 * A running run holds a flock on its `.lock` and has a marker in `.active/`; a marker whose
 * lock is free belongs to a killed runner, and the next run marks that run `interrupted`.
 *
 * @module
 */

import { dirname, join } from "./path.ts";
import type { Environment } from "./environment.ts";
import type { Experiment, StageDef } from "./experiment/mod.ts";
import { RUN_NUMBER, runId, type RunRecord, type StageReport } from "./report.ts";
import type { StageResultEntry, Store } from "./store.ts";
import { writeFileAtomic } from "./store.ts";
import { experimentNames, referencedExperimentDir } from "./runs.ts";

/** Options of {@linkcode RunFolder.create}. */
export interface RunFolderOptions {
  /** The experiment being run. */
  experiment: Experiment;
  /** Current stage reports (read when `run.json` is rewritten). */
  stages: () => StageReport[];
  /** `performance.now()` when the runner started the run: `seconds` counts from there. */
  started?: number;
}

const WRITE_EVERY_MS = 1000;

/** The file in `runs/<experiment>/` holding the highest run number handed out. */
const LAST_RUN = ".last_run";

/**
 * Creates the next run's folder and returns its number. A number is never handed out twice, even
 * after its folder was deleted by hand: `.last_run` keeps the highest one given, read and
 * written under its flock (concurrent runners).
 */
function allocateRun(expDir: string): number {
  const counterPath = join(expDir, LAST_RUN);
  const counter = Deno.openSync(counterPath, { read: true, write: true, create: true });
  try {
    counter.lockSync(true);
    let next = (Number(Deno.readTextFileSync(counterPath).trim()) || 0) + 1;
    for (const entry of Deno.readDirSync(expDir)) {
      if (entry.isDirectory && RUN_NUMBER.test(entry.name)) {
        next = Math.max(next, Number(entry.name) + 1);
      }
    }
    while (true) {
      try {
        Deno.mkdirSync(join(expDir, runId(next)));
        break;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        next++;
      }
    }
    // In place, not renamed: the flock belongs to this file.
    Deno.writeTextFileSync(counterPath, `${next}\n`);
    return next;
  } finally {
    counter.close();
  }
}

/** One run folder being written by this process. */
export class RunFolder {
  /** Run number. */
  readonly number: number;
  /** Absolute folder. */
  readonly dir: string;
  #expDir: string;
  #record: RunRecord;
  #stages: () => StageReport[];
  #lock: Deno.FsFile;
  #lastWrite = 0;
  #pending?: ReturnType<typeof setTimeout>;
  #started: number;
  #madeDirs = new Set<string>();

  private constructor(
    expDir: string,
    number: number,
    lock: Deno.FsFile,
    options: RunFolderOptions,
  ) {
    this.#expDir = expDir;
    this.number = number;
    this.dir = join(expDir, runId(number));
    this.#lock = lock;
    this.#stages = options.stages;
    this.#started = options.started ?? performance.now();
    this.#record = {
      experiment: options.experiment.name,
      run: number,
      status: "running",
      started: new Date().toISOString(),
      finished: null,
      seconds: 0,
      file: options.experiment.file,
      pid: Deno.pid,
      host: Deno.hostname(),
      environment: null,
      config: options.experiment.config,
      stages: [],
    };
  }

  /**
   * Allocates the next run number and creates its folder (safe against concurrent runners).
   *
   * @param expDir `runs/<experiment>`.
   * @param options The experiment and a reader of stage reports.
   * @returns The run folder, locked by this process.
   */
  static create(expDir: string, options: RunFolderOptions): RunFolder {
    Deno.mkdirSync(join(expDir, ".active"), { recursive: true });
    const next = allocateRun(expDir);
    const dir = join(expDir, runId(next));
    const lock = Deno.openSync(join(dir, ".lock"), { write: true, create: true });
    lock.lockSync(true);
    Deno.writeTextFileSync(join(expDir, ".active", runId(next)), `${Deno.pid}\n`);
    const folder = new RunFolder(expDir, next, lock, options);
    Deno.mkdirSync(join(dir, "metrics"));
    Deno.mkdirSync(join(dir, "logs"));
    folder.#write();
    return folder;
  }

  /** Where output `relPath` of `stage` lives in this run. */
  outputPath(stage: string, relPath: string): string {
    return join(this.dir, stage, relPath);
  }

  #mkdir(dir: string): void {
    if (this.#madeDirs.has(dir)) return;
    Deno.mkdirSync(dir, { recursive: true });
    this.#madeDirs.add(dir);
  }

  /**
   * Links a stored result's outputs, metrics and log into this run.
   *
   * @throws {Deno.errors.NotFound} When an object is missing from the store.
   */
  link(stage: StageDef, entry: StageResultEntry, store: Store): void {
    for (const [name, content] of Object.entries(entry.outputs)) {
      const rel = stage.outs[name];
      if (rel === undefined) continue;
      const dest = this.outputPath(stage.name, rel);
      this.#mkdir(dirname(dest));
      store.materialize(content, dest);
    }
    if (entry.metrics) {
      store.materialize(
        { type: "file", hash: entry.metrics.hash, bytes: 0 },
        join(this.dir, "metrics", `${stage.name}.jsonl`),
      );
    }
    if (entry.log) {
      try {
        store.materialize(
          { type: "file", hash: entry.log, bytes: 0 },
          join(this.dir, "logs", `${stage.name}.log`),
        );
      } catch {
        // A missing log does not invalidate a result.
      }
    }
  }

  /** Keeps the log of a stage that failed or was interrupted. */
  keepLog(stage: string, logFile: string): void {
    try {
      Deno.copyFileSync(logFile, join(this.dir, "logs", `${stage}.log`));
    } catch {
      // No log.
    }
  }

  /**
   * Rewrites `run.json` at most once a second while the run goes on; a change inside that second
   * is written when it ends, so the file never lags the run by more than a second.
   */
  stageChanged(): void {
    const wait = WRITE_EVERY_MS - (performance.now() - this.#lastWrite);
    if (wait <= 0) this.#write();
    else this.#pending ??= setTimeout(() => this.#write(), wait);
  }

  #write(): void {
    clearTimeout(this.#pending);
    this.#pending = undefined;
    this.#record.stages = this.#stages();
    this.#record.seconds = (performance.now() - this.#started) / 1000;
    writeFileAtomic(join(this.dir, "run.json"), JSON.stringify(this.#record, null, 2) + "\n", {
      sync: false,
    });
    this.#lastWrite = performance.now();
  }

  /**
   * Writes the final `run.json` and `config.yaml`, points `latest` here and releases the lock.
   *
   * @param status The run's status.
   * @param environment The collected environment.
   * @param configYaml The resolved experiment as YAML text.
   * @returns The run's seconds, as recorded.
   */
  finish(
    status: RunRecord["status"],
    environment: Environment,
    configYaml: string,
  ): number {
    this.#record.status = status;
    this.#record.finished = new Date().toISOString();
    this.#record.environment = environment;
    writeFileAtomic(join(this.dir, "config.yaml"), configYaml, { sync: false });
    this.#write();
    const latest = join(this.#expDir, "latest");
    const tmp = `${latest}.${Deno.pid}.tmp`;
    try {
      try {
        Deno.removeSync(tmp);
      } catch {
        // No leftover.
      }
      Deno.symlinkSync(runId(this.number), tmp);
      Deno.renameSync(tmp, latest);
    } catch {
      // Symlinks may be unavailable (Windows): fall back to a file naming the run.
      writeFileAtomic(latest, runId(this.number) + "\n", { sync: false });
    }
    try {
      Deno.removeSync(join(this.#expDir, ".active", runId(this.number)));
    } catch {
      // Already gone.
    }
    this.#lock.close();
    return this.#record.seconds;
  }
}

/**
 * Marks runs of dead runners (marker present, lock free) as interrupted.
 *
 * @param expDir `runs/<experiment>`.
 * @returns The run numbers that were marked.
 */
export function recoverStaleRuns(expDir: string): number[] {
  const marked: number[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(join(expDir, ".active"))];
  } catch {
    return marked;
  }
  for (const entry of entries) {
    if (!RUN_NUMBER.test(entry.name)) continue;
    const dir = join(expDir, entry.name);
    let lock: Deno.FsFile | undefined;
    try {
      lock = Deno.openSync(join(dir, ".lock"), { read: true, write: true });
      if (!lock.tryLockSync(true)) continue;
      const path = join(dir, "run.json");
      const record = JSON.parse(Deno.readTextFileSync(path)) as RunRecord;
      if (record.status === "running") {
        record.status = "interrupted";
        record.finished = new Date().toISOString();
        for (const stage of record.stages) {
          if (stage.status === "pending") {
            stage.status = "interrupted";
            stage.reason = stage.reason
              ? `${stage.reason}; runner was killed`
              : "runner was killed";
          }
        }
        writeFileAtomic(path, JSON.stringify(record, null, 2) + "\n");
        marked.push(Number(entry.name));
      }
    } catch {
      // A half-created run without run.json: nothing to mark.
    } finally {
      lock?.close();
    }
    try {
      Deno.removeSync(join(expDir, ".active", entry.name));
    } catch {
      // Another runner recovered it first.
    }
  }
  return marked;
}

/**
 * Stale-run recovery before a command reads runs: {@linkcode recoverStaleRuns} on the
 * experiment folders that `refs` point into, or on every experiment without `refs`. Reading
 * runs never writes; the commands that show run statuses take this step first, so a killed
 * run reads `interrupted`, not `running`.
 *
 * @param runsDir The runs folder.
 * @param refs Run references (`smoke`, `smoke/3`, a run folder) or experiment names.
 */
export function recoverStaleRunsFor(runsDir: string, refs?: string[]): void {
  const dirs = refs === undefined
    ? experimentNames(runsDir).map((name) => join(runsDir, name))
    : refs.map((ref) => referencedExperimentDir(runsDir, ref));
  for (const dir of new Set(dirs)) if (dir !== undefined) recoverStaleRuns(dir);
}

/**
 * Whether a runner holds the flock on a lock file (a run's `.lock`, a key's lock): the lock
 * dies with its process, so a held lock means a live runner.
 *
 * @param path The lock file.
 * @returns False when the file is missing or nobody holds it.
 */
export function lockHeld(path: string): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: true });
  } catch {
    return false;
  }
  try {
    return !file.tryLockSync(true);
  } finally {
    file.close();
  }
}
