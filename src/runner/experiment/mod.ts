/**
 * Parses and validates an experiment file into a typed, resolved {@linkcode Experiment}.
 * Every problem names file, line, column and key, with a hint; nothing runs before this passes.
 *
 * Validation runs in passes that report to one {@linkcode ValidationContext}: the `--set`
 * overrides, the top level, the stage drafts (kinds, modules, outputs), per stage its
 * references and parameters, the parameters that overrides set (once every placeholder is
 * known), the plan (a topological order), the matrix (expansion into variants) and the
 * resolved config.
 *
 * @module
 */

import { ExperimentError, type Problem } from "../errors.ts";
import { resolve } from "../path.ts";
import { loadSourceTree } from "../yaml_source.ts";
import { buildConfig } from "./config.ts";
import { ValidationContext } from "./context.ts";
import { draftStages } from "./drafts.ts";
import { checkMatrixRefs, expandStage, matrixAxes } from "./matrix.ts";
import { applyOverrides, checkParamOverrides, type ParamOverride } from "./overrides.ts";
import { topologicalOrder } from "./plan.ts";
import { resolveStages } from "./stages.ts";
import { checkTopLevel } from "./top_level.ts";
import type { Experiment, LoadExperimentOptions, StageDef } from "./types.ts";
import { scopeValue } from "./util.ts";

export type {
  Experiment,
  LoadExperimentOptions,
  MatrixValue,
  StageDef,
  StageMeta,
} from "./types.ts";
export { checkParam } from "./params.ts";
export { type PlanNode, topologicalOrder } from "./plan.ts";
export { compareProblems } from "./context.ts";

/**
 * Loads, merges, overrides and validates an experiment file.
 *
 * @param file Path of the YAML file.
 * @param options Overrides, built-ins and the module describer.
 * @returns The resolved experiment.
 * @throws {ExperimentError} With every problem found, in {@linkcode compareProblems} order.
 */
export async function loadExperiment(
  file: string,
  options: LoadExperimentOptions,
): Promise<Experiment> {
  const problems: Problem[] = [];
  const absFile = resolve(file);
  const { tree, save } = await loadSourceTree(absFile, problems, options.memoDir);
  if (!tree) throw new ExperimentError(problems);
  const ctx = new ValidationContext(tree, problems);
  const overrides = await applyOverrides(ctx, options.sets ?? []);
  const experiment = await validate(ctx, absFile, options, overrides);
  if (ctx.failed || !experiment) throw new ExperimentError(ctx.sorted());
  experiment.saveMemo = save;
  return experiment;
}

/** Runs the passes in order; each stops the validation where later ones would mislead. */
async function validate(
  ctx: ValidationContext,
  file: string,
  options: LoadExperimentOptions,
  overrides: readonly ParamOverride[],
): Promise<Experiment | undefined> {
  const top = checkTopLevel(ctx, file);
  if (!top) return undefined;
  const drafts = await draftStages(ctx, top.stages, options);
  const { stages, templates, matrixRefs, paramRefs } = resolveStages(ctx, drafts, top);
  // Only once every stage is resolved are all the parameters that placeholders use known.
  if (!ctx.failed) checkParamOverrides(ctx, overrides, paramRefs);
  if (ctx.failed) return undefined;

  const order = topologicalOrder(stages, (cycle) => {
    ctx.report(
      `stages.${cycle[0]}.needs`,
      `Cannot order stages: a cycle ${cycle.join(" -> ")}`,
      "remove one of these dependencies",
      "key",
    );
  });
  if (!order) return undefined;

  const axes = matrixAxes(ctx, order, drafts);
  checkMatrixRefs(ctx, matrixRefs, axes);
  if (ctx.failed) return undefined;
  const expanded: StageDef[] = [];
  for (const stage of order) {
    expanded.push(...expandStage(ctx, stage, axes, {
      templates: templates.get(stage.name)!,
      meta: drafts.get(stage.name)!.meta,
      valueOf: (ref) => scopeValue(top, ref),
    }));
  }
  if (ctx.failed) return undefined;

  const config = buildConfig(top, order, drafts, templates);
  const { name, seed, params } = top;
  return {
    name,
    file,
    seed,
    params,
    stages: expanded,
    config,
    files: ctx.tree.files,
    warnings: ctx.sorted("warnings"),
  };
}
