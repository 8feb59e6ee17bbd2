/**
 * The ditto command line: flags -> options -> engine. One top-level catch sets the exit code:
 * 0 success, 1 a stage failed, 2 invalid experiment or usage, 130 interrupted.
 *
 * ```sh
 * deno task run <file.yaml> [--set path=value]... [--force [stage]] [--dry-run] [--jobs N]
 *                           [--runs DIR] [--json]
 * deno task runs [experiment] [--runs DIR] [--json]
 * deno task show <run> [--runs DIR] [--json]
 * ```
 *
 * @module
 */

import { parseArgs } from "./args.ts";
import { resolve } from "../runner/path.ts";
import {
  defaultRunsDir,
  ExperimentError,
  listRuns,
  readRun,
  runExperiment,
  type RunReport,
  UsageError,
} from "../runner/mod.ts";
import { builtinStages } from "../stages/mod.ts";
import { HumanReporter } from "./reporter.ts";

const USAGE = `Usage:
  deno task run <file.yaml> [options]    run an experiment (a new numbered run)
      --set path=value   override a value, e.g. --set params.n=5 (repeatable)
      --force [stage]    rerun every stage, or only the named one (repeatable; the name of
                         a stage with matrix: reruns all its variants)
      --dry-run          say what would run and why; run nothing
      --jobs N           stages run at once (default: number of cores)
      --runs DIR         runs and store folder (default: $DITTO_RUNS or <project>/runs)
      --json             print one JSON object with the result to stdout
      --verify           rerun every stage and compare keys and outputs with the file's lock:
  deno task runs [experiment] [--runs DIR] [--json]    list runs
  deno task show <run> [--runs DIR] [--json]           one run's summary
      <run> is <experiment> (latest), <experiment>/<n>, or a run folder
  deno task ui [--port 8080] [--host 127.0.0.1] [--runs DIR]   browse runs (read-only web UI)
  deno task report <run> [-o report.html] [--runs DIR]         one self-contained HTML page
{TOOLS}

Exit codes: 0 success, 1 a stage failed, 2 invalid experiment or usage, 130 interrupted.`;

// The run tools load on demand through variable specifiers: Deno preloads literal dynamic
// imports at start-up, which would cost `run` tens of milliseconds.
const COMMANDS = new URL("./commands/mod.ts", import.meta.url).href;
const LOCK_TOOLS = new URL("../runs/lock.ts", import.meta.url).href;
type Commands = typeof import("./commands/mod.ts");
type LockTools = typeof import("../runs/lock.ts");

/** The usage text with the run tools' lines (loaded on demand, they are not needed to run). */
async function fullUsage(): Promise<string> {
  try {
    const { TOOLS_USAGE }: Commands = await import(COMMANDS);
    return USAGE.replace("{TOOLS}", TOOLS_USAGE);
  } catch {
    return USAGE.replace("{TOOLS}\n", "");
  }
}

/** Exit code for an interrupted run. */
const EXIT_INTERRUPTED = 130;

/** The user's working directory: `deno task` runs in the project root and sets INIT_CWD. */
function userPath(path: string): string {
  return resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), path);
}

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

function print(text: string, toStderr = false): void {
  const bytes = new TextEncoder().encode(text + "\n");
  const stream = toStderr ? Deno.stderr : Deno.stdout;
  let off = 0;
  while (off < bytes.length) off += stream.writeSync(bytes.subarray(off));
}

function jsonReport(report: RunReport): unknown {
  return {
    experiment: report.experiment,
    run: report.run,
    dir: report.dir,
    status: report.status,
    stages: report.stages.map((s) => ({
      name: s.name,
      status: s.status,
      key: s.key,
      reason: s.reason,
      seconds: s.seconds,
      outputs: Object.fromEntries(
        Object.entries(s.outputs).map(([k, o]) => [k, { hash: o.hash, bytes: o.bytes }]),
      ),
      ...(s.base === undefined ? {} : { base: s.base, matrix: s.matrix }),
    })),
  };
}

