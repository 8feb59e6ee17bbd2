/**
 * The matrix pass: each stage's `matrix:`, the matrix keys reaching every stage through its
 * upstream stages, and the expansion of a stage into one variant per combination of values.
 *
 * @module
 */

import { formatValue } from "../placeholders.ts";
import type { ValidationContext } from "./context.ts";
import { checkParam, resolveWith } from "./params.ts";
import type { MatrixRef } from "./references.ts";
import type {
  Draft,
  MatrixAxes,
  MatrixValue,
  ParamTemplate,
  StageDef,
  StageMeta,
} from "./types.ts";
import { isObject, suggest, typeName } from "./util.ts";

const MATRIX_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Matrix values become part of stage (and folder) names: `train@temperature=1.15`.
const MATRIX_TEXT = /^[A-Za-z0-9_.+-]+$/;
// A typo such as a range of 1000 values in two keys must not build millions of stages.
const MAX_VARIANTS = 10_000;

/**
 * Validates a stage's `matrix:` (key -> non-empty list of distinct scalars).
 *
 * @param ctx Collects the problems.
 * @param raw The matrix as written.
 * @param base The stage's path, `stages.<name>`.
 * @returns The valid keys and their values, or undefined when it is not a mapping.
 */
export function parseMatrix(
  ctx: ValidationContext,
  raw: unknown,
  base: string,
): MatrixAxes | undefined {
  const path = `${base}.matrix`;
  if (!isObject(raw) || Object.keys(raw).length === 0) {
    ctx.report(
      path,
      `Cannot accept ${typeName(raw)} as a matrix: expected a mapping key -> list of values`,
      "for example `matrix: { temperature: [0.5, 1.0] }`",
    );
    return undefined;
  }
  const out: MatrixAxes = [];
  for (const [key, values] of Object.entries(raw)) {
    const p = `${path}.${key}`;
    if (!MATRIX_KEY.test(key)) {
      ctx.report(p, `Cannot use "${key}" as a matrix key`, "use letters, digits and '_'", "key");
      continue;
    }
    if (!Array.isArray(values) || values.length === 0) {
      ctx.report(
        p,
        `Cannot accept ${typeName(values)}: expected a non-empty list of values`,
        `for example \`${key}: [1, 2]\`; --set takes \`${p}=[1,2]\``,
      );
      continue;
    }
    if (checkValues(ctx, p, values)) out.push([key, values as MatrixValue[]]);
  }
  return out;
}

/** Whether every value of one key is a scalar that names a variant of its own. */
function checkValues(ctx: ValidationContext, path: string, values: unknown[]): boolean {
  const seen = new Map<string, MatrixValue>();
  let ok = true;
  values.forEach((value: unknown, i: number) => {
    const at = `${path}.${i}`;
    if (!["string", "number", "boolean"].includes(typeof value)) {
      ctx.report(at, `Cannot accept ${typeName(value)} as a matrix value: expected a scalar`);
      ok = false;
      return;
    }
    const text = formatValue(value);
    if (!MATRIX_TEXT.test(text) || (typeof value === "number" && !Number.isFinite(value))) {
      ctx.report(
        at,
        `Cannot accept ${JSON.stringify(value)} as a matrix value`,
        "values name the variants (`stage@key=value`): use numbers, booleans or letters, " +
          "digits, '_', '.', '+' and '-'",
      );
      ok = false;
    } else if (seen.has(text)) {
      ctx.report(
        at,
        `Cannot accept ${JSON.stringify(value)} twice: it names the same variant as ${
          JSON.stringify(seen.get(text))
        }`,
        "remove the duplicate",
      );
      ok = false;
    } else seen.set(text, value as MatrixValue);
  });
  return ok;
}

/**
 * Reports the stage's own matrix keys that nothing in the stage uses.
 *
 * @param ctx Collects the problems.
 * @param draft The stage.
 * @param usedKeys The matrix keys its placeholders (or parameters) use.
 */
