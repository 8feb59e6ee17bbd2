/**
 * A small command-line parser with the shape of `node:util` `parseArgs` (strict mode).
 * ditto does not use `node:util` itself: the first `node:` import starts Deno's Node
 * compatibility layer, 30-60 ms of a no-op rerun's 100 ms budget.
 *
 * @module
 */

import { UsageError } from "../runner/errors.ts";

/** One option: a string (value required) or a boolean flag. */
export interface OptionSpec {
  /** `string` takes a value, `boolean` does not. */
  type: "string" | "boolean";
  /** Collect repeated occurrences into an array. */
  multiple?: boolean;
  /** One-letter alias, used as `-x`. */
  short?: string;
}

/** Parsed values: strings, booleans or arrays of strings per option name. */
export type ParsedValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K]["type"] extends "string"
    ? (O[K]["multiple"] extends true ? string[] : string)
    : boolean;
};

/** Options of {@linkcode parseArgs}. */
export interface ParseArgsConfig<O extends Record<string, OptionSpec>> {
  /** The arguments. */
  args: string[];
  /** Known options. */
  options: O;
  /** Accept positional arguments. @default {true} */
  allowPositionals?: boolean;
  /** Accepted for `node:util` compatibility; parsing is always strict. */
  strict?: true;
}

/**
 * Parses `--name value`, `--name=value`, `-x`, `-x value`, `-xvalue`, positionals and `--`.
 *
 * @param config Arguments and the known options.
 * @returns Values and positionals.
 * @throws {UsageError} For unknown options, missing values or unexpected positionals.
 */
export function parseArgs<O extends Record<string, OptionSpec>>(
  config: ParseArgsConfig<O>,
): { values: ParsedValues<O>; positionals: string[] } {
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const shorts = new Map<string, string>();
  for (const [name, spec] of Object.entries(config.options)) {
    if (spec.short) shorts.set(spec.short, name);
  }
  const set = (name: string, value: string | boolean) => {
    const spec = config.options[name];
    if (spec.multiple) values[name] = [...(values[name] as string[] ?? []), value];
    else values[name] = value;
  };
  for (let i = 0; i < config.args.length; i++) {
    const arg = config.args[i];
    if (arg === "--") {
      positionals.push(...config.args.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
    } else if (arg.startsWith("-") && arg.length === 2) {
      name = shorts.get(arg[1]);
      if (!name) throw new UsageError(`Cannot parse arguments: unknown option "${arg}"`);
    } else if (arg.startsWith("-") && config.options[shorts.get(arg[1]) ?? ""]?.type === "string") {
      // `-ofile.yaml`: a short option with its value attached.
      name = shorts.get(arg[1]);
      inline = arg.slice(2);
    }
    if (name === undefined) {
      if (config.allowPositionals === false) {
        throw new UsageError(`Cannot parse arguments: unexpected argument "${arg}"`);
      }
      positionals.push(arg);
      continue;
    }
    const spec = config.options[name];
    if (!spec) throw new UsageError(`Cannot parse arguments: unknown option "--${name}"`);
    if (spec.type === "boolean") {
      if (inline !== undefined) {
        throw new UsageError(`Cannot parse arguments: option "--${name}" takes no value`);
      }
      set(name, true);
      continue;
    }
    const value = inline ?? config.args[++i];
    if (value === undefined) {
      throw new UsageError(`Cannot parse arguments: option "--${name}" needs a value`);
    }
    set(name, value);
  }
  return { values: values as ParsedValues<O>, positionals };
}
