/**
 * The references pass of one stage: `needs:`, `deps:` and every `${…}` placeholder of its
 * command and `inputs:`, which adds the upstream stages it reads to its needs.
 *
 * @module
 */

import { dirname, resolve } from "../path.ts";
import { parseTemplate, RAW, splitRaw } from "../placeholders.ts";
import type { ValidationContext } from "./context.ts";
import type { Draft, Scope, StageMeta } from "./types.ts";
import { isObject, lookupParam, NAME, suggest, typeName } from "./util.ts";

/** Placeholder roots allowed in a `run:` command. */
const COMMAND_REFS = ["params", "seed", "matrix", "deps", "stages"];
/** Placeholder roots allowed in `inputs:`. */
const INPUT_REFS = ["deps", "stages"];
/** Placeholder roots that a `run:` command may take raw (unquoted): values, not paths. */
const RAW_REFS = ["params", "matrix"];

/** A `${matrix.<k>}` reference, checked once the matrix keys reaching each stage are known. */
export interface MatrixRef {
  /** The stage that uses it. */
  stage: string;
  /** The dotted path of the value that holds it. */
  path: string;
  /** The reference, `matrix.<k>`. */
  ref: string;
}

/** What the references of every stage are checked against. */
export interface ReferenceScope extends Scope {
  /** The stages as written (for `needs:` and hints). */
  rawStages: Record<string, unknown>;
  /** The drafted stages (for output references). */
  drafts: Map<string, Draft>;
  /** Collects the `${matrix.<k>}` references of every stage. */
  matrixRefs: MatrixRef[];
  /** Collects the `${params.…}` references of every stage that resolve (`params.a.b`). */
  paramRefs: Set<string>;
}

/** Checks the placeholders of one stage and records what they make it depend on. */
export class StageRefs {
  /** Upstream stages: explicit `needs:` plus those whose outputs are referenced. */
  readonly needs: Set<string>;
  /** Declared deps that exist: name -> absolute path. */
  readonly deps: Record<string, string>;
  /** Declared deps that are missing on disk (already reported, so not reported again). */
  readonly missingDeps: ReadonlySet<string>;
  /** Matrix keys the stage uses (so that sweeping them changes its result). */
  readonly usedKeys: Set<string> = new Set();
  readonly #ctx: ValidationContext;
  readonly #stage: string;
  readonly #scope: ReferenceScope;

  /**
   * Creates the checker of one stage.
   *
   * @param ctx Collects the problems.
   * @param stage The stage's name.
   * @param scope What references resolve against.
   * @param needs The stage's explicit `needs:` (output references add to it).
   * @param deps The stage's checked `deps:`: those that exist and those missing on disk.
   */
  constructor(
    ctx: ValidationContext,
    stage: string,
    scope: ReferenceScope,
    needs: Set<string>,
    deps: CheckedDeps,
  ) {
    this.#ctx = ctx;
    this.#stage = stage;
    this.#scope = scope;
    this.needs = needs;
    this.deps = deps.found;
    this.missingDeps = deps.missing;
  }

