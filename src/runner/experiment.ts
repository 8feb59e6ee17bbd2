/**
 * Parses and validates an experiment file into a typed, resolved {@linkcode Experiment}.
 * Every problem names file, line, column and key, with a hint; nothing runs before this passes.
 *
 * @module
 */

import { basename, dirname, extname, fromFileUrl, isAbsolute, normalize, resolve } from "./path.ts";
import { ExperimentError, type Problem } from "./errors.ts";
import { formatValue, parseTemplate } from "./placeholders.ts";
import type { InputSpec, ParamSpec } from "./stage.ts";
import { applySet, loadSourceTree, locate, type SourceTree } from "./yaml_source.ts";

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
  /** Stores the parsed files in the parse memo (call once the store may be written). */
  saveMemo?: () => void;
}

/** Options of {@linkcode loadExperiment}. */
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

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const EXPERIMENT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
// `lock:` is written by `deno task export` and read by `run --verify`; the engine ignores it.
const TOP_KEYS = ["name", "description", "seed", "params", "stages", "extends", "lock"];
const STAGE_KEYS = [
  "run",
  "uses",
  "needs",
  "deps",
  "outs",
  "inputs",
  "with",
  "description",
  "deterministic",
  "matrix",
];
const RESERVED_STAGE_NAMES = ["metrics", "logs"];
const MATRIX_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Matrix values become part of stage (and folder) names: `train@temperature=1.15`.
const MATRIX_TEXT = /^[A-Za-z0-9_.+-]+$/;
// A typo such as a range of 1000 values in two keys must not build millions of stages.
const MAX_VARIANTS = 10_000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

function suggest(word: string, options: readonly string[]): string {
  const best = options
    .map((o) => ({ o, d: distance(word, o) }))
    .sort((x, y) => x.d - y.d)[0];
  const list = options.length > 0 ? options.join(", ") : "none";
  if (best && best.d <= Math.max(2, Math.floor(word.length / 3))) {
    return `did you mean "${best.o}"? (allowed: ${list})`;
  }
  return `allowed: ${list}`;
}

/**
 * Checks a value against a parameter spec.
 *
 * @param spec The declared parameter.
 * @param value The value.
 * @returns A problem description, or undefined when the value fits.
 */
export function checkParam(spec: ParamSpec, value: unknown): string | undefined {
  const ok = (() => {
    switch (spec.type) {
      case "number":
        return typeof value === "number" && Number.isFinite(value);
      case "integer":
        return Number.isSafeInteger(value);
      case "string":
        return typeof value === "string";
      case "boolean":
        return typeof value === "boolean";
      case "array":
        return Array.isArray(value);
      case "object":
        return isObject(value);
    }
  })();
  if (!ok) {
    return `expected ${spec.type === "integer" ? "an" : "a"} ${spec.type}, got ${typeName(value)} ${
      JSON.stringify(value)
    }`;
  }
  if (spec.enum && !spec.enum.some((e) => e === value)) {
    return `expected one of ${spec.enum.map((e) => JSON.stringify(e)).join(", ")}, got ${
      JSON.stringify(value)
    }`;
  }
  if (typeof value === "number") {
    if (spec.min !== undefined && value < spec.min) return `must be >= ${spec.min}, got ${value}`;
    if (spec.max !== undefined && value > spec.max) return `must be <= ${spec.max}, got ${value}`;
  }
  return undefined;
}

/** Whether a relative output path stays inside the work dir. */
function isContainedPath(path: string): boolean {
  if (path === "" || isAbsolute(path)) return false;
  const norm = normalize(path);
  return norm !== "." && norm !== ".." && !norm.startsWith("../") && !norm.startsWith("/");
}

function lookupParam(params: Record<string, unknown>, path: string[]): unknown {
  let node: unknown = params;
  for (const part of path) {
    if (!isObject(node) || !(part in node)) return undefined;
    node = node[part];
  }
  return node;
}

type Report = (path: string, message: string, hint?: string, prefer?: "key" | "value") => void;

