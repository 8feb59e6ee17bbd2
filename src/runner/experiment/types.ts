/**
 * The types of a validated experiment, and the drafts the validation passes share.
 *
 * @module
 */

import type { Problem } from "../errors.ts";
import type { InputSpec, ParamSpec } from "../stage.ts";

/** What the runner knows about a TypeScript stage module without running it. */
export interface StageMeta {
  /** From the module. */
  description: string;
  /** Declared parameters. */
  params: Record<string, ParamSpec>;
  /** Declared inputs. */
  inputs: Record<string, InputSpec>;
  /** Output names. */
  outputs: string[];
  /** Declared determinism (default true). */
  deterministic: boolean;
}

/** One value of a matrix key: a scalar. */
export type MatrixValue = string | number | boolean;

/** One validated stage (or one variant of a stage with `matrix:`). */
export interface StageDef {
  /** The stage's name. */
  name: string;
  /** `run` for shell commands, `ts` for TypeScript modules. */
  kind: "run" | "ts";
  /** The shell command template (kind `run`). */
  command?: string;
  /** `uses:` as written (kind `ts`). */
  uses?: string;
  /** Absolute path of the module (kind `ts`). */
  module?: string;
  /** Upstream stages: explicit `needs` plus those referenced by placeholders, sorted. */
  needs: string[];
  /** Declared deps: name -> absolute path. */
  deps: Record<string, string>;
  /** Outputs: name -> path relative to the work dir. */
  outs: Record<string, string>;
  /** Inputs (kind `ts`): name -> reference such as `stages.make.outs.rows` or `deps.table`. */
  inputs: Record<string, string>;
  /** Resolved parameters (kind `ts`): `with:` over the declared defaults. */
  params: Record<string, unknown>;
  /** Whether the stage declares itself deterministic. */
  deterministic: boolean;
  /** Optional description. */
  description?: string;
  /** Matrix variants only: the declared stage this variant expands (`train`). */
  base?: string;
  /** Matrix variants only: matrix key -> this variant's value (upstream keys first). */
  matrix?: Record<string, MatrixValue>;
  /** Matrix variants only: declared upstream stage -> the variant name it reads from. */
  upstream?: Record<string, string>;
}

/** A validated, fully resolved experiment. */
export interface Experiment {
  /** Experiment name (default: the file name). */
  name: string;
  /** Absolute path of the experiment file. */
  file: string;
  /** Experiment seed. */
  seed: number;
  /** Experiment-wide parameters. */
  params: Record<string, unknown>;
  /** Stages in a topological order (declaration order where free). */
  stages: StageDef[];
  /** The resolved experiment as plain data (written as `config.yaml`, runnable as is). */
  config: Record<string, unknown>;
  /** Every YAML file read. */
  files: string[];
  /** What validation found probably wrong but not invalid, in file order (the CLI prints it). */
  warnings: Problem[];
  /** Stores the parsed files in the parse memo (call once the store may be written). */
  saveMemo?: () => void;
}

/** Options of `loadExperiment`. */
export interface LoadExperimentOptions {
  /** `path=value` overrides, applied after `extends:`. */
  sets?: string[];
  /** Built-in stage name -> module URL. */
  builtins?: Record<string, string>;
  /** Reads a TypeScript module's declarations (the engine caches it by code fingerprint). */
  describe: (modulePath: string) => Promise<StageMeta>;
  /** Folder of the parse memo (read here, written only by `saveMemo`). */
  memoDir?: string;
}

/** A matrix as declared: key -> values, in the order written. */
export type MatrixAxes = [string, MatrixValue[]][];

/** A stage after the drafts pass: its kind, module and output names, so references can be checked. */
export interface Draft {
  /** The stage's name. */
  name: string;
  /** The stage's mapping as written (after `extends:` and `--set`). */
  raw: Record<string, unknown>;
  /** Unset when neither or both of `run:` and `uses:` are given. */
  kind?: "run" | "ts";
  /** Absolute path of the module (kind `ts`). */
  module?: string;
  /** The module's declarations (kind `ts`), unset when it cannot be loaded. */
  meta?: StageMeta;
  /** Output name -> path relative to the work dir. */
  outs: Record<string, string>;
  /** Own `matrix:`, key order kept. */
  matrix?: MatrixAxes;
}

/**
 * A `with:` value that depends on the variant, and whether it was written (`explicit`) or implied
 * by a matrix key naming a parameter.
 */
export interface ParamTemplate {
  /** The template, such as `${matrix.t}`. */
  value: string;
  /** Written in `with:` (kept in `config.yaml`), rather than implied by the matrix key. */
  explicit: boolean;
}

/** What experiment-wide placeholders (`${seed}`, `${params.…}`) resolve against. */
export interface Scope {
  /** The experiment seed. */
  seed: number;
  /** The experiment parameters. */
  params: Record<string, unknown>;
}