async function commandRun(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: normalizeForce(args),
    allowPositionals: true,
    strict: true,
    options: {
      set: { type: "string", multiple: true },
      force: { type: "string", multiple: true },
      "force-all": { type: "boolean" },
      "dry-run": { type: "boolean" },
      verify: { type: "boolean" },
      jobs: { type: "string" },
      runs: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    print(await fullUsage());
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      `Cannot run: expected one experiment file, got ${positionals.length}\n${await fullUsage()}`,
    );
  }
  let jobs: number | undefined;
  if (values.jobs !== undefined) {
    jobs = Number(values.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) {
      throw new UsageError(`Cannot use --jobs ${values.jobs}: expected a positive integer`);
    }
  }
  const json = values.json ?? false;
  if (json) {
    // stdout carries exactly one JSON object: stage modules imported to read their
    // declarations must not print there (ditto's own output uses print()).
    console.log = console.info = console.debug = console.error;
  }
  const file = userPath(positionals[0]);
  // --verify re-executes every stage (unless --force names some) and compares with `lock:`.
  // Loaded on demand: the run path stays free of the run tools' imports (start-up time).
  const lockTools: LockTools | undefined = values.verify ? await import(LOCK_TOOLS) : undefined;
  const lock = lockTools ? await lockTools.readLockOrFail(file) : undefined;
  const reporter = new HumanReporter({ stream: json ? Deno.stderr : Deno.stdout });
  const controller = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals > 1) Deno.exit(EXIT_INTERRUPTED);
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
    const report = await runExperiment(userPath(positionals[0]), {
      runsDir: values.runs ? userPath(values.runs) : defaultRunsDir(),
      sets: values.set,
      force: values["force-all"] ? true : values.force ?? (lock ? true : undefined),
      dryRun: values["dry-run"],
      jobs,
      builtins: builtinStages,
      observer: reporter,
      signal: controller.signal,
    });
    reporter.finish(report);
    const verification = lock && report.status !== "dry-run"
      ? await lockTools!.verifyAgainstLock(lock, report, { file })
      : undefined;
    if (verification && !json) print(lockTools!.formatVerification(verification));
    if (json) print(JSON.stringify({ ...(jsonReport(report) as object), verify: verification }));
    if (verification && !verification.ok && report.status === "succeeded") return 1;
    if (report.status === "interrupted") return EXIT_INTERRUPTED;
    return report.status === "failed" ? 1 : 0;
  } catch (error) {
    if (json && (error instanceof ExperimentError || error instanceof UsageError)) {
      const errors = error instanceof ExperimentError
        ? error.problems.map((p) => ({
          ...p.location,
          key: p.key,
          message: p.message,
          hint: p.hint,
        }))
        : [{ message: error.message }];
      print(JSON.stringify({
        experiment: null,
        run: null,
        dir: null,
        status: "invalid",
        stages: [],
        errors,
      }));
    }
    throw error;
  } finally {
    for (const sig of installed) Deno.removeSignalListener(sig, onSignal);
  }
}

function commandRuns(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { runs: { type: "string" }, json: { type: "boolean" } },
  });
  const runsDir = values.runs ? userPath(values.runs) : defaultRunsDir();
  const runs = listRuns(runsDir, positionals[0]);
  if (values.json) {
    print(JSON.stringify(runs));
    return 0;
  }
  if (runs.length === 0) {
    print(`No runs in ${runsDir}`);
    return 0;
  }
  for (const r of runs) {
    const counts = Object.entries(r.counts).map(([k, n]) => `${n} ${k}`).join(", ");
    const variants = Object.entries(r.variants ?? {}).map(([b, n]) => `${b} [${n} variants]`);
    print(
      `${r.experiment}/${String(r.run).padStart(4, "0")}  ${r.status.padEnd(11)} ${r.started}  ${
        r.seconds.toFixed(1).padStart(7)
      }s  ${counts}${variants.length > 0 ? `; ${variants.join(", ")}` : ""}`,
    );
  }
  return 0;
}

