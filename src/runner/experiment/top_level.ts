/**
 * The top-level pass: known keys, the experiment's name, seed, description and parameters,
 * and that there are stages.
 *
 * @module
 */

import { basename, extname } from "../path.ts";
import type { ValidationContext } from "./context.ts";
import type { Scope } from "./types.ts";
import { isObject, nonFinite, notFiniteProblem, suggest, typeName } from "./util.ts";

const EXPERIMENT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
// `lock:` is written by `deno task export` and read by `run --verify`; the engine ignores it.
const TOP_KEYS = ["name", "description", "seed", "params", "stages", "extends", "lock"];

/** The experiment-wide values of a valid top level. */
export interface TopLevel extends Scope {
  /** The experiment name (default: the file name). */
  name: string;
  /** The description, when it is a string. */
  description?: string;
  /** The stages as written: name -> stage mapping (not yet checked). */
  stages: Record<string, unknown>;
}

/**
 * Checks the top level of an experiment.
 *
 * @param ctx Collects the problems.
 * @param file The experiment file (its name is the default experiment name).
 * @returns The top level, or undefined when there are no stages to check.
 */
export function checkTopLevel(ctx: ValidationContext, file: string): TopLevel | undefined {
  const root = ctx.tree.value;
  for (const key of Object.keys(root)) {
    if (!TOP_KEYS.includes(key)) {
      ctx.report(key, `Cannot accept unknown key "${key}"`, suggest(key, TOP_KEYS), "key");
    }
  }
  let name = basename(file, extname(file));
  if (root.name !== undefined) {
    if (typeof root.name !== "string" || !EXPERIMENT_NAME.test(root.name)) {
      ctx.report(
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
      ctx.report(
        "seed",
        `Cannot use ${JSON.stringify(root.seed)} as the seed: expected an integer in [0, 2^32)`,
        "for example `seed: 42`",
      );
    } else seed = root.seed as number;
  }
  if (root.description !== undefined && typeof root.description !== "string") {
    ctx.report("description", `Cannot accept ${typeName(root.description)}: expected a string`);
  }
  let params: Record<string, unknown> = {};
  if (root.params !== undefined && root.params !== null) {
    if (!isObject(root.params)) {
      ctx.report(
        "params",
        `Cannot accept ${typeName(root.params)}: expected a mapping`,
        "for example `params: { n: 3 }`",
      );
    } else {
      params = root.params;
      for (const [path, value] of nonFinite(params, "params")) {
        ctx.report(path, ...notFiniteProblem(value));
      }
    }
  }
  if (!isObject(root.stages) || Object.keys(root.stages).length === 0) {
    ctx.report(
      "stages",
      "Cannot run an experiment without stages: expected a mapping of stages",
      "add `stages:` with at least one stage that has `run:` or `uses:`",
    );
    return undefined;
  }
  const description = typeof root.description === "string" ? root.description : undefined;
  return { name, seed, params, description, stages: root.stages };
}
