/**
 * `deno task run <file.yaml>`: run an experiment as a new numbered run; with `--verify`,
 * compare every stage with the file's `lock:` section.
 *
 * @module
 */

import { runExperiment, UsageError } from "../../runner/mod.ts";
import { builtinStages } from "../../stages/mod.ts";
import { HumanReporter } from "../reporter.ts";
import {
  type CommandContext,
  consoleToStderr,
  jsonReport,
  parseCommand,
  print,
  runExitCode,
  userPath,
  withInterrupts,
} from "./common.ts";
import { FLEET_FLAGS, fleetTarget } from "./worker.ts";

/** Usage of `run`. */
export const USAGE =
  `  deno task run <file.yaml> [options]    run an experiment (a new numbered run)
      --set path=value   override a value, e.g. --set params.n=5 (repeatable)
      --force [stage]    rerun every stage, or only the named one (repeatable; the name of
                         a stage with matrix: reruns all its variants)
      --dry-run          say what would run and why; run nothing
      --jobs N           stages run at once (default: number of cores)
      --runs DIR         runs and store folder (default: $DITTO_RUNS or <project>/runs)
      --json             print one JSON object with the result to stdout
      --verify           rerun every stage and compare keys and outputs with the file's lock:
      --queue URL        run the stages on a worker fleet (redis://HOST:PORT[/DB], or
                         $DITTO_QUEUE; see \`worker\`), exchanging data through
      --remote R         a folder or s3://bucket/prefix the workers share ($DITTO_REMOTE)`;

// Loaded on demand through a variable specifier: the run path stays free of the run tools'
// imports (Deno preloads literal dynamic imports at start-up, tens of milliseconds).
const LOCK_TOOLS = new URL("../../runs/lock.ts", import.meta.url).href;
type LockTools = typeof import("../../runs/lock.ts");
const FLEET = new URL("../../fleet/mod.ts", import.meta.url).href;
type FleetModule = typeof import("../../fleet/mod.ts");

/** Splits `--force [stage]` (optional value) into `--force-all` or `--force=<stage>`. */
function normalizeForce(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg !== "--force") {
      out.push(arg);
      continue;
    }
    const next = args[i + 1];
    if (next !== undefined && !next.startsWith("-") && !/\.ya?ml$/i.test(next)) {
      out.push(`--force=${next}`);
      i++;
    } else {
      out.push("--force-all");
    }
  }
  return out;
}

/**
 * Runs `run`.
 *
 * @param args Arguments after `run`.
 * @param context The usage text for usage errors.
 * @returns 0 success, 1 a stage failed (or `--verify` found a difference), 130 interrupted.
 */
export async function commandRun(args: string[], context: CommandContext): Promise<number> {
  const { values, positionals, runsDir, json } = parseCommand(normalizeForce(args), {
    set: { type: "string", multiple: true },
    force: { type: "string", multiple: true },
    "force-all": { type: "boolean" },
    "dry-run": { type: "boolean" },
    verify: { type: "boolean" },
    jobs: { type: "string" },
    help: { type: "boolean", short: "h" },
    ...FLEET_FLAGS,
  });
  if (values.help) {
    print(await context.usage());
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `Cannot run: expected one experiment file, got ${positionals.length}\n${await context
        .usage()}`,
    );
  }
  let jobs: number | undefined;
  if (values.jobs !== undefined) {
    jobs = Number(values.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) {
      throw new UsageError(`Cannot use --jobs ${values.jobs}: expected a positive integer`);
    }
  }
  if (json) consoleToStderr();
  const file = userPath(positionals[0]);
  const fleet = fleetTarget(values, false);
  // --verify re-executes every stage (unless --force names some) and compares with `lock:`.
  const lockTools: LockTools | undefined = values.verify ? await import(LOCK_TOOLS) : undefined;
  const lock = lockTools ? await lockTools.readLockOrFail(file) : undefined;
  const reporter = new HumanReporter({ stream: json ? Deno.stderr : Deno.stdout });
  const force = values["force-all"] ? true : values.force as string[] | undefined;
  return await withInterrupts((line) => reporter.line(line), async (signal) => {
    // Loaded only with --queue: a local run never loads BullMQ.
    const executor = fleet
      ? new (await import(FLEET) as FleetModule).FleetExecutor({
        ...fleet,
        runsDir,
        onWaiting: (message) => reporter.waiting(message),
      })
      : undefined;
    try {
      const report = await runExperiment(file, {
        executor,
        runsDir,
        sets: values.set as string[] | undefined,
        force: force ?? (lock ? true : undefined),
        dryRun: values["dry-run"] === true,
        // Stages in flight are bounded by the fleet, not by this machine's cores.
        jobs: jobs ?? (executor ? 64 : undefined),
        builtins: builtinStages,
        observer: reporter,
        signal,
      });
      reporter.finish(report);
      const verification = lock && report.status !== "dry-run"
        ? await lockTools!.verifyAgainstLock(lock, report, { file })
        : undefined;
      if (verification && !json) print(lockTools!.formatVerification(verification));
      if (json) print(JSON.stringify({ ...jsonReport(report), verify: verification }));
      if (verification && !verification.ok && report.status === "succeeded") return 1;
      return runExitCode(report);
    } finally {
      await executor?.[Symbol.asyncDispose]();
    }
  });
}
