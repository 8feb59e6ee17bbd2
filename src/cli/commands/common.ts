/**
 * Helpers shared by the run-tool commands (diff, store, gc, export, resume, push, pull).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { defaultRunsDir, UsageError } from "../../runner/mod.ts";

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

type OptionSpec = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; short?: string }
>;

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
 * @throws {UsageError} For unknown flags.
 */
export function parseCommand(args: string[], options: OptionSpec = {}): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...options, runs: { type: "string" }, json: { type: "boolean" } },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
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
