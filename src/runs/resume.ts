/**
 * Resuming a named run: the same resolved experiment (its recorded parameters, whatever the
 * YAML says now), so finished stages are cache hits and an interrupted TypeScript stage
 * continues from its last checkpoint (checkpoints are kept per cache key).
 *
 * @module
 */

import { join } from "node:path";
import {
  type LoadedRun,
  runExperiment,
  type RunOptions,
  type RunReport,
  UsageError,
} from "../runner/mod.ts";
import { writeFileAtomic } from "../runner/store.ts";
import { lockHeld } from "../runner/run_folder.ts";

/** Where a resumed run records its origin in `run.json`. */
export interface ResumedFrom {
  /** `<experiment>/<NNNN>` of the resumed run. */
  run: string;
  /** Its folder. */
  dir: string;
  /** Its status when it was resumed. */
  status: string;
}

/**
 * Writes the run's resolved experiment as `config.yaml` in its folder when the run was killed
 * before writing it, and returns its path.
 */
async function configFile(run: LoadedRun): Promise<string> {
  const path = join(run.dir, "config.yaml");
  try {
    Deno.statSync(path);
    return path;
  } catch {
    // Killed runs have no config.yaml yet: their run.json holds the same resolved experiment.
  }
  const yaml = await import("yaml");
  const text = yaml.stringify(run.record.config, { lineWidth: 0, aliasDuplicateObjects: false });
  writeFileAtomic(path, text, { sync: false });
  return path;
}

/**
 * Continues a run: runs its recorded, resolved experiment as a new run and records in the new
 * `run.json` which run it resumed (`resumed_from`).
 *
 * @param run The run to resume (read after `recoverStaleRunsFor`, so a killed run reads
 *   `interrupted`).
 * @param options Runner options (runs folder, observer, signal, jobs, builtins).
 * @returns The new run's report.
 * @throws {UsageError} When the run is still running.
 */
export async function resumeRun(run: LoadedRun, options: RunOptions): Promise<RunReport> {
  if (lockHeld(join(run.dir, ".lock"))) {
    throw new UsageError(
      `Cannot resume ${run.name}: it is still running (pid ${run.record.pid} on ${run.record.host})`,
    );
  }
  const file = await configFile(run);
  const report = await runExperiment(file, options);
  if (report.dir) {
    const path = join(report.dir, "run.json");
    const record = JSON.parse(Deno.readTextFileSync(path));
    const from: ResumedFrom = { run: run.name, dir: run.dir, status: run.record.status };
    record.resumed_from = from;
    writeFileAtomic(path, JSON.stringify(record, null, 2) + "\n", { sync: false });
  }
  return report;
}
