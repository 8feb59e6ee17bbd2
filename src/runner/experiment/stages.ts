/**
 * Resolves each drafted stage into a {@linkcode StageDef}: its references, then its parameters,
 * then its own keys (`deterministic:`, `description:`) and its unused matrix keys.
 *
 * @module
 */

import type { ValidationContext } from "./context.ts";
import { checkUnusedKeys } from "./matrix.ts";
import { resolveParams } from "./params.ts";
import { checkReferences, type MatrixRef, type ReferenceScope } from "./references.ts";
import type { TopLevel } from "./top_level.ts";
import type { Draft, ParamTemplate, StageDef } from "./types.ts";
import { typeName } from "./util.ts";

/** The declared stages, resolved. */
export interface ResolvedStages {
  /** Stage name -> definition, in declaration order (matrix stages not yet expanded). */
  stages: Map<string, StageDef>;
  /** Per stage: its variant-dependent parameters. */
  templates: Map<string, Map<string, ParamTemplate>>;
  /** Every `${matrix.<k>}` reference, checked once the matrix keys are known. */
  matrixRefs: MatrixRef[];
  /** Every `${params.…}` reference that resolves (`params.a.b`). */
  paramRefs: ReadonlySet<string>;
}

/**
 * Resolves every drafted stage that has a kind (and, for kind `ts`, a described module).
 *
 * @param ctx Collects the problems.
 * @param drafts The drafts, in declaration order.
 * @param top The experiment's top level.
 * @returns The resolved stages.
 */
export function resolveStages(
  ctx: ValidationContext,
  drafts: Map<string, Draft>,
  top: TopLevel,
): ResolvedStages {
  const scope: ReferenceScope = {
    seed: top.seed,
    params: top.params,
    rawStages: top.stages,
    drafts,
    matrixRefs: [],
    paramRefs: new Set(),
  };
  const stages = new Map<string, StageDef>();
  const templates = new Map<string, Map<string, ParamTemplate>>();
  for (const draft of drafts.values()) {
    if (!draft.kind) continue;
    if (draft.kind === "ts" && !draft.meta) continue;
    const resolved = resolveStage(ctx, draft, draft.kind, scope);
    stages.set(draft.name, resolved.stage);
    templates.set(draft.name, resolved.templates);
  }
  return { stages, templates, matrixRefs: scope.matrixRefs, paramRefs: scope.paramRefs };
}

function resolveStage(
  ctx: ValidationContext,
  draft: Draft,
  kind: "run" | "ts",
  scope: ReferenceScope,
): { stage: StageDef; templates: Map<string, ParamTemplate> } {
  const { raw, meta } = draft;
  const base = `stages.${draft.name}`;
  const { refs, command, inputs } = checkReferences(ctx, draft, scope);
  const { params, templates } = kind === "ts" && meta
    ? resolveParams(ctx, draft, meta, refs, scope)
    : { params: {}, templates: new Map<string, ParamTemplate>() };
  let deterministic = meta?.deterministic ?? true;
  if (raw.deterministic !== undefined) {
    if (typeof raw.deterministic !== "boolean") {
      ctx.report(
        `${base}.deterministic`,
        `Cannot accept ${typeName(raw.deterministic)}: expected true or false`,
      );
    } else deterministic = raw.deterministic;
  }
  if (raw.description !== undefined && typeof raw.description !== "string") {
    ctx.report(
      `${base}.description`,
      `Cannot accept ${typeName(raw.description)}: expected a string`,
    );
  }
  checkUnusedKeys(ctx, draft, refs.usedKeys);
  const stage: StageDef = {
    name: draft.name,
    kind,
    command,
    uses: kind === "ts" ? raw.uses as string : undefined,
    module: draft.module,
    needs: [...refs.needs].sort(),
    deps: refs.deps,
    outs: draft.outs,
    inputs,
    params,
    deterministic,
    description: typeof raw.description === "string" ? raw.description : meta?.description,
  };
  return { stage, templates };
}
