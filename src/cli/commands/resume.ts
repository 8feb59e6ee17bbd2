/**
 * `deno task resume <run>`: continue a named run with its recorded parameters; finished stages
 * are cached and interrupted TypeScript stages continue from their checkpoints.
 *
 * @module
 */

import { intFlag, parseCommand, print } from "./common.ts";
import { UsageError } from "../../runner/mod.ts";
import { builtinStages } from "../../stages/mod.ts";
import { HumanReporter } from "../reporter.ts";
import { resumeRun } from "../../runs/resume.ts";
import { loadRun } from "../../runs/run_data.ts";

/** Usage of `resume`. */
export const RESUME_USAGE = `  deno task resume <run> [--jobs N] [--runs DIR] [--json]
      continue a run with its recorded parameters (a new run that says which run it resumed)`;

const EXIT_INTERRUPTED = 130;

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
  const run = loadRun(runsDir, positionals[0]);
  const reporter = new HumanReporter({ stream: json ? Deno.stderr : Deno.stdout });
  reporter.line(`Resuming ${run.name} (${run.record.status}) with its recorded parameters`);
  const controller = new AbortController();
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) Deno.exit(EXIT_INTERRUPTED);
    reporter.line("Interrupting: stopping running stages (again to quit at once)");
    controller.abort();
  };
  const installed: Deno.Signal[] = [];
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(sig, onSignal);
      installed.push(sig);
    } catch {
      // SIGTERM is not available on Windows.
    }
  }
  try {
    const report = await resumeRun(run, {
      runsDir,
      jobs,
      builtins: builtinStages,
      observer: reporter,
      signal: controller.signal,
    });
    reporter.finish(report);
    if (json) {
      print(JSON.stringify({
        experiment: report.experiment,
        run: report.run,
        dir: report.dir,
        status: report.status,
        resumed_from: run.name,
        stages: report.stages.map((s) => ({
          name: s.name,
          status: s.status,
          key: s.key,
          reason: s.reason,
          seconds: s.seconds,
          outputs: Object.fromEntries(
            Object.entries(s.outputs).map(([k, o]) => [k, { hash: o.hash, bytes: o.bytes }]),
          ),
        })),
      }));
    }
    if (report.status === "interrupted") return EXIT_INTERRUPTED;
    return report.status === "failed" ? 1 : 0;
  } finally {
    for (const sig of installed) Deno.removeSignalListener(sig, onSignal);
  }
}