/** Validates a stage's `matrix:` (key -> non-empty list of distinct scalars). */
function parseMatrix(
  raw: unknown,
  base: string,
  report: Report,
): [string, MatrixValue[]][] | undefined {
  const path = `${base}.matrix`;
  if (!isObject(raw) || Object.keys(raw).length === 0) {
    report(
      path,
      `Cannot accept ${typeName(raw)} as a matrix: expected a mapping key -> list of values`,
      "for example `matrix: { temperature: [0.5, 1.0] }`",
    );
    return undefined;
  }
  const out: [string, MatrixValue[]][] = [];
  for (const [key, values] of Object.entries(raw)) {
    const p = `${path}.${key}`;
    if (!MATRIX_KEY.test(key)) {
      report(p, `Cannot use "${key}" as a matrix key`, "use letters, digits and '_'", "key");
      continue;
    }
    if (!Array.isArray(values) || values.length === 0) {
      report(
        p,
        `Cannot accept ${typeName(values)}: expected a non-empty list of values`,
        `for example \`${key}: [1, 2]\`; --set takes \`${p}=[1,2]\``,
      );
      continue;
    }
    const seen = new Map<string, MatrixValue>();
    let ok = true;
    values.forEach((value: unknown, i: number) => {
      const at = `${p}.${i}`;
      if (!["string", "number", "boolean"].includes(typeof value)) {
        report(at, `Cannot accept ${typeName(value)} as a matrix value: expected a scalar`);
        ok = false;
        return;
      }
      const text = formatValue(value);
      if (!MATRIX_TEXT.test(text) || (typeof value === "number" && !Number.isFinite(value))) {
        report(
          at,
          `Cannot accept ${JSON.stringify(value)} as a matrix value`,
          "values name the variants (`stage@key=value`): use numbers, booleans or letters, " +
            "digits, '_', '.', '+' and '-'",
        );
        ok = false;
      } else if (seen.has(text)) {
        report(
          at,
          `Cannot accept ${JSON.stringify(value)} twice: it names the same variant as ${
            JSON.stringify(seen.get(text))
          }`,
          "remove the duplicate",
        );
        ok = false;
      } else seen.set(text, value as MatrixValue);
    });
    if (ok) out.push([key, values as MatrixValue[]]);
  }
  return out;
}

/**
 * Resolves a `with:` value: exactly one placeholder keeps its type, anything else is text.
 *
 * @param value The value as written.
 * @param valueOf The value of one reference.
 * @returns The resolved value.
 */
function resolveWith(value: string, valueOf: (ref: string) => unknown): unknown {
  const parts = parseTemplate(value);
  return parts.length === 1 && "ref" in parts[0]
    ? valueOf(parts[0].ref)
    : parts.map((x) => ("text" in x ? x.text : formatValue(valueOf(x.ref)))).join("");
}

/**
 * Loads, merges, overrides and validates an experiment file.
 *
 * @param file Path of the YAML file.
 * @param options Overrides, built-ins and the module describer.
 * @returns The resolved experiment.
 * @throws {ExperimentError} With every problem found.
 */
export async function loadExperiment(
  file: string,
  options: LoadExperimentOptions,
): Promise<Experiment> {
  const problems: Problem[] = [];
  const absFile = resolve(file);
  const { tree, save } = await loadSourceTree(absFile, problems, options.memoDir);
  if (!tree) throw new ExperimentError(problems);
  if (options.sets && options.sets.length > 0) {
    // A variable specifier: Deno preloads literal dynamic imports at start-up (tens of ms).
    const specifier = "yaml";
    const yaml: typeof import("yaml") = await import(specifier);
    for (const assignment of options.sets) {
      const problem = applySet(tree, assignment, yaml);
      if (problem) problems.push(problem);
    }
  }
  const experiment = await validate(tree, absFile, options, problems);
  if (problems.length > 0 || !experiment) {
    problems.sort((a, b) =>
      a.location.file === b.location.file
        ? a.location.line - b.location.line || a.location.column - b.location.column
        : 0
    );
    throw new ExperimentError(problems);
  }
  experiment.saveMemo = save;
  return experiment;
}

