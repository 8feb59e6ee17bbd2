/**
 * What the commands share: printing, user paths, flag parsing (every command takes
 * `--runs DIR` and `--json`), and the parts of `run` and `resume` that must agree (the
 * `--json` report, the console kept off stdout, Ctrl-C handling, exit codes).
 *
 * @module
 */

import { resolve } from "../../runner/path.ts";
import { defaultRunsDir, ExperimentError, type RunReport, UsageError } from "../../runner/mod.ts";
import { type OptionSpec, parseArgs } from "../args.ts";

/** What `main` gives a command besides its arguments. */
export interface CommandContext {
  /** The full usage text, for usage errors (loads every command's usage lines). */
  usage(): Promise<string>;
}

/** A command: arguments after its name -> exit code. */
export type Command = (args: string[], context: CommandContext) => number | Promise<number>;

/** Exit code for an interrupted run. */
export const EXIT_INTERRUPTED = 130;

/** Writes a line to stdout (or stderr), whole, even when the pipe is slow. */
export function print(text: string, toStderr = false): void {
  const bytes = new TextEncoder().encode(text + "\n");
  const stream = toStderr ? Deno.stderr : Deno.stdout;
  let off = 0;
  while (off < bytes.length) off += stream.writeSync(bytes.subarray(off));
}

/** Resolves a path the user typed: `deno task` runs in the project root and sets INIT_CWD. */
export function userPath(path: string): string {
  return resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), path);
}

/** Parsed flags plus the runs folder and `--json`. */
export interface ParsedArgs {
  /** Flag values. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Positional arguments. */
  positionals: string[];
  /** The runs folder (`--runs`, `$DITTO_RUNS` or the project's `runs/`). */
  runsDir: string;
  /** Whether `--json` was given. */
  json: boolean;
}

/**
 * Parses a command's arguments; every command takes `--runs DIR` and `--json`.
 *
 * @param args The arguments after the command name.
 * @param options The command's own flags.
 * @returns Values, positionals, the runs folder and the JSON flag.
 * @throws {UsageError} For unknown flags, missing values and values on boolean flags.
 */
export function parseCommand(
  args: string[],
  options: Record<string, OptionSpec> = {},
): ParsedArgs {
  const parsed = parseArgs({
    args,
    options: { ...options, runs: { type: "string" }, json: { type: "boolean" } },
  });
  const values = parsed.values as ParsedArgs["values"];
  return {
    values,
    positionals: parsed.positionals,
    runsDir: typeof values.runs === "string" ? userPath(values.runs) : defaultRunsDir(),
    json: values.json === true,
  };
}

/** Parses a non-negative integer flag. */
export function intFlag(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new UsageError(`Cannot use --${name} ${value}: expected a non-negative integer`);
  }
  return n;
}

/**
 * Keeps stdout for the one JSON object of `--json`: stage modules imported in this process
 * to read their declarations must not print there (ditto's own output uses {@linkcode print}).
 */
export function consoleToStderr(): void {
  console.log = console.info = console.debug = console.error;
}

/**
 * The `--json` report of `run` and `resume`.
 *
 * @param report The run's report.
 * @param extra Fields placed after `status` (e.g. `resumed_from`).
 * @returns The object to print.
 */
export function jsonReport(report: RunReport, extra: Record<string, unknown> = {}): object {
  return {
    experiment: report.experiment,
    run: report.run,
    dir: report.dir,
    status: report.status,
    ...extra,
    stages: report.stages.map((s) => ({
      name: s.name,
      status: s.status,
      key: s.key,
      reason: s.reason,
      seconds: s.seconds,
      outputs: Object.fromEntries(
        Object.entries(s.outputs).map(([k, o]) => [k, { hash: o.hash, bytes: o.bytes }]),
      ),
      ...(s.error === undefined ? {} : { error: s.error }),
      ...(s.base === undefined ? {} : { base: s.base, matrix: s.matrix }),
    })),
  };
}

/**
 * The one JSON object a command given `--json` prints on stdout when it fails before its
 * result: `status` is `invalid` (an invalid experiment or bad usage, exit 2) or `error` (exit 1),
 * `errors` lists each problem (with `file`, `line`, `column`, `key` and `hint` for an
 * experiment's problems). `run` and `resume` add the report's fields, empty.
 *
 * @param command The command's name.
 * @param error What was thrown.
 * @returns The object to print.
 */
export function jsonError(command: string, error: unknown): object {
  const status = error instanceof ExperimentError || error instanceof UsageError
    ? "invalid"
    : "error";
  const errors = error instanceof ExperimentError
    ? error.problems.map((p) => ({ ...p.location, key: p.key, message: p.message, hint: p.hint }))
    : [{ message: error instanceof Error ? error.message : String(error) }];
  if (command !== "run" && command !== "resume") return { status, errors };
  const resumed = command === "resume" ? { resumed_from: null } : {};
  return { experiment: null, run: null, dir: null, status, ...resumed, stages: [], errors };
}

/** The exit code of a finished run: 0 succeeded (or dry run), 1 failed, 130 interrupted. */
export function runExitCode(report: RunReport): number {
  if (report.status === "interrupted") return EXIT_INTERRUPTED;
  return report.status === "failed" ? 1 : 0;
}

/** Signals this close to the first one are the same interrupt delivered twice. */
const SAME_INTERRUPT_MS = 1000;

/**
 * Runs `body` with Ctrl-C and SIGTERM stopping the running stages: the first signal aborts
 * (saying so through `say`), a second one more than a second later exits at once with 130.
 *
 * @param say Prints the interruption notice.
 * @param body Receives the abort signal to pass to the engine.
 * @returns What `body` returns.
 */
export async function withInterrupts<T>(
  say: (line: string) => void,
  body: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let first: number | undefined;
  const onSignal = () => {
    if (first !== undefined) {
      // One Ctrl-C can arrive twice: the terminal signals the whole foreground group, and a
      // wrapper in it (`npx deno task ...`) forwards its copy. Only a later one quits at once.
      if (performance.now() - first < SAME_INTERRUPT_MS) return;
      Deno.exit(EXIT_INTERRUPTED);
    }
    first = performance.now();
    say("Interrupting: stopping running stages (again to quit at once)");
    controller.abort();
  };
  const removeListeners = listenForSignals(onSignal);
  try {
    return await body(controller.signal);
  } finally {
    removeListeners();
  }
}

/**
 * Calls `onSignal` on SIGINT and SIGTERM (SIGTERM where the platform has it); returns the
 * function that removes the listeners again.
 */
export function listenForSignals(onSignal: () => void): () => void {
  const installed: Deno.Signal[] = [];
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(sig, onSignal);
      installed.push(sig);
    } catch {
      // SIGTERM is not available on Windows.
    }
  }
  return () => {
    for (const sig of installed) Deno.removeSignalListener(sig, onSignal);
  };
}
