/**
 * `deno task resume <run>`: continue a named run with its recorded parameters; finished stages
 * are cached and interrupted TypeScript stages continue from their checkpoints.
 *
 * @module
 */

import {
  consoleToStderr,
  intFlag,
  jsonReport,
  parseCommand,
  print,
  runExitCode,
  withInterrupts,
} from "./common.ts";
import { loadRun, recoverStaleRunsFor, UsageError } from "../../runner/mod.ts";
import { builtinStages } from "../../stages/mod.ts";
import { HumanReporter } from "../reporter.ts";
import { resumeRun } from "../../runs/resume.ts";

/** Usage of `resume`. */
export const USAGE = `  deno task resume <run> [--jobs N] [--runs DIR] [--json]
      continue a run with its recorded parameters (a new run that says which run it resumed)`;

/**
 * Runs `resume`.
 *
 * @param args Arguments after `resume`.
 * @returns 0 success, 1 a stage failed, 130 interrupted.
 */
export async function commandResume(args: string[]): Promise<number> {
  const { values, positionals, runsDir, json } = parseCommand(args, { jobs: { type: "string" } });
  if (positionals.length !== 1) {
    throw new UsageError(`Cannot resume: expected one run, got ${positionals.length}`);
  }
  const jobs = intFlag("jobs", values.jobs);
  if (jobs === 0) throw new UsageError("Cannot use --jobs 0: expected a positive integer");
  if (json) consoleToStderr();
  // A killed run reads `interrupted` (and says so below) once its stale marker is recovered.
  recoverStaleRunsFor(runsDir, positionals);
  const run = loadRun(runsDir, positionals[0]);
  const reporter = new HumanReporter({ stream: json ? Deno.stderr : Deno.stdout });
  reporter.line(`Resuming ${run.name} (${run.record.status}) with its recorded parameters`);
  return await withInterrupts((line) => reporter.line(line), async (signal) => {
    const report = await resumeRun(run, {
      runsDir,
      jobs,
      builtins: builtinStages,
      observer: reporter,
      signal,
    });
    reporter.finish(report);
    if (json) print(JSON.stringify(jsonReport(report, { resumed_from: run.name })));
    return runExitCode(report);
  });
}
