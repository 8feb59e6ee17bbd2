/**
 * The ditto command line: a table of commands (one module each in `commands/`) and one
 * top-level catch that sets the exit code: 0 success, 1 a stage failed, 2 invalid experiment
 * or usage, 130 interrupted.
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

import { ExperimentError, UsageError } from "../runner/errors.ts";
import { type Command, type CommandContext, jsonError, print } from "./commands/common.ts";

/**
 * Command name -> the module in `commands/` that implements it and the function it exports.
 * Every command module also exports `USAGE`, its lines of the usage text (in this order).
 * Modules load on demand through variable specifiers, so `run` never loads the run tools
 * (Deno preloads literal dynamic imports at start-up, tens of milliseconds).
 */
const COMMANDS: Record<string, readonly [module: string, name: string]> = {
  run: ["run.ts", "commandRun"],
  runs: ["runs.ts", "commandRuns"],
  show: ["show.ts", "commandShow"],
  diff: ["diff.ts", "commandDiff"],
  store: ["maintenance.ts", "commandStore"],
  gc: ["maintenance.ts", "commandGc"],
  export: ["export.ts", "commandExport"],
  resume: ["resume.ts", "commandResume"],
  push: ["transfer.ts", "commandPush"],
  pull: ["transfer.ts", "commandPull"],
  worker: ["worker.ts", "commandWorker"],
  ui: ["ui.ts", "commandUi"],
  report: ["report.ts", "commandReport"],
};

const EXIT_CODES =
  "Exit codes: 0 success, 1 a stage failed, 2 invalid experiment or usage, 130 interrupted.";

/** Imports a command module. */
function load(module: string): Promise<Record<string, unknown>> {
  return import(new URL(`./commands/${module}`, import.meta.url).href);
}

/** The usage text: every command module's lines, in table order. */
async function fullUsage(): Promise<string> {
  const lines: string[] = [];
  for (const module of new Set(Object.values(COMMANDS).map(([m]) => m))) {
    try {
      lines.push((await load(module)).USAGE as string);
    } catch {
      // A command whose module cannot load (its packages missing) is left out of the help.
    }
  }
  return `Usage:\n${lines.join("\n")}\n\n${EXIT_CODES}`;
}

const CONTEXT: CommandContext = { usage: fullUsage };

/**
 * Runs the CLI.
 *
 * @param args Command-line arguments (command first).
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  // Flags end at `--`; with --json, a failure is one JSON object on stdout too.
  const flags = rest.indexOf("--") < 0 ? rest : rest.slice(0, rest.indexOf("--"));
  const json = flags.includes("--json");
  try {
    if (command === undefined || ["help", "--help", "-h"].includes(command)) {
      print(await fullUsage());
      return command === undefined ? 2 : 0;
    }
    if (!Object.hasOwn(COMMANDS, command)) {
      throw new UsageError(`Cannot run unknown command "${command}"\n${await fullUsage()}`);
    }
    const [module, name] = COMMANDS[command];
    const loaded = await load(module);
    // Every command answers --help with its own lines of the usage text (before any `--`).
    if (flags.includes("--help") || flags.includes("-h")) {
      print(`Usage:\n${loaded.USAGE as string}\n\n${EXIT_CODES}`);
      return 0;
    }
    const run = loaded[name] as Command;
    return await run(rest, CONTEXT);
  } catch (error) {
    if (json) print(JSON.stringify(jsonError(command, error)));
    if (error instanceof ExperimentError) {
      print(`Cannot run experiment: ${error.problems.length} problem(s)`, true);
      print(error.message, true);
      return 2;
    }
    if (error instanceof UsageError) {
      print(`error: ${error.message}`, true);
      return 2;
    }
    // Frames help ditto's developers, not its users: only with DITTO_DEBUG=1.
    const debug = Deno.env.get("DITTO_DEBUG") === "1";
    const text = error instanceof Error ? (debug ? error.stack : error.message) : String(error);
    print(`error: ${text ?? error}`, true);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