async function validate(
  tree: SourceTree,
  file: string,
  options: LoadExperimentOptions,
  problems: Problem[],
): Promise<Experiment | undefined> {
  const root = tree.value;
  const report = (
    path: string,
    message: string,
    hint?: string,
    prefer: "key" | "value" = "value",
  ) => problems.push({ location: locate(tree, path, prefer), key: path, message, hint });

  for (const key of Object.keys(root)) {
    if (!TOP_KEYS.includes(key)) {
      report(key, `Cannot accept unknown key "${key}"`, suggest(key, TOP_KEYS), "key");
    }
  }
  let name = basename(file, extname(file));
  if (root.name !== undefined) {
    if (typeof root.name !== "string" || !EXPERIMENT_NAME.test(root.name)) {
      report(
        "name",
        `Cannot use ${JSON.stringify(root.name)} as the experiment name`,
        "use letters, digits, '_', '-' and '.'",
      );
    } else name = root.name;
  }
  let seed = 0;
  if (root.seed !== undefined) {
    if (
      !Number.isSafeInteger(root.seed) || (root.seed as number) < 0 ||
      (root.seed as number) > 0xffffffff
    ) {
      report(
        "seed",
        `Cannot use ${JSON.stringify(root.seed)} as the seed: expected an integer in [0, 2^32)`,
        "for example `seed: 42`",
      );
    } else seed = root.seed as number;
  }
  if (root.description !== undefined && typeof root.description !== "string") {
    report("description", `Cannot accept ${typeName(root.description)}: expected a string`);
  }
  let params: Record<string, unknown> = {};
  if (root.params !== undefined && root.params !== null) {
    if (!isObject(root.params)) {
      report(
        "params",
        `Cannot accept ${typeName(root.params)}: expected a mapping`,
        "for example `params: { n: 3 }`",
      );
    } else params = root.params;
  }
  if (!isObject(root.stages) || Object.keys(root.stages).length === 0) {
    report(
      "stages",
      "Cannot run an experiment without stages: expected a mapping of stages",
      "add `stages:` with at least one stage that has `run:` or `uses:`",
    );
    return undefined;
  }
  const rawStages = root.stages;

  // First pass: kinds, modules and output names, so that references can be checked.
  interface Draft {
    name: string;
    raw: Record<string, unknown>;
    kind?: "run" | "ts";
    module?: string;
    meta?: StageMeta;
    outs: Record<string, string>;
    /** Own `matrix:`, key order kept. */
    matrix?: [string, MatrixValue[]][];
  }
  const drafts = new Map<string, Draft>();
  const describes: Promise<void>[] = [];
  for (const [stageName, raw] of Object.entries(rawStages)) {
    const base = `stages.${stageName}`;
    if (!NAME.test(stageName) || RESERVED_STAGE_NAMES.includes(stageName)) {
      report(
        base,
        `Cannot use "${stageName}" as a stage name`,
        RESERVED_STAGE_NAMES.includes(stageName)
          ? `"${stageName}" is reserved for the run folder`
          : "use letters, digits, '_' and '-'",
        "key",
      );
      continue;
    }
    if (!isObject(raw)) {
      report(
        base,
        `Cannot accept ${typeName(raw)} as a stage: expected a mapping`,
        "a stage needs `run:` (a shell command) or `uses:` (a TypeScript module)",
      );
      continue;
    }
    const draft: Draft = { name: stageName, raw, outs: {} };
    drafts.set(stageName, draft);
    for (const key of Object.keys(raw)) {
      if (!STAGE_KEYS.includes(key)) {
        report(
          `${base}.${key}`,
          `Cannot accept unknown stage key "${key}"`,
          suggest(key, STAGE_KEYS),
          "key",
        );
      }
    }
    if (raw.matrix !== undefined) draft.matrix = parseMatrix(raw.matrix, base, report);
    const hasRun = raw.run !== undefined;
    const hasUses = raw.uses !== undefined;
    if (hasRun === hasUses) {
      report(
        base,
        hasRun
          ? "Cannot use both `run:` and `uses:` in one stage"
          : "Cannot run a stage without `run:` or `uses:`",
        "give either a shell command (`run:`) or a TypeScript module (`uses: ./stage.ts` or a built-in name)",
        "key",
      );
      continue;
    }
    if (hasRun) {
      draft.kind = "run";
      if (typeof raw.run !== "string" || raw.run.trim() === "") {
        report(
          `${base}.run`,
          `Cannot accept ${typeName(raw.run)} as a command: expected a non-empty string`,
        );
      }
      for (const key of ["with", "inputs"]) {
        if (raw[key] !== undefined) {
          report(
            `${base}.${key}`,
            `Cannot use \`${key}:\` in a \`run:\` stage`,
            key === "with"
              ? "use ${params.x} placeholders in the command"
              : "reference upstream outputs with ${stages.<s>.outs.<o>} in the command",
            "key",
          );
        }
      }
      if (raw.outs !== undefined) {
        if (!isObject(raw.outs)) {
          report(
            `${base}.outs`,
            `Cannot accept ${typeName(raw.outs)}: expected a mapping name -> path`,
            "for example `outs: { rows: rows.txt }`",
          );
        } else {
          for (const [out, path] of Object.entries(raw.outs)) {
            const p = `${base}.outs.${out}`;
            if (!NAME.test(out)) {
              report(
                p,
                `Cannot use "${out}" as an output name`,
                "use letters, digits, '_' and '-'",
                "key",
              );
            } else if (typeof path !== "string") {
              report(p, `Cannot accept ${typeName(path)}: expected a path`);
            } else if (!isContainedPath(path)) {
              report(
                p,
                `Cannot accept output path "${path}": it escapes the stage's work dir`,
                "outputs are relative paths inside the work dir, such as `out/rows.txt`",
              );
            } else draft.outs[out] = normalize(path);
          }
        }
      }
    } else {
      draft.kind = "ts";
      if (raw.outs !== undefined) {
        report(
          `${base}.outs`,
          "Cannot use `outs:` in a `uses:` stage",
          "a TypeScript stage declares its outputs in the module",
          "key",
        );
      }
      const uses = raw.uses;
      if (typeof uses !== "string" || uses === "") {
        report(
          `${base}.uses`,
          `Cannot accept ${typeName(uses)}: expected a module path or a built-in name`,
        );
        continue;
      }
      let modulePath: string | undefined;
      if (uses.startsWith("./") || uses.startsWith("../") || isAbsolute(uses)) {
        modulePath = resolve(dirname(locate(tree, `${base}.uses`).file), uses);
      } else if (uses.startsWith("file:")) {
        modulePath = fromFileUrl(uses);
      } else {
        const url = options.builtins?.[uses];
        if (url === undefined) {
          report(
            `${base}.uses`,
            `Cannot find stage module "${uses}"`,
            suggest(uses, Object.keys(options.builtins ?? {})) + "; local modules start with ./",
          );
          continue;
        }
        if (!url.startsWith("file:")) {
          report(
            `${base}.uses`,
            `Cannot use built-in "${uses}": its module ${url} is not a local file`,
          );
          continue;
        }
        modulePath = fromFileUrl(url);
      }
      draft.module = modulePath;
      describes.push(
        options.describe(modulePath).then(
          (meta) => {
            draft.meta = meta;
            for (const out of meta.outputs) draft.outs[out] = out;
          },
          (error) => {
            report(
              `${base}.uses`,
              `Cannot load stage module "${uses}": ${(error as Error).message}`,
              "the module's default export must be a stage (see src/runner/stage.ts)",
            );
          },
        ),
      );
    }
  }
  await Promise.all(describes);

  // Second pass: references, deps, params, needs.
  const stages = new Map<string, StageDef>();
  // `${matrix.<k>}` references, checked once the stages' matrix keys are known.
  const matrixRefs: { stage: string; path: string; ref: string }[] = [];
  // Per stage: `with:` values that depend on the variant (param -> template), and whether the
  // template was written (`explicit`) or implied by a matrix key naming a parameter.
  const templates = new Map<string, Map<string, { value: string; explicit: boolean }>>();
  for (const draft of drafts.values()) {
    const { raw, name: stageName } = draft;
    const base = `stages.${stageName}`;
    if (!draft.kind) continue;
    if (draft.kind === "ts" && !draft.meta) continue;
    const needs = new Set<string>();
    const usedKeys = new Set<string>();
    const stageTemplates = new Map<string, { value: string; explicit: boolean }>();
    templates.set(stageName, stageTemplates);
    if (raw.needs !== undefined) {
      if (!Array.isArray(raw.needs) || raw.needs.some((n) => typeof n !== "string")) {
        report(
          `${base}.needs`,
          `Cannot accept ${typeName(raw.needs)}: expected a list of stage names`,
          "for example `needs: [make]`",
        );
      } else {
        raw.needs.forEach((n: string, i: number) => {
          if (!(n in rawStages)) {
            report(
              `${base}.needs.${i}`,
              `Cannot depend on unknown stage "${n}"`,
              suggest(n, Object.keys(rawStages)),
            );
          } else if (n === stageName) {
            report(`${base}.needs.${i}`, `Cannot depend on itself`, "remove it from `needs:`");
          } else needs.add(n);
        });
      }
    }
    const deps: Record<string, string> = {};
    if (raw.deps !== undefined) {
      if (!isObject(raw.deps)) {
        report(
          `${base}.deps`,
          `Cannot accept ${typeName(raw.deps)}: expected a mapping name -> path`,
          "for example `deps: { input: data/input.txt }`",
        );
      } else {
        for (const [dep, path] of Object.entries(raw.deps)) {
          const p = `${base}.deps.${dep}`;
          if (!NAME.test(dep)) {
            report(
              p,
              `Cannot use "${dep}" as a dep name`,
              "use letters, digits, '_' and '-'",
              "key",
            );
          } else if (typeof path !== "string" || path === "") {
            report(p, `Cannot accept ${typeName(path)}: expected a path`);
          } else {
            const abs = resolve(dirname(locate(tree, p).file), path);
            try {
              Deno.statSync(abs);
              deps[dep] = abs;
            } catch {
              report(
                p,
                `Cannot find dep "${path}" (${abs})`,
                "deps are files or directories relative to the YAML file that declares them",
              );
            }
          }
        }
      }
    }
    // Checks one reference; returns the upstream stage when it is an output reference.
    const checkRef = (path: string, ref: string, allowed: Set<string>): boolean => {
      const parts = ref.split(".");
      const root = parts[0];
      if (!allowed.has(root)) {
        report(
          path,
          `Cannot use placeholder \${${ref}} here`,
          `allowed here: ${
            [...allowed].map((a) => a === "seed" ? "${seed}" : `\${${a}.…}`).join(", ")
          }; write $\${…} for a literal`,
        );
        return false;
      }
      if (root === "seed") {
        if (parts.length !== 1) report(path, `Cannot resolve \${${ref}}`, "use ${seed}");
        return parts.length === 1;
      }
      if (root === "matrix") {
        if (parts.length !== 2) {
          report(path, `Cannot resolve \${${ref}}`, "write ${matrix.<key>}");
          return false;
        }
        usedKeys.add(parts[1]);
        matrixRefs.push({ stage: stageName, path, ref });
        return true;
      }
      if (root === "params") {
        if (parts.length < 2 || lookupParam(params, parts.slice(1)) === undefined) {
          report(
            path,
            `Cannot resolve \${${ref}}: no such parameter`,
            suggest(parts.slice(1).join("."), Object.keys(params).map((k) => k)),
          );
          return false;
        }
        return true;
      }
      if (root === "deps") {
        if (parts.length !== 2 || !(parts[1] in deps)) {
          report(
            path,
            `Cannot resolve \${${ref}}: no such dep in this stage`,
            suggest(parts[1] ?? "", Object.keys(deps)),
          );
          return false;
        }
        return true;
      }
      // stages.<s>.outs.<o>
      // Output names may contain dots (`summary.json`): everything after `outs.` is the name.
      const [, up, outsWord] = parts;
      const out = parts.slice(3).join(".");
      if (parts.length < 4 || outsWord !== "outs") {
        report(path, `Cannot resolve \${${ref}}`, "write ${stages.<stage>.outs.<output>}");
        return false;
      }
      const upstream = drafts.get(up);
      if (!upstream) {
        report(
          path,
          `Cannot resolve \${${ref}}: unknown stage "${up}"`,
          suggest(up, Object.keys(rawStages)),
        );
        return false;
      }
      if (up === stageName) {
        report(path, `Cannot use the stage's own output in \${${ref}}`);
        return false;
      }
      if (!(out in upstream.outs)) {
        report(
          path,
          `Cannot resolve \${${ref}}: stage "${up}" has no output "${out}"`,
          suggest(out, Object.keys(upstream.outs)),
        );
        return false;
      }
      needs.add(up);
      return true;
    };
    const inputs: Record<string, string> = {};
    let resolvedParams: Record<string, unknown> = {};
    let command: string | undefined;
    if (draft.kind === "run" && typeof raw.run === "string") {
      command = raw.run;
      for (const part of parseTemplate(raw.run)) {
        if ("ref" in part) {
          checkRef(
            `${base}.run`,
            part.ref,
            new Set(["params", "seed", "matrix", "deps", "stages"]),
          );
        }
      }
    }
    if (draft.kind === "ts" && draft.meta) {
      const meta = draft.meta;
      if (raw.inputs !== undefined && !isObject(raw.inputs)) {
        report(
          `${base}.inputs`,
          `Cannot accept ${typeName(raw.inputs)}: expected a mapping name -> placeholder`,
          'for example `inputs: { rows: "${stages.make.outs.rows}" }`',
        );
      } else {
        const given = (raw.inputs ?? {}) as Record<string, unknown>;
        for (const [input, value] of Object.entries(given)) {
          const p = `${base}.inputs.${input}`;
          if (!(input in meta.inputs)) {
            report(
              p,
              `Cannot accept unknown input "${input}"`,
              suggest(input, Object.keys(meta.inputs)),
              "key",
            );
            continue;
          }
          const parts = typeof value === "string" ? parseTemplate(value) : [];
          if (parts.length !== 1 || !("ref" in parts[0])) {
            report(
              p,
              `Cannot accept ${JSON.stringify(value)}: expected one placeholder`,
              'write "${stages.<stage>.outs.<output>}" or "${deps.<dep>}"',
            );
            continue;
          }
          if (checkRef(p, parts[0].ref, new Set(["deps", "stages"]))) inputs[input] = parts[0].ref;
        }
        for (const [input, spec] of Object.entries(meta.inputs)) {
          if (!spec.optional && !(input in given)) {
            report(
              `${base}.inputs`,
              `Cannot run without input "${input}" (${spec.description})`,
              `add \`inputs: { ${input}: "\${stages.<stage>.outs.<output>}" }\``,
              raw.inputs === undefined ? "key" : "value",
            );
            if (raw.inputs === undefined) {
              problems[problems.length - 1].location = locate(tree, `${base}.uses`);
            }
          }
        }
      }
      if (raw.with !== undefined && !isObject(raw.with)) {
        report(
          `${base}.with`,
          `Cannot accept ${typeName(raw.with)}: expected a mapping of parameters`,
          "for example `with: { epochs: 3 }`",
        );
      } else {
        const given = (raw.with ?? {}) as Record<string, unknown>;
        resolvedParams = {};
        for (const [param, value] of Object.entries(given)) {
          const p = `${base}.with.${param}`;
          const spec = meta.params[param];
          if (!spec) {
            report(
              p,
              `Cannot accept unknown parameter "${param}"`,
              suggest(param, Object.keys(meta.params)),
              "key",
            );
            continue;
          }
          let resolved: unknown = value;
          if (typeof value === "string" && value.includes("${")) {
            const parts = parseTemplate(value);
            let ok = true;
            for (const part of parts) {
              if ("ref" in part) {
                ok = checkRef(p, part.ref, new Set(["params", "seed", "matrix"])) && ok;
              }
            }
            if (!ok) continue;
            if (parts.some((x) => "ref" in x && x.ref.split(".")[0] === "matrix")) {
              // Resolved and checked per variant.
              stageTemplates.set(param, { value, explicit: true });
              continue;
            }
            resolved = resolveWith(
              value,
              (ref) => ref === "seed" ? seed : lookupParam(params, ref.split(".").slice(1)),
            );
          }
          const wrong = checkParam(spec, resolved);
          if (wrong) {
            report(
              p,
              `Cannot accept ${JSON.stringify(resolved)}: ${wrong}`,
              `${param}: ${spec.description}`,
            );
            continue;
          }
          resolvedParams[param] = resolved;
        }
        // A matrix key that names a parameter sets it, unless `with:` gives it.
        for (const [key] of draft.matrix ?? []) {
          if (key in meta.params && !(key in given)) {
            stageTemplates.set(key, { value: `\${matrix.${key}}`, explicit: false });
            usedKeys.add(key);
          }
        }
        for (const [param, spec] of Object.entries(meta.params)) {
          if (param in resolvedParams || param in given || stageTemplates.has(param)) continue;
          if (spec.default === undefined) {
            report(
              `${base}.with`,
              `Cannot run without parameter "${param}" (${spec.description})`,
              `add \`with: { ${param}: … }\``,
            );
            if (raw.with === undefined) {
              problems[problems.length - 1].location = locate(tree, `${base}.uses`);
            }
          } else resolvedParams[param] = structuredClone(spec.default);
        }
      }
    }
    let deterministic = draft.meta?.deterministic ?? true;
    if (raw.deterministic !== undefined) {
      if (typeof raw.deterministic !== "boolean") {
        report(
          `${base}.deterministic`,
          `Cannot accept ${typeName(raw.deterministic)}: expected true or false`,
        );
      } else deterministic = raw.deterministic;
    }
    if (raw.description !== undefined && typeof raw.description !== "string") {
      report(
        `${base}.description`,
        `Cannot accept ${typeName(raw.description)}: expected a string`,
      );
    }
    for (const [key] of draft.matrix ?? []) {
      if (usedKeys.has(key)) continue;
      report(
        `${base}.matrix.${key}`,
        `Cannot sweep "${key}": the stage does not use \${matrix.${key}}, so every variant ` +
          "would compute the same result",
        draft.kind === "run"
          ? `use \${matrix.${key}} in the command`
          : isObject(raw.with) && key in raw.with
          ? `\`with: { ${key}: ${JSON.stringify(raw.with[key])} }\` (perhaps from an extended ` +
            `file) wins over the matrix: write \`${key}: "\${matrix.${key}}"\``
          : `pass it as a parameter, e.g. \`with: { <param>: "\${matrix.${key}}" }\`, or name ` +
            "the key after a parameter of the stage",
        "key",
      );
    }
    stages.set(stageName, {
      name: stageName,
      kind: draft.kind,
      command,
      uses: draft.kind === "ts" ? raw.uses as string : undefined,
      module: draft.module,
      needs: [...needs].sort(),
      deps,
      outs: draft.outs,
      inputs,
      params: resolvedParams,
      deterministic,
      description: typeof raw.description === "string" ? raw.description : draft.meta?.description,
    });
  }
  if (problems.length > 0) return undefined;

  const order = topologicalOrder(stages, (cycle) => {
    report(
      `stages.${cycle[0]}.needs`,
      `Cannot order stages: a cycle ${cycle.join(" -> ")}`,
      "remove one of these dependencies",
      "key",
    );
  });
  if (!order) return undefined;

  const axes = matrixAxes(order, drafts, report);
  for (const { stage, path, ref } of matrixRefs) {
    const key = ref.split(".")[1];
    const known = axes.get(stage)!.map((a) => a.key);
    if (!known.includes(key)) {
      report(
        path,
        `Cannot resolve \${${ref}}: no such matrix key`,
        known.length > 0
          ? suggest(key, known)
          : `stage "${stage}" has no matrix: add \`matrix: { ${key}: [...] }\` or depend on a ` +
            "stage that has one",
      );
    }
  }
  if (problems.length > 0) return undefined;
  const expanded: StageDef[] = [];
  for (const stage of order) {
    expanded.push(...expandStage(stage, axes, {
      templates: templates.get(stage.name)!,
      meta: drafts.get(stage.name)!.meta,
      valueOf: (ref) => ref === "seed" ? seed : lookupParam(params, ref.split(".").slice(1)),
      report,
    }));
  }
  if (problems.length > 0) return undefined;

  const config: Record<string, unknown> = { name, seed };
  if (typeof root.description === "string") config.description = root.description;
  config.params = params;
  const configStages: Record<string, unknown> = {};
  for (const stage of order) {
    const entry: Record<string, unknown> = {};
    if (stage.description) entry.description = stage.description;
    if (stage.kind === "run") entry.run = stage.command;
    else entry.uses = stage.uses!.startsWith(".") ? stage.module : stage.uses;
    if (stage.needs.length > 0) entry.needs = stage.needs;
    if (Object.keys(stage.deps).length > 0) entry.deps = stage.deps;
    if (stage.kind === "run" && Object.keys(stage.outs).length > 0) entry.outs = stage.outs;
    if (Object.keys(stage.inputs).length > 0) {
      entry.inputs = Object.fromEntries(
        Object.entries(stage.inputs).map(([k, v]) => [k, `\${${v}}`]),
      );
    }
    const own = drafts.get(stage.name)!.matrix;
    if (own) entry.matrix = Object.fromEntries(own);
    if (stage.kind === "ts") {
      entry.with = { ...stage.params };
      // Variant-dependent values stay placeholders; implied ones stay implied.
      for (const [param, t] of templates.get(stage.name)!) {
        if (t.explicit) (entry.with as Record<string, unknown>)[param] = t.value;
      }
    }
    if (!stage.deterministic) entry.deterministic = false;
    configStages[stage.name] = entry;
  }
  config.stages = configStages;
  return { name, file, seed, params, stages: expanded, config, files: tree.files };
}