  /**
   * Checks one reference.
   *
   * @param path The dotted path of the value that holds it.
   * @param ref The reference, such as `stages.make.outs.rows`.
   * @param allowed The roots allowed in this value.
   * @returns Whether it resolves.
   */
  check(path: string, ref: string, allowed: readonly string[]): boolean {
    const parts = ref.split(".");
    const root = parts[0];
    if (root.startsWith(RAW)) {
      this.#ctx.report(
        path,
        `Cannot use placeholder \${${ref}} here`,
        "`raw:` is for parameter and matrix values in `run:` commands; elsewhere values are not quoted",
      );
      return false;
    }
    if (!allowed.includes(root)) {
      this.#ctx.report(
        path,
        `Cannot use placeholder \${${ref}} here`,
        `allowed here: ${
          allowed.map((a) => a === "seed" ? "${seed}" : `\${${a}.…}`).join(", ")
        }; write $\${…} for a literal`,
      );
      return false;
    }
    switch (root) {
      case "seed":
        if (parts.length !== 1) this.#ctx.report(path, `Cannot resolve \${${ref}}`, "use ${seed}");
        return parts.length === 1;
      case "matrix":
        if (parts.length !== 2) {
          this.#ctx.report(path, `Cannot resolve \${${ref}}`, "write ${matrix.<key>}");
          return false;
        }
        this.usedKeys.add(parts[1]);
        this.#scope.matrixRefs.push({ stage: this.#stage, path, ref });
        return true;
      case "params":
        return this.#checkParam(path, ref, parts);
      case "deps":
        // A dep missing on disk has its own problem; "no such dep" would be a second, wrong one.
        if (parts.length === 2 && this.missingDeps.has(parts[1])) return false;
        if (parts.length !== 2 || !(parts[1] in this.deps)) {
          this.#ctx.report(
            path,
            `Cannot resolve \${${ref}}: no such dep in this stage`,
            suggest(parts[1] ?? "", Object.keys(this.deps)),
          );
          return false;
        }
        return true;
      default:
        return this.#checkOutput(path, ref, parts);
    }
  }

  #checkParam(path: string, ref: string, parts: string[]): boolean {
    const { params } = this.#scope;
    if (parts.length < 2 || lookupParam(params, parts.slice(1)) === undefined) {
      this.#ctx.report(
        path,
        `Cannot resolve \${${ref}}: no such parameter`,
        suggest(parts.slice(1).join("."), Object.keys(params)),
      );
      return false;
    }
    this.#scope.paramRefs.add(ref);
    return true;
  }

  /**
   * Checks one placeholder of a `run:` command: a reference, or `raw:` and a parameter or
   * matrix value that goes into the command unquoted.
   *
   * @param path The dotted path of the command.
   * @param placeholder The placeholder's text, such as `raw:params.flags`.
   * @returns Whether it resolves.
   */
  checkCommand(path: string, placeholder: string): boolean {
    const { ref, raw } = splitRaw(placeholder);
    if (raw && !RAW_REFS.includes(ref.split(".")[0])) {
      this.#ctx.report(
        path,
        `Cannot use placeholder \${${placeholder}}: only parameter and matrix values can be raw`,
        `paths and \${seed} need no quoting choice: write \${${ref}}`,
      );
      return false;
    }
    return this.check(path, ref, COMMAND_REFS);
  }

  /** `stages.<s>.outs.<o>`: output names may contain dots, everything after `outs.` is one. */
  #checkOutput(path: string, ref: string, parts: string[]): boolean {
    const [, up, outsWord] = parts;
    const out = parts.slice(3).join(".");
    if (parts.length < 4 || outsWord !== "outs") {
      this.#ctx.report(path, `Cannot resolve \${${ref}}`, "write ${stages.<stage>.outs.<output>}");
      return false;
    }
    const upstream = this.#scope.drafts.get(up);
    if (!upstream) {
      this.#ctx.report(
        path,
        `Cannot resolve \${${ref}}: unknown stage "${up}"`,
        suggest(up, Object.keys(this.#scope.rawStages)),
      );
      return false;
    }
    if (up === this.#stage) {
      this.#ctx.report(path, `Cannot use the stage's own output in \${${ref}}`);
      return false;
    }
    if (!(out in upstream.outs)) {
      this.#ctx.report(
        path,
        `Cannot resolve \${${ref}}: stage "${up}" has no output "${out}"`,
        suggest(out, Object.keys(upstream.outs)),
      );
      return false;
    }
    this.needs.add(up);
    return true;
  }
}

/** The references of one stage, once checked. */
export interface StageReferences {
  /** The checker, for the placeholders of later passes (`with:`). */
  refs: StageRefs;
  /** The command template (kind `run`, when it is a string). */
  command?: string;
  /** Inputs that resolve (kind `ts`): name -> reference. */
  inputs: Record<string, string>;
}

/**
 * Checks a drafted stage's `needs:`, `deps:`, command and `inputs:`.
 *
 * @param ctx Collects the problems.
 * @param draft The stage (with a kind, and with its module's declarations for kind `ts`).
 * @param scope What references resolve against.
 * @returns The references.
 */
export function checkReferences(
  ctx: ValidationContext,
  draft: Draft,
  scope: ReferenceScope,
): StageReferences {
  const { raw } = draft;
  const base = `stages.${draft.name}`;
  const needs = checkNeeds(ctx, draft, scope.rawStages);
  const deps = checkDeps(ctx, base, raw.deps);
  const refs = new StageRefs(ctx, draft.name, scope, needs, deps);
  let command: string | undefined;
  if (draft.kind === "run" && typeof raw.run === "string") {
    command = raw.run;
    for (const part of parseTemplate(raw.run)) {
      if ("ref" in part) refs.checkCommand(`${base}.run`, part.ref);
    }
  }
  const inputs = draft.kind === "ts" && draft.meta ? checkInputs(ctx, draft, draft.meta, refs) : {};
  return { refs, command, inputs };
}

