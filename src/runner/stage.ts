/**
 * The TypeScript stage interface: what a `uses:` module exports and what it receives.
 *
 * A stage module's default export is a {@linkcode StageModule}. The runner imports it once to
 * read its declared parameters, inputs and outputs (cached by code fingerprint afterwards), so
 * a module must not do work at import time. It runs the stage in a child `deno run` process
 * (the stage host, with the project's deno.json) that builds a {@linkcode StageContext}; the
 * child's cwd is the stage's empty work dir, and `console.log` output goes to the stage log.
 *
 * The cache key of a TypeScript stage covers: the content of every local module reachable from
 * it by static or literal dynamic imports (type-only imports and the runner's own `src/runner/`
 * excepted), the versions of the npm/jsr packages it imports, the stage name, its resolved
 * parameters, the experiment seed, and the content of its inputs and deps.
 *
 * ```yaml
 * stages:
 *   train:
 *     uses: ./stages/train.ts          # or a built-in name such as worldmodels/train_vae
 *     needs: [prepare]                 # optional: inputs already imply their stages
 *     inputs: { rows: "${stages.prepare.outs.rows}" }
 *     deps: { table: data/table.csv }  # declared files or dirs, content hashed
 *     with: { epochs: 3 }              # validated against `params`
 * ```
 *
 * @module
 */

import type { Rng } from "../random/mod.ts";

export type { Rng } from "../random/mod.ts";

/** The declared type of a stage parameter. */
export type ParamType = "number" | "integer" | "string" | "boolean" | "array" | "object";

/** One declared stage parameter: validates `with:` values and `--set` overrides. */
export interface ParamSpec {
  /** The value's type; an `integer` must also be a safe integer. */
  type: ParamType;
  /** Value used when `with:` omits the parameter. Without a default the parameter is required. */
  default?: unknown;
  /** Allowed values. */
  enum?: readonly unknown[];
  /** Inclusive lower bound for numbers. */
  min?: number;
  /** Inclusive upper bound for numbers. */
  max?: number;
  /** One line shown in validation hints. */
  description: string;
}

/** One declared named input: an upstream output or any path given in the YAML `inputs:`. */
export interface InputSpec {
  /** What the stage expects at this path. */
  description: string;
  /** When true the YAML may omit it and `ctx.inputs[name]` is then undefined. */
  optional?: boolean;
}

/** The default export of a TypeScript stage module. */
export interface StageModule<P = Record<string, unknown>> {
  /** One line describing what the stage does. */
  description: string;
  /** Declared parameters; an unknown `with:` key or a wrong type is a validation error. */
  params: Record<string, ParamSpec>;
  /** Declared named inputs; an unknown `inputs:` key is a validation error. */
  inputs?: Record<string, InputSpec>;
  /** Output names; the stage must create each `ctx.output(name)` (a file or a directory). */
  outputs: readonly string[];
  /**
   * Whether the same inputs, parameters and seed give byte-identical outputs.
   * Recorded per stage in `run.json`; it does not change caching.
   * @default {true}
   */
  deterministic?: boolean;
  /** Does the work. Resolve when every output exists; throw to fail the stage. */
  run(ctx: StageContext<P>): Promise<void>;
}

/** Step-wise scalar metrics, written as JSON lines `{"step":n,...values}`. */
export interface MetricsLogger {
  /** Records the scalars of one step; the last value of each name becomes a final metric. */
  log(step: number, values: Record<string, number>): void;
}

/** Progress of a long stage: a live bar on a TTY, periodic lines otherwise. */
export interface ProgressReporter {
  /** Sets the total amount of work (`unit` defaults to "steps") and resets nothing else. */
  total(n: number, unit?: string): void;
  /** Advances by `by` (default 1) with an optional short status message. */
  advance(by?: number, message?: string): void;
}

/** Named checkpoints, kept across interruptions of the same cache key and deleted on success. */
export interface CheckpointStore {
  /** Saves atomically: bytes as they are, anything else as JSON. */
  save(name: string, data: Uint8Array | unknown): Promise<void>;
  /** Loads a JSON checkpoint, or undefined when none was saved. */
  load<T = unknown>(name: string): Promise<T | undefined>;
  /** Loads a checkpoint's raw bytes, or undefined when none was saved. */
  loadBytes(name: string): Promise<Uint8Array | undefined>;
}

/** What a running stage receives. */
export interface StageContext<P = Record<string, unknown>> {
  /** The stage's name in the experiment. */
  name: string;
  /** Resolved parameters: `with:` values over declared defaults. */
  params: P;
  /** The experiment seed. */
  seed: number;
  /** Input name -> absolute, read-only path (files or directories). */
  inputs: Record<string, string>;
  /** Declared dep name -> absolute path. */
  deps: Record<string, string>;
  /** Absolute path inside the stage's temporary work dir where output `name` must be created. */
  output(name: string): string;
  /** Seeded from (experiment seed, stage name). */
  rng: Rng;
  /** Step-wise scalar metrics. */
  metrics: MetricsLogger;
  /** Progress reporter. */
  progress: ProgressReporter;
  /** Checkpoints kept across interruptions of the same cache key. */
  checkpoints: CheckpointStore;
  /** Aborted on Ctrl-C/SIGTERM or when the runner dies: save a checkpoint and return or throw. */
  signal: AbortSignal;
  /** Prints a line in the runner's output, prefixed with the stage name. */
  log(message: string): void;
  /**
   * Records facts about how the stage ran (for example `{ backend: "wasm", tfjs: "4.22.0" }`).
   * Merged into the stage's `facts` in `run.json`; never part of the cache key.
   */
  report(facts: Record<string, unknown>): void;
}

/**
 * Identity helper that type-checks a stage module.
 *
 * @example Usage
 * ```ts
 * import { defineStage } from "./stage.ts";
 * export default defineStage<{ n: number }>({
 *   description: "Writes n lines",
 *   params: { n: { type: "integer", default: 3, description: "line count" } },
 *   outputs: ["rows"],
 *   async run(ctx) {
 *     await Deno.writeTextFile(ctx.output("rows"), "x\n".repeat(ctx.params.n));
 *   },
 * });
 * ```
 *
 * @param stage The stage definition.
 * @returns The same object.
 */
export function defineStage<P = Record<string, unknown>>(stage: StageModule<P>): StageModule<P> {
  return stage;
}
