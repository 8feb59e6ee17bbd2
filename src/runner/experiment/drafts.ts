/**
 * The drafts pass: each stage's name, keys, kind, module and output names (and its own
 * `matrix:`), so that the later passes can check references between stages.
 *
 * @module
 */

import { dirname, fromFileUrl, isAbsolute, normalize, resolve } from "../path.ts";
import type { ValidationContext } from "./context.ts";
import { parseMatrix } from "./matrix.ts";
import type { Draft, LoadExperimentOptions } from "./types.ts";
import { isObject, NAME, suggest, typeName } from "./util.ts";

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

/**
 * Drafts every stage; a stage whose name or mapping is wrong gets no draft.
 *
 * @param ctx Collects the problems.
 * @param rawStages The stages as written.
 * @param options Built-ins and the module describer.
 * @returns The drafts in declaration order, once every module is described.
 */
export async function draftStages(
  ctx: ValidationContext,
  rawStages: Record<string, unknown>,
  options: LoadExperimentOptions,
): Promise<Map<string, Draft>> {
  const drafts = new Map<string, Draft>();
  const describes: Promise<void>[] = [];
  for (const [name, raw] of Object.entries(rawStages)) {
    const base = `stages.${name}`;
    if (!NAME.test(name) || RESERVED_STAGE_NAMES.includes(name)) {
      ctx.report(
        base,
        `Cannot use "${name}" as a stage name`,
        RESERVED_STAGE_NAMES.includes(name)
          ? `"${name}" is reserved for the run folder`
          : "use letters, digits, '_' and '-'",
        "key",
      );
      continue;
    }
    if (!isObject(raw)) {
      ctx.report(
        base,
        `Cannot accept ${typeName(raw)} as a stage: expected a mapping`,
        "a stage needs `run:` (a shell command) or `uses:` (a TypeScript module)",
      );
      continue;
    }
    const draft: Draft = { name, raw, outs: {} };
    drafts.set(name, draft);
    for (const key of Object.keys(raw)) {
      if (!STAGE_KEYS.includes(key)) {
        ctx.report(
          `${base}.${key}`,
          `Cannot accept unknown stage key "${key}"`,
          suggest(key, STAGE_KEYS),
          "key",
        );
      }
    }
    if (raw.matrix !== undefined) draft.matrix = parseMatrix(ctx, raw.matrix, base);
    const hasRun = raw.run !== undefined;
    if (hasRun === (raw.uses !== undefined)) {
      ctx.report(
        base,
        hasRun
          ? "Cannot use both `run:` and `uses:` in one stage"
          : "Cannot run a stage without `run:` or `uses:`",
        "give either a shell command (`run:`) or a TypeScript module (`uses: ./stage.ts` or a built-in name)",
        "key",
      );
      continue;
    }
    if (hasRun) draftRun(ctx, draft);
    else {
      const describe = draftUses(ctx, draft, options);
      if (describe) describes.push(describe);
    }
  }
  await Promise.all(describes);
  return drafts;
}

/** Whether a relative output path stays inside the work dir. */
function isContainedPath(path: string): boolean {
  if (path === "" || isAbsolute(path)) return false;
  const norm = normalize(path);
  return norm !== "." && norm !== ".." && !norm.startsWith("../") && !norm.startsWith("/");
}

/** A `run:` stage: the command is a string, no `with:`/`inputs:`, and its `outs:`. */
function draftRun(ctx: ValidationContext, draft: Draft): void {
  const { raw } = draft;
  const base = `stages.${draft.name}`;
  draft.kind = "run";
  if (typeof raw.run !== "string" || raw.run.trim() === "") {
    ctx.report(
      `${base}.run`,
      `Cannot accept ${typeName(raw.run)} as a command: expected a non-empty string`,
    );
  }
  for (const key of ["with", "inputs"]) {
    if (raw[key] !== undefined) {
      ctx.report(
        `${base}.${key}`,
        `Cannot use \`${key}:\` in a \`run:\` stage`,
        key === "with"
          ? "use ${params.x} placeholders in the command"
          : "reference upstream outputs with ${stages.<s>.outs.<o>} in the command",
        "key",
      );
    }
  }
  if (raw.outs === undefined) return;
  if (!isObject(raw.outs)) {
    ctx.report(
      `${base}.outs`,
      `Cannot accept ${typeName(raw.outs)}: expected a mapping name -> path`,
      "for example `outs: { rows: rows.txt }`",
    );
    return;
  }
  for (const [out, path] of Object.entries(raw.outs)) {
    const p = `${base}.outs.${out}`;
    if (!NAME.test(out)) {
      ctx.report(
        p,
        `Cannot use "${out}" as an output name`,
        "use letters, digits, '_' and '-'",
        "key",
      );
    } else if (typeof path !== "string") {
      ctx.report(p, `Cannot accept ${typeName(path)}: expected a path`);
    } else if (!isContainedPath(path)) {
      ctx.report(
        p,
        `Cannot accept output path "${path}": it escapes the stage's work dir`,
        "outputs are relative paths inside the work dir, such as `out/rows.txt`",
      );
    } else if (!overlaps(ctx, draft, out, normalize(path))) draft.outs[out] = normalize(path);
  }
}

