/**
 * The parameters pass of one TypeScript stage: `with:` values checked against the module's
 * declarations, over its defaults; values that depend on the matrix stay templates, resolved
 * per variant by the matrix pass.
 *
 * @module
 */

import { formatValue, parseTemplate } from "../placeholders.ts";
import type { ParamSpec } from "../stage.ts";
import type { ValidationContext } from "./context.ts";
import type { StageRefs } from "./references.ts";
import type { Draft, ParamTemplate, Scope, StageMeta } from "./types.ts";
import { isObject, nonFinite, notFiniteProblem, scopeValue, suggest, typeName } from "./util.ts";

/** Placeholder roots allowed in `with:` values. */
const WITH_REFS = ["params", "seed", "matrix"];

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

/**
 * Resolves a `with:` value: exactly one placeholder keeps its type, anything else is text.
 *
 * @param value The value as written.
 * @param valueOf The value of one reference.
 * @returns The resolved value.
 */
export function resolveWith(value: string, valueOf: (ref: string) => unknown): unknown {
  const parts = parseTemplate(value);
  return parts.length === 1 && "ref" in parts[0]
    ? valueOf(parts[0].ref)
    : parts.map((x) => ("text" in x ? x.text : formatValue(valueOf(x.ref)))).join("");
}

/** The parameters of one stage, once checked. */
export interface StageParams {
  /** Resolved parameters: `with:` over the declared defaults (variant-independent ones). */
  params: Record<string, unknown>;
  /** Parameters that depend on the variant: parameter -> template. */
  templates: Map<string, ParamTemplate>;
}

/**
 * Checks and resolves the `with:` of a drafted TypeScript stage.
 *
 * @param ctx Collects the problems.
 * @param draft The stage, with its own `matrix:`.
 * @param meta The module's declarations.
 * @param refs Checks the placeholders of `with:` values (and learns the matrix keys they use).
 * @param scope What `${seed}` and `${params.…}` resolve to.
 * @returns The parameters.
 */
export function resolveParams(
  ctx: ValidationContext,
  draft: Draft,
  meta: StageMeta,
  refs: StageRefs,
  scope: Scope,
): StageParams {
  const { raw } = draft;
  const base = `stages.${draft.name}`;
  const params: Record<string, unknown> = {};
  const templates = new Map<string, ParamTemplate>();
  if (raw.with !== undefined && !isObject(raw.with)) {
    ctx.report(
      `${base}.with`,
      `Cannot accept ${typeName(raw.with)}: expected a mapping of parameters`,
      "for example `with: { epochs: 3 }`",
    );
    return { params, templates };
  }
  const given = (raw.with ?? {}) as Record<string, unknown>;
  for (const [param, value] of Object.entries(given)) {
    const p = `${base}.with.${param}`;
    const spec = meta.params[param];
    if (!spec) {
      ctx.report(
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
        if ("ref" in part) ok = refs.check(p, part.ref, WITH_REFS) && ok;
      }
      if (!ok) continue;
      if (parts.some((x) => "ref" in x && x.ref.split(".")[0] === "matrix")) {
        // Resolved and checked per variant.
        templates.set(param, { value, explicit: true });
        continue;
      }
      resolved = resolveWith(value, (ref) => scopeValue(scope, ref));
    }
    const infinite = nonFinite(resolved, p);
    if (infinite.length > 0) {
      // Through a placeholder, the experiment's parameter is already reported.
      if (resolved === value) {
        for (const [path, number] of infinite) ctx.report(path, ...notFiniteProblem(number));
      }
      continue;
    }
    const wrong = checkParam(spec, resolved);
    if (wrong) {
      ctx.report(
        p,
        `Cannot accept ${JSON.stringify(resolved)}: ${wrong}`,
        `${param}: ${spec.description}`,
      );
      continue;
    }
    params[param] = resolved;
  }
  // A matrix key that names a parameter sets it, unless `with:` gives it.
  for (const [key] of draft.matrix ?? []) {
    if (key in meta.params && !(key in given)) {
      templates.set(key, { value: `\${matrix.${key}}`, explicit: false });
      refs.usedKeys.add(key);
    }
  }
  for (const [param, spec] of Object.entries(meta.params)) {
    if (param in params || param in given || templates.has(param)) continue;
    if (spec.default === undefined) {
      ctx.report(
        `${base}.with`,
        `Cannot run without parameter "${param}" (${spec.description})`,
        `add \`with: { ${param}: … }\``,
        // Without `with:`, point at the stage's module.
        raw.with === undefined ? { path: `${base}.uses`, prefer: "key" } : "value",
      );
    } else params[param] = structuredClone(spec.default);
  }
  return { params, templates };
}