export function checkUnusedKeys(
  ctx: ValidationContext,
  draft: Draft,
  usedKeys: ReadonlySet<string>,
): void {
  const { raw } = draft;
  for (const [key] of draft.matrix ?? []) {
    if (usedKeys.has(key)) continue;
    ctx.report(
      `stages.${draft.name}.matrix.${key}`,
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
}

/** One matrix key reaching a stage: its own or inherited from an upstream matrix stage. */
export interface Axis {
  /** The matrix key. */
  key: string;
  /** The stage that declares it. */
  origin: string;
  /** Index of the origin in the topological order, then of the key in its matrix. */
  rank: [number, number];
  /** Its values. */
  values: MatrixValue[];
}

/**
 * The matrix keys of every stage: those of its upstream stages (the same key from two different
 * matrix stages is an error) followed by its own, ordered by origin in the topological order.
 *
 * @param ctx Collects the problems.
 * @param order The stages in topological order.
 * @param drafts The drafts, for each stage's own matrix.
 * @returns Stage name -> its axes.
 */
export function matrixAxes(
  ctx: ValidationContext,
  order: StageDef[],
  drafts: Map<string, { matrix?: MatrixAxes }>,
): Map<string, Axis[]> {
  const axes = new Map<string, Axis[]>();
  order.forEach((stage, index) => {
    const list: Axis[] = [];
    for (const need of stage.needs) {
      for (const axis of axes.get(need) ?? []) {
        const same = list.find((a) => a.key === axis.key);
        if (!same) list.push(axis);
        else if (same.origin !== axis.origin) {
          ctx.report(
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
        ctx.report(
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

/**
 * Reports `${matrix.<k>}` references to keys that do not reach their stage.
 *
 * @param ctx Collects the problems.
 * @param refs Every matrix reference.
 * @param axes The matrix keys of every stage.
 */
export function checkMatrixRefs(
  ctx: ValidationContext,
  refs: readonly MatrixRef[],
  axes: Map<string, Axis[]>,
): void {
  for (const { stage, path, ref } of refs) {
    const key = ref.split(".")[1];
    const known = axes.get(stage)!.map((a) => a.key);
    if (!known.includes(key)) {
      ctx.report(
        path,
        `Cannot resolve \${${ref}}: no such matrix key`,
        known.length > 0
          ? suggest(key, known)
          : `stage "${stage}" has no matrix: add \`matrix: { ${key}: [...] }\` or depend on a ` +
            "stage that has one",
      );
    }
  }
}

/** The variant name for a stage and the values of its matrix keys: `name@a=1,b=x`. */
function variantName(name: string, assignment: [string, MatrixValue][]): string {
  if (assignment.length === 0) return name;
  return `${name}@${assignment.map(([k, v]) => `${k}=${formatValue(v)}`).join(",")}`;
}

/** What {@linkcode expandStage} resolves a stage's variant-dependent parameters with. */
export interface ExpandOptions {
  /** Parameter -> template of the variant-dependent parameters. */
  templates: Map<string, ParamTemplate>;
  /** The module's declarations (kind `ts`), to check each variant's values. */
  meta?: StageMeta;
  /** The value of an experiment-wide reference (`seed`, `params.…`). */
  valueOf: (ref: string) => unknown;
}

/**
 * Expands one stage into its variants (a stage without matrix keys is returned as is): each
 * variant reads the variant of every upstream matrix stage that has the same values.
 *
 * @param ctx Collects the problems.
 * @param stage The stage.
 * @param axes The matrix keys of every stage.
 * @param options Its templates and declarations.
 * @returns The variants in matrix order, the first key varying slowest.
 */
export function expandStage(
  ctx: ValidationContext,
  stage: StageDef,
  axes: Map<string, Axis[]>,
  options: ExpandOptions,
): StageDef[] {
  const own = axes.get(stage.name)!;
  if (own.length === 0) return [stage];
  const count = own.reduce((n, axis) => n * axis.values.length, 1);
  if (count > MAX_VARIANTS) {
    ctx.report(
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
        ctx.report(
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
