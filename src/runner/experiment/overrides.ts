/**
 * The overrides pass: `--set` assignments applied to the merged tree, and, once every
 * placeholder is known, a check of those that set parameters. A new parameter that nothing
 * uses is most likely a typo: close to an existing name it is an error ("did you mean"), else a
 * warning; an existing one that nothing uses is a warning too (the override changes no stage).
 *
 * @module
 */

import { applySet, type YamlModule } from "../yaml_source.ts";
import type { ValidationContext } from "./context.ts";
import { closest, isObject, suggest } from "./util.ts";

/** A `--set params.…` assignment, as the experiment stood before any override. */
export interface ParamOverride {
  /** The dotted path, `params.a.b`. */
  path: string;
  /**
   * Set when the experiment had no parameter at that path: the first name along it that did
   * not exist, and the names beside it that did.
   */
  missing?: { name: string; existing: string[] };
}

/**
 * Applies the `--set` assignments in order.
 *
 * @param ctx Collects the problems (located at `--set`).
 * @param sets The `path=value` assignments.
 * @returns The parameter overrides that applied, one per path.
 */
export async function applyOverrides(
  ctx: ValidationContext,
  sets: readonly string[],
): Promise<ParamOverride[]> {
  if (sets.length === 0) return [];
  // A variable specifier: Deno preloads literal dynamic imports at start-up (tens of ms).
  const specifier = "yaml";
  const yaml: YamlModule = await import(specifier);
  const before = structuredClone(ctx.tree.value.params);
  const overrides = new Map<string, ParamOverride>();
  for (const assignment of sets) {
    const problem = applySet(ctx.tree, assignment, yaml);
    const path = assignment.slice(0, assignment.indexOf("=")).trim();
    if (problem) ctx.add(problem);
    else if (path.startsWith("params.") && !overrides.has(path)) {
      overrides.set(path, describe(before, path));
    }
  }
  return [...overrides.values()];
}

/** Whether a parameter path existed before the overrides, and if not, where it departs. */
function describe(params: unknown, path: string): ParamOverride {
  let node = params;
  for (const name of path.split(".").slice(1)) {
    if (!isObject(node) || !(name in node)) {
      return { path, missing: { name, existing: isObject(node) ? Object.keys(node) : [] } };
    }
    node = node[name];
  }
  return { path };
}

/**
 * Checks the parameter overrides against the parameters that placeholders use.
 *
 * @param ctx Collects the problems and warnings.
 * @param overrides The parameter overrides.
 * @param used Every `params.…` reference that resolved, in `run:` commands and `with:` values.
 */
export function checkParamOverrides(
  ctx: ValidationContext,
  overrides: readonly ParamOverride[],
  used: ReadonlySet<string>,
): void {
  const uses = (path: string) =>
    [...used].some((ref) =>
      ref === path || ref.startsWith(`${path}.`) || path.startsWith(`${ref}.`)
    );
  for (const { path, missing } of overrides) {
    if (uses(path)) continue;
    const name = path.slice("params.".length);
    if (missing && closest(missing.name, missing.existing) !== undefined) {
      ctx.report(
        path,
        `Cannot set unknown parameter "${name}": the experiment has no such parameter`,
        suggest(missing.name, missing.existing),
        "key",
      );
      continue;
    }
    ctx.warn(
      path,
      `Setting ${missing ? "new " : ""}parameter "${name}" changes nothing: no placeholder uses it`,
      `\`run:\` commands and \`with:\` values read it as \${${path}}`,
      "key",
    );
  }
}