/** `needs:`: a list of other declared stages. */
function checkNeeds(
  ctx: ValidationContext,
  draft: Draft,
  rawStages: Record<string, unknown>,
): Set<string> {
  const { raw, name } = draft;
  const base = `stages.${name}`;
  const needs = new Set<string>();
  if (raw.needs === undefined) return needs;
  if (!Array.isArray(raw.needs) || raw.needs.some((n) => typeof n !== "string")) {
    ctx.report(
      `${base}.needs`,
      `Cannot accept ${typeName(raw.needs)}: expected a list of stage names`,
      "for example `needs: [make]`",
    );
    return needs;
  }
  raw.needs.forEach((n: string, i: number) => {
    if (!(n in rawStages)) {
      ctx.report(
        `${base}.needs.${i}`,
        `Cannot depend on unknown stage "${n}"`,
        suggest(n, Object.keys(rawStages)),
      );
    } else if (n === name) {
      ctx.report(`${base}.needs.${i}`, `Cannot depend on itself`, "remove it from `needs:`");
    } else needs.add(n);
  });
  return needs;
}

/** A stage's `deps:`, once checked. */
export interface CheckedDeps {
  /** Those that exist: name -> absolute path. */
  found: Record<string, string>;
  /** The names of those missing on disk. */
  missing: Set<string>;
}

/** `deps:`: name -> a file or folder that exists, relative to the YAML file declaring it. */
function checkDeps(
  ctx: ValidationContext,
  base: string,
  raw: unknown,
): CheckedDeps {
  const deps: Record<string, string> = {};
  const checked = { found: deps, missing: new Set<string>() };
  if (raw === undefined) return checked;
  if (!isObject(raw)) {
    ctx.report(
      `${base}.deps`,
      `Cannot accept ${typeName(raw)}: expected a mapping name -> path`,
      "for example `deps: { input: data/input.txt }`",
    );
    return checked;
  }
  for (const [dep, path] of Object.entries(raw)) {
    const p = `${base}.deps.${dep}`;
    if (!NAME.test(dep)) {
      ctx.report(p, `Cannot use "${dep}" as a dep name`, "use letters, digits, '_' and '-'", "key");
    } else if (typeof path !== "string" || path === "") {
      ctx.report(p, `Cannot accept ${typeName(path)}: expected a path`);
    } else {
      const abs = resolve(dirname(ctx.fileOf(p)), path);
      try {
        Deno.statSync(abs);
        deps[dep] = abs;
      } catch {
        checked.missing.add(dep);
        ctx.report(
          p,
          `Cannot find dep "${path}" (${abs})`,
          "deps are files or directories relative to the YAML file that declares them",
        );
      }
    }
  }
  return checked;
}

/** `inputs:` of a TypeScript stage: each a declared input given one reference. */
function checkInputs(
  ctx: ValidationContext,
  draft: Draft,
  meta: StageMeta,
  refs: StageRefs,
): Record<string, string> {
  const { raw } = draft;
  const base = `stages.${draft.name}`;
  const inputs: Record<string, string> = {};
  if (raw.inputs !== undefined && !isObject(raw.inputs)) {
    ctx.report(
      `${base}.inputs`,
      `Cannot accept ${typeName(raw.inputs)}: expected a mapping name -> placeholder`,
      'for example `inputs: { rows: "${stages.make.outs.rows}" }`',
    );
    return inputs;
  }
  const given = (raw.inputs ?? {}) as Record<string, unknown>;
  for (const [input, value] of Object.entries(given)) {
    const p = `${base}.inputs.${input}`;
    if (!(input in meta.inputs)) {
      ctx.report(
        p,
        `Cannot accept unknown input "${input}"`,
        suggest(input, Object.keys(meta.inputs)),
        "key",
      );
      continue;
    }
    const parts = typeof value === "string" ? parseTemplate(value) : [];
    if (parts.length !== 1 || !("ref" in parts[0])) {
      ctx.report(
        p,
        `Cannot accept ${JSON.stringify(value)}: expected one placeholder`,
        'write "${stages.<stage>.outs.<output>}" or "${deps.<dep>}"',
      );
      continue;
    }
    if (refs.check(p, parts[0].ref, INPUT_REFS)) inputs[input] = parts[0].ref;
  }
  for (const [input, spec] of Object.entries(meta.inputs)) {
    if (!spec.optional && !(input in given)) {
      ctx.report(
        `${base}.inputs`,
        `Cannot run without input "${input}" (${spec.description})`,
        `add \`inputs: { ${input}: "\${stages.<stage>.outs.<output>}" }\``,
        // Without `inputs:`, point at the stage's module.
        raw.inputs === undefined ? { path: `${base}.uses`, prefer: "key" } : "value",
      );
    }
  }
  return inputs;
}