/**
 * Reports an output whose path is that of an output declared before it, or lies inside or
 * around one: each output is stored on its own, so one path cannot be two of them.
 *
 * @returns Whether it overlaps (and was reported).
 */
function overlaps(ctx: ValidationContext, draft: Draft, out: string, path: string): boolean {
  const written = (name: string) =>
    JSON.stringify((draft.raw.outs as Record<string, string>)[name]);
  for (const [other, otherPath] of Object.entries(draft.outs)) {
    const relation = path === otherPath
      ? "is the path of"
      : path.startsWith(`${otherPath}/`)
      ? "lies inside"
      : otherPath.startsWith(`${path}/`)
      ? "contains"
      : undefined;
    if (!relation) continue;
    ctx.report(
      `stages.${draft.name}.outs.${out}`,
      `Cannot accept output path ${written(out)}: it ${relation} output "${other}" (${
        written(other)
      })`,
      "give each output its own path, none inside another",
    );
    return true;
  }
  return false;
}

/**
 * A `uses:` stage: no `outs:`, and a module found from a path or a built-in name.
 *
 * @returns The description of the module under way (it sets `meta` and `outs`), or undefined
 *   when there is no module to describe.
 */
function draftUses(
  ctx: ValidationContext,
  draft: Draft,
  options: LoadExperimentOptions,
): Promise<void> | undefined {
  const { raw } = draft;
  const base = `stages.${draft.name}`;
  draft.kind = "ts";
  if (raw.outs !== undefined) {
    ctx.report(
      `${base}.outs`,
      "Cannot use `outs:` in a `uses:` stage",
      "a TypeScript stage declares its outputs in the module",
      "key",
    );
  }
  const uses = raw.uses;
  if (typeof uses !== "string" || uses === "") {
    ctx.report(
      `${base}.uses`,
      `Cannot accept ${typeName(uses)}: expected a module path or a built-in name`,
    );
    return undefined;
  }
  const modulePath = findModule(ctx, `${base}.uses`, uses, options.builtins ?? {});
  if (modulePath === undefined) return undefined;
  draft.module = modulePath;
  return options.describe(modulePath).then(
    (meta) => {
      draft.meta = meta;
      for (const out of meta.outputs) draft.outs[out] = out;
    },
    (error) => {
      ctx.report(
        `${base}.uses`,
        `Cannot load stage module "${uses}": ${(error as Error).message}`,
        "the module's default export must be a stage (see src/runner/stage.ts)",
      );
    },
  );
}

/** The absolute path of a `uses:` module: relative to its YAML file, a file URL or a built-in. */
function findModule(
  ctx: ValidationContext,
  path: string,
  uses: string,
  builtins: Record<string, string>,
): string | undefined {
  if (uses.startsWith("./") || uses.startsWith("../") || isAbsolute(uses)) {
    return resolve(dirname(ctx.fileOf(path)), uses);
  }
  if (uses.startsWith("file:")) return fromFileUrl(uses);
  const url = builtins[uses];
  if (url === undefined) {
    ctx.report(
      path,
      `Cannot find stage module "${uses}"`,
      suggest(uses, Object.keys(builtins)) + "; local modules start with ./",
    );
    return undefined;
  }
  if (!url.startsWith("file:")) {
    ctx.report(path, `Cannot use built-in "${uses}": its module ${url} is not a local file`);
    return undefined;
  }
  return fromFileUrl(url);
}