/** One matrix key reaching a stage: its own or inherited from an upstream matrix stage. */
interface Axis {
  key: string;
  /** The stage that declares it. */
  origin: string;
  /** Index of the origin in the topological order, then of the key in its matrix. */
  rank: [number, number];
  values: MatrixValue[];
}

/**
 * The matrix keys of every stage: those of its upstream stages (the same key from two different
 * matrix stages is an error) followed by its own, ordered by origin in the topological order.
 */
function matrixAxes(
  order: StageDef[],
  drafts: Map<string, { matrix?: [string, MatrixValue[]][] }>,
  report: Report,
): Map<string, Axis[]> {
  const axes = new Map<string, Axis[]>();
  order.forEach((stage, index) => {
    const list: Axis[] = [];
    for (const need of stage.needs) {
      for (const axis of axes.get(need) ?? []) {
        const same = list.find((a) => a.key === axis.key);
        if (!same) list.push(axis);
        else if (same.origin !== axis.origin) {
          report(
            `stages.${stage.name}`,
            `Cannot combine matrix key "${axis.key}" of stages "${same.origin}" and ` +
              `"${axis.origin}": both reach "${stage.name}"`,
            "rename the key in one of them (distinct keys combine as a cartesian product), or " +
              "make one of them depend on the other",
            "key",
          );
        }
      }
    }
    list.sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1]);
    (drafts.get(stage.name)?.matrix ?? []).forEach(([key, values], i) => {
      const inherited = list.find((a) => a.key === key);
      if (inherited) {
        report(
          `stages.${stage.name}.matrix.${key}`,
          `Cannot sweep "${key}" again: "${stage.name}" already has a variant per "${key}" ` +
            `of its upstream matrix stage "${inherited.origin}"`,
          `remove it here (\${matrix.${key}} already resolves per variant), or rename it`,
          "key",
        );
      } else list.push({ key, origin: stage.name, rank: [index, i], values });
    });
    axes.set(stage.name, list);
  });
  return axes;
}

