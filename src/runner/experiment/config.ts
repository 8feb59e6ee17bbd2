/**
 * The config pass: the resolved experiment as plain data, written as `config.yaml` and
 * runnable as is (declared stages, not their variants).
 *
 * @module
 */

import type { TopLevel } from "./top_level.ts";
import type { Draft, ParamTemplate, StageDef } from "./types.ts";

/**
 * Builds the resolved config of a valid experiment.
 *
 * @param top The experiment's name, seed, description and parameters.
 * @param order The declared stages in topological order.
 * @param drafts The drafts, for each stage's own matrix.
 * @param templates Per stage: its variant-dependent parameters.
 * @returns The config.
 */
export function buildConfig(
  top: TopLevel,
  order: readonly StageDef[],
  drafts: Map<string, Draft>,
  templates: Map<string, Map<string, ParamTemplate>>,
): Record<string, unknown> {
  const config: Record<string, unknown> = { name: top.name, seed: top.seed };
  if (top.description !== undefined) config.description = top.description;
  config.params = top.params;
  const stages: Record<string, unknown> = {};
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
    stages[stage.name] = entry;
  }
  config.stages = stages;
  return config;
}