async function commandShow(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { runs: { type: "string" }, json: { type: "boolean" } },
  });
  if (positionals.length !== 1) {
    throw new UsageError(`Cannot show: expected one run\n${await fullUsage()}`);
  }
  const runsDir = values.runs ? userPath(values.runs) : defaultRunsDir();
  const { dir, record } = readRun(runsDir, positionals[0]);
  if (values.json) {
    print(JSON.stringify({ dir, ...record }));
    return 0;
  }
  const env = record.environment;
  print(`${record.experiment} run ${record.run}: ${record.status} (${record.seconds.toFixed(2)}s)`);
  print(`  folder   ${dir}`);
  print(`  file     ${record.file}`);
  print(`  started  ${record.started}`);
  if (env) {
    const git = env.git ? `${env.git.commit.slice(0, 12)}${env.git.dirty ? " (dirty)" : ""}` : "-";
    print(`  env      deno ${env.deno}, v8 ${env.v8}, ${env.os}/${env.arch}, ${env.cpu}`);
    print(`  git      ${git}`);
  }
  // Variants of a matrix stage are listed under one line naming the declared stage.
  const indent = (s: { base?: string }) => s.base === undefined ? "" : "  ";
  const width = Math.max(8, ...record.stages.map((s) => s.name.length + indent(s).length));
  let group: string | undefined;
  for (const s of record.stages) {
    if (s.base !== undefined && s.base !== group) {
      const n = record.stages.filter((x) => x.base === s.base).length;
      print(`  ${s.base.padEnd(width)} [${n} variants]`);
    }
    group = s.base;
    const outs = Object.entries(s.outputs).map(([k, o]) =>
      `${k}=${o.hash.slice(0, 10)} (${o.bytes}B)`
    )
      .join(" ");
    const metrics = Object.entries(s.metrics ?? {}).map(([k, v]) => `${k}=${v}`).join(" ");
    print(
      `  ${(indent(s) + s.name).padEnd(width)} ${s.status.padEnd(11)} ${
        s.seconds.toFixed(2).padStart(7)
      }s  ${s.reason}`,
    );
    if (outs) print(`  ${"".padEnd(width)} outputs  ${outs}`);
    if (metrics) print(`  ${"".padEnd(width)} metrics  ${metrics}`);
    if (s.facts && Object.keys(s.facts).length > 0) {
      print(`  ${"".padEnd(width)} facts    ${JSON.stringify(s.facts)}`);
    }
    if (s.error) print(`  ${"".padEnd(width)} error    ${s.error.split("\n")[0]}`);
  }
  return 0;
}

/**
 * Runs the CLI.
 *
 * @param args Command-line arguments (command first).
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "run":
        return await commandRun(rest);
      case "runs":
        return commandRuns(rest);
      case "show":
        return await commandShow(rest);
      case "ui": // the UI (dagre, uPlot) loads only for its two commands
        return await (await import(new URL("./commands/ui.ts", import.meta.url).href)).commandUi(
          rest,
        );
      case "report":
        return await (await import(new URL("./commands/report.ts", import.meta.url).href))
          .commandReport(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        print(await fullUsage());
        return command === undefined ? 2 : 0;
      default:
        {
          // The run tools load on demand so `run` starts fast.
          const { toolCommands }: Commands = await import(COMMANDS);
          if (Object.hasOwn(toolCommands, command)) return await toolCommands[command](rest);
        }
        throw new UsageError(`Cannot run unknown command "${command}"\n${await fullUsage()}`);
    }
  } catch (error) {
    if (error instanceof ExperimentError) {
      print(`Cannot run experiment: ${error.problems.length} problem(s)`, true);
      print(error.message, true);
      return 2;
    }
    if (
      error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      print(`error: ${(error as Error).message}`, true);
      return 2;
    }
    print(`error: ${(error as Error).stack ?? error}`, true);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