/** The variant name for a stage and the values of its matrix keys: `name@a=1,b=x`. */
function variantName(name: string, assignment: [string, MatrixValue][]): string {
  if (assignment.length === 0) return name;
  return `${name}@${assignment.map(([k, v]) => `${k}=${formatValue(v)}`).join(",")}`;
}

/**
 * Expands one stage into its variants (a stage without matrix keys is returned as is): each
 * variant reads the variant of every upstream matrix stage that has the same values.
 */
function expandStage(
  stage: StageDef,
  axes: Map<string, Axis[]>,
  options: {
    templates: Map<string, { value: string; explicit: boolean }>;
    meta?: StageMeta;
    valueOf: (ref: string) => unknown;
    report: Report;
  },
): StageDef[] {
  const own = axes.get(stage.name)!;
  if (own.length === 0) return [stage];
  const count = own.reduce((n, axis) => n * axis.values.length, 1);
  if (count > MAX_VARIANTS) {
    options.report(
      `stages.${stage.name}`,
      `Cannot expand stage "${stage.name}" into ${count} variants (at most ${MAX_VARIANTS})`,
      `matrix keys reaching it: ${own.map((a) => `${a.key} (${a.values.length})`).join(", ")}`,
      "key",
    );
    return [];
  }
  // Cartesian product, the first key varying slowest.
  let assignments: [string, MatrixValue][][] = [[]];
  for (const axis of own) {
    assignments = assignments.flatMap((a) =>
      axis.values.map((v): [string, MatrixValue][] => [...a, [axis.key, v]])
    );
  }
  return assignments.map((assignment) => {
    const matrix = Object.fromEntries(assignment);
    const name = variantName(stage.name, assignment);
    const upstream: Record<string, string> = {};
    for (const need of stage.needs) {
      const keys = axes.get(need)!.map((a) => a.key);
      if (keys.length > 0) {
        upstream[need] = variantName(need, assignment.filter(([k]) => keys.includes(k)));
      }
    }
    const params = { ...stage.params };
    for (const [param, t] of options.templates) {
      const value = resolveWith(
        t.value,
        (ref) => ref.startsWith("matrix.") ? matrix[ref.slice(7)] : options.valueOf(ref),
      );
      const spec = options.meta?.params[param];
      const wrong = spec && checkParam(spec, value);
      if (wrong) {
        options.report(
          t.explicit
            ? `stages.${stage.name}.with.${param}`
            : `stages.${stage.name}.matrix.${param}`,
          `Cannot accept ${JSON.stringify(value)} in variant "${name}": ${wrong}`,
          `${param}: ${spec.description}`,
        );
      }
      params[param] = value;
    }
    return {
      ...stage,
      name,
      needs: stage.needs.map((n) => upstream[n] ?? n),
      params,
      base: stage.name,
      matrix,
      upstream,
    };
  });
}

/**
 * Orders stages so every stage comes after its needs, keeping declaration order where free.
 *
 * @param stages Stages by name, in declaration order.
 * @param onCycle Called with one cycle (first name repeated at the end) when there is one.
 * @returns The ordered stages, or undefined on a cycle.
 */
export function topologicalOrder(
  stages: Map<string, { name: string; needs: string[] }>,
  onCycle: (cycle: string[]) => void,
): StageDef[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const order: string[] = [];
  const stack: string[] = [];
  const visit = (name: string): boolean => {
    const s = state.get(name);
    if (s === "done") return true;
    if (s === "visiting") {
      onCycle([...stack.slice(stack.indexOf(name)), name]);
      return false;
    }
    state.set(name, "visiting");
    stack.push(name);
    for (const need of stages.get(name)!.needs) {
      if (!visit(need)) return false;
    }
    stack.pop();
    state.set(name, "done");
    order.push(name);
    return true;
  };
  for (const name of stages.keys()) {
    if (!visit(name)) return undefined;
  }
  return order.map((n) => stages.get(n) as StageDef);
}
