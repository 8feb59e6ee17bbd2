/**
 * Reading what a recorded run holds, for the run tools: step-wise metrics, the store it uses,
 * and the pair of runs `diff` compares. One run is read with `loadRun` of the runner.
 *
 * @module
 */

import { join } from "node:path";
import { listRuns, type LoadedRun, loadRun, UsageError } from "../runner/mod.ts";

// The run tools name a loaded run by this type; reading runs lives in the runner.
export type { LoadedRun };

/** One step-wise series: metric name -> (step, value) pairs in file order. */
export type MetricSeries = Record<string, [number, number][]>;

/**
 * Resolves the two runs of `diff`: two references, one experiment (its two newest runs), or
 * one run (it and the run before it).
 *
 * @param runsDir The runs folder.
 * @param refs One or two references.
 * @returns The older and the newer run, in the order given.
 * @throws {UsageError} When the references do not name two runs.
 */
export function resolvePair(runsDir: string, refs: string[]): [LoadedRun, LoadedRun] {
  if (refs.length === 2) return [loadRun(runsDir, refs[0]), loadRun(runsDir, refs[1])];
  if (refs.length !== 1) {
    throw new UsageError(`Cannot diff: expected one experiment or two runs, got ${refs.length}`);
  }
  const ref = refs[0];
  const [experiment, which] = ref.split("/");
  if (which === undefined && !ref.startsWith(".") && !ref.startsWith("/")) {
    // The two newest runs that can be read: a damaged one (`runs` lists it) has nothing to compare.
    const runs = listRuns(runsDir, experiment).filter((r) => r.status !== "damaged");
    if (runs.length < 2) {
      throw new UsageError(
        `Cannot diff "${experiment}": it has ${runs.length} run(s), two are needed`,
      );
    }
    const [a, b] = runs.slice(-2);
    return [loadRun(runsDir, a.dir), loadRun(runsDir, b.dir)];
  }
  const newer = loadRun(runsDir, ref);
  const older = listRuns(runsDir, newer.record.experiment)
    .filter((r) => r.run < newer.record.run && r.status !== "damaged").at(-1);
  if (!older) throw new UsageError(`Cannot diff "${ref}": no earlier run to compare with`);
  return [loadRun(runsDir, older.dir), newer];
}

/**
 * Reads a stage's step-wise metrics from `metrics/<stage>.jsonl`.
 *
 * @param run The run (its folder).
 * @param stage The stage name.
 * @returns Series per metric; empty when the stage logged none.
 */
export function readMetrics(run: { dir: string }, stage: string): MetricSeries {
  let text: string;
  try {
    text = Deno.readTextFileSync(join(run.dir, "metrics", `${stage}.jsonl`));
  } catch {
    return {};
  }
  return parseMetricLines(text);
}

/**
 * Step-wise series of metrics JSON lines (a whole file or one page of it): metric -> [step,
 * value] pairs. A row without `step` takes its index, counted from `firstIndex`; lines that are
 * not JSON and values that are not finite numbers are skipped.
 *
 * @param text JSON lines.
 * @param firstIndex The index of the first line (for a page that starts later in the file).
 * @returns Series per metric.
 */
export function parseMetricLines(text: string, firstIndex = 0): MetricSeries {
  const series: MetricSeries = {};
  let index = firstIndex;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch {
      continue;
    }
    const step = typeof row.step === "number" ? row.step : index;
    index++;
    for (const [name, value] of Object.entries(row)) {
      if (name === "step" || typeof value !== "number" || !Number.isFinite(value)) continue;
      (series[name] ??= []).push([step, value]);
    }
  }
  return series;
}

/** The store folder of a runs folder. */
export function storeRoot(runsDir: string): string {
  return join(runsDir, ".store");
}
