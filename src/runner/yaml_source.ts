/**
 * Reads YAML experiment files into plain values plus the source location of every key and
 * value, follows `extends:` with a deep merge, and applies `--set` overrides.
 *
 * @module
 */

import { dirname, join, resolve } from "./path.ts";
import { type Problem, type SourceLocation } from "./errors.ts";

/** A plain tree with a location for each dotted path (the key's and the value's). */
export interface SourceTree {
  /** The merged values. */
  value: Record<string, unknown>;
  /** Dotted path -> location of the key that introduced it. */
  keys: Map<string, SourceLocation>;
  /** Dotted path -> location of its value. */
  values: Map<string, SourceLocation>;
  /** Every file read, the experiment file first. */
  files: string[];
}

/** Joins a dotted path. */
export function joinPath(parent: string, key: string | number): string {
  return parent === "" ? String(key) : `${parent}.${key}`;
}

/** The location of `path`, or of its nearest ancestor that has one. */
export function locate(
  tree: SourceTree,
  path: string,
  prefer: "key" | "value" = "key",
): SourceLocation {
  let p = path;
  while (true) {
    const loc = (prefer === "key" ? tree.keys : tree.values).get(p) ??
      (prefer === "key" ? tree.values : tree.keys).get(p);
    if (loc) return loc;
    if (p === "") return { file: tree.files[0] ?? "?", line: 0, column: 0 };
    const dot = p.lastIndexOf(".");
    p = dot < 0 ? "" : p.slice(0, dot);
  }
}

/** The `yaml` package's module type. */
export type YamlModule = typeof import("yaml");

/** The `extends:` entry that names a file: where it is written and its text. */
interface ExtendsEntry {
  /** The location of the entry's value. */
  location: SourceLocation;
  /** The file name as written. */
  rel: string;
}

async function parseFile(
  yaml: YamlModule,
  file: string,
  problems: Problem[],
  from?: ExtendsEntry,
): Promise<SourceTree | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    // A file named by `extends:` is blamed on the entry that names it.
    problems.push(
      from
        ? {
          location: from.location,
          key: "extends",
          message: `Cannot extend "${from.rel}": ${
            error instanceof Deno.errors.NotFound
              ? `no such file (${file})`
              : `cannot read ${file}: ${(error as Error).message}`
          }`,
          hint: "files in `extends:` are relative to the file that names them",
        }
        : {
          location: { file, line: 0, column: 0 },
          key: "(file)",
          message: `Cannot read experiment file: ${(error as Error).message}`,
        },
    );
    return undefined;
  }
  const lineCounter = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number | undefined): SourceLocation => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { file, line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      problems.push({
        location: at(error.pos[0]),
        key: "(syntax)",
        message: `Cannot parse YAML: ${error.message.split("\n")[0]}`,
      });
    }
    return undefined;
  }
  const tree: SourceTree = { value: {}, keys: new Map(), values: new Map(), files: [file] };
  // deno-lint-ignore no-explicit-any
  const walk = (node: any, path: string): unknown => {
    if (node === null || node === undefined) return null;
    if (node.range) tree.values.set(path, at(node.range[0]));
    if (yaml.isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        // deno-lint-ignore no-explicit-any
        const keyNode = pair.key as any;
        const key = yaml.isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const childPath = joinPath(path, key);
        if (keyNode?.range) tree.keys.set(childPath, at(keyNode.range[0]));
        out[key] = walk(pair.value, childPath);
      }
      return out;
    }
    if (yaml.isSeq(node)) return node.items.map((item, i) => walk(item, joinPath(path, i)));
    if (yaml.isScalar(node)) return node.value;
    if (yaml.isAlias(node)) return node.resolve(doc)?.toJSON() ?? null;
    return node.toJSON();
  };
  const root = walk(doc.contents, "");
  if (root === null) {
    tree.value = {};
  } else if (typeof root !== "object" || Array.isArray(root)) {
    problems.push({
      location: at(0),
      key: "(document)",
      message: "Cannot read experiment: the document must be a mapping",
      hint: "start with keys such as `name:`, `params:` and `stages:`",
    });
    return undefined;
  } else {
    tree.value = root as Record<string, unknown>;
  }
  return tree;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep merge: mappings merge key by key, anything else in `over` replaces `base`. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = { ...structuredClone(base) };
  for (const [key, value] of Object.entries(over)) {
    out[key] = key in out ? deepMerge(out[key], value) : structuredClone(value);
  }
  return out;
}

/** A loaded tree and a function that stores it in the parse memo (call once valid). */
export interface LoadedSource {
  /** The merged tree, or undefined when a file cannot be read or parsed. */
  tree?: SourceTree;
  /** Saves the parse memo entry (a no-op on a memo hit or without a memo folder). */
  save: () => void;
}

interface MemoEntry {
  stats: Record<string, string>;
  tree: {
    value: Record<string, unknown>;
    keys: [string, SourceLocation][];
    values: [string, SourceLocation][];
    files: string[];
  };
}

function statKey(file: string): string | undefined {
  try {
    const info = Deno.statSync(file);
    const mtime = info.mtime?.getTime() ?? 0;
    // A file written within the last two seconds could change again under the same mtime.
    if (Date.now() - mtime < 2000) return undefined;
    return `${info.size}:${mtime}:${info.ino ?? 0}`;
  } catch {
    return undefined;
  }
}

/**
 * Loads an experiment file and the files it extends. With a memo folder, an unchanged set of
 * files (same size, mtime and inode) is read from the memo without loading the YAML parser.
 *
 * @param file Absolute path of the YAML file.
 * @param problems Collects syntax and `extends:` problems.
 * @param memoDir Folder of `parse.json`; nothing is written there until `save()` is called.
 * @returns The tree and a memo saver.
 */
export async function loadSourceTree(
  file: string,
  problems: Problem[],
  memoDir?: string,
): Promise<LoadedSource> {
  const memoPath = memoDir ? join(memoDir, "parse.json") : undefined;
  let memo: Record<string, MemoEntry> = {};
  if (memoPath) {
    try {
      memo = JSON.parse(Deno.readTextFileSync(memoPath));
    } catch {
      // Empty.
    }
    const hit = memo[file];
    if (hit && Object.entries(hit.stats).every(([f, k]) => statKey(f) === k)) {
      return {
        tree: {
          value: hit.tree.value,
          keys: new Map(hit.tree.keys),
          values: new Map(hit.tree.values),
          files: hit.tree.files,
        },
        save: () => {},
      };
    }
  }
  // A variable specifier: Deno preloads literal dynamic imports at start-up (tens of ms).
  const specifier = "yaml";
  const yaml: YamlModule = await import(specifier);
  const tree = await loadWithExtends(yaml, file, problems, []);
  if (!tree || !memoPath) return { tree, save: () => {} };
  const stats: Record<string, string> = {};
  for (const f of tree.files) {
    const k = statKey(f);
    if (k === undefined) return { tree, save: () => {} };
    stats[f] = k;
  }
  const entry: MemoEntry = {
    stats,
    tree: {
      value: structuredClone(tree.value),
      keys: [...tree.keys],
      values: [...tree.values],
      files: tree.files,
    },
  };
  return {
    tree,
    save: () => {
      memo[file] = entry;
      const tmp = `${memoPath}.${Deno.pid}.tmp`;
      Deno.mkdirSync(memoDir!, { recursive: true });
      Deno.writeTextFileSync(tmp, JSON.stringify(memo));
      Deno.renameSync(tmp, memoPath);
    },
  };
}

async function loadWithExtends(
  yaml: YamlModule,
  file: string,
  problems: Problem[],
  chain: string[],
  from?: ExtendsEntry,
): Promise<SourceTree | undefined> {
  const own = await parseFile(yaml, file, problems, from);
  if (!own) return undefined;
  const ext = own.value.extends;
  if (ext === undefined || ext === null) return own;
  const list = typeof ext === "string" ? [ext] : ext;
  const extLoc = own.values.get("extends") ?? { file, line: 0, column: 0 };
  if (!Array.isArray(list) || list.some((e) => typeof e !== "string")) {
    problems.push({
      location: extLoc,
      key: "extends",
      message: "Cannot extend: expected a file name or a list of file names",
      hint: "write `extends: base.yaml` (relative to this file)",
    });
    return undefined;
  }
  let merged: SourceTree = { value: {}, keys: new Map(), values: new Map(), files: [] };
  for (const [i, rel] of (list as string[]).entries()) {
    const baseFile = resolve(dirname(file), rel);
    const entry: ExtendsEntry = {
      location: (typeof ext === "string" ? undefined : own.values.get(`extends.${i}`)) ?? extLoc,
      rel,
    };
    if (baseFile === file || chain.includes(baseFile)) {
      problems.push({
        location: extLoc,
        key: "extends",
        message: `Cannot extend "${rel}": it extends itself through ${
          [...chain, file, baseFile].join(" -> ")
        }`,
        hint: "remove one of the `extends:` links",
      });
      return undefined;
    }
    const base = await loadWithExtends(yaml, baseFile, problems, [...chain, file], entry);
    if (!base) return undefined;
    merged = mergeTrees(merged, base);
  }
  delete merged.value.extends;
  const out = mergeTrees(merged, own);
  out.files = [file, ...merged.files.filter((f) => f !== file)];
  return out;
}

function mergeTrees(base: SourceTree, over: SourceTree): SourceTree {
  return {
    value: deepMerge(base.value, over.value) as Record<string, unknown>,
    keys: new Map([...base.keys, ...over.keys]),
    values: new Map([...base.values, ...over.values]),
    files: [...base.files, ...over.files],
  };
}

/**
 * Applies one `--set path=value` override. The value is parsed as YAML (`5`, `true`, `[1, 2]`,
 * `"text"`); one that does not parse is taken as text, unless it starts like a flow collection
 * or a quoted string (`[`, `{`, `"`, `'`): then it is an error, not a silent string.
 * Every key the override creates is located at `--set`, so that problems found in it later are
 * blamed on the flag rather than on the file holding its nearest existing parent.
 *
 * @param tree The tree to change.
 * @param assignment `dotted.path=value`.
 * @param yaml The yaml module (for scalar parsing).
 * @returns A problem, or undefined on success.
 */
export function applySet(
  tree: SourceTree,
  assignment: string,
  yaml: YamlModule,
): Problem | undefined {
  const location = { file: "--set", line: 0, column: 0 };
  const eq = assignment.indexOf("=");
  if (eq <= 0) {
    return {
      location,
      key: assignment,
      message: "Cannot apply --set: expected path=value",
      hint: "for example --set params.n=5",
    };
  }
  const path = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = raw.trim() === "" ? "" : yaml.parse(raw);
  } catch (error) {
    if (/^\s*["'[{]/.test(raw)) {
      return {
        location,
        key: path,
        message: `Cannot apply --set: cannot parse the value ${JSON.stringify(raw)}: ${
          (error as Error).message.split("\n")[0].replace(/:$/, "")
        }`,
        hint: 'write a complete YAML value, such as [1, 2] or "text" (quote it for the shell too)',
      };
    }
    value = raw;
  }
  const parts = path.split(".");
  if (parts.some((p) => p === "")) {
    return { location, key: path, message: "Cannot apply --set: empty path segment" };
  }
  if (parts[0] === "stages") {
    const stages = tree.value.stages;
    if (parts.length < 2 || !isPlainObject(stages) || !(parts[1] in stages)) {
      const known = isPlainObject(stages) ? Object.keys(stages).join(", ") : "none";
      const at = parts[1]?.indexOf("@") ?? -1;
      return {
        location,
        key: path,
        message: `Cannot apply --set: unknown stage "${parts[1] ?? ""}"`,
        // Matrix variants are not declared stages: their values come from the matrix.
        hint: at > 0
          ? `set the matrix of "${parts[1].slice(0, at)}" instead, e.g. ` +
            `--set stages.${parts[1].slice(0, at)}.matrix.<key>=[1,2]`
          : `stages: ${known}`,
      };
    }
  }
  let node: Record<string, unknown> = tree.value;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = node[parts[i]];
    if (next === undefined || next === null) {
      node[parts[i]] = {};
      // A key written with an empty value keeps its place in the file.
      const created = parts.slice(0, i + 1).join(".");
      if (!tree.keys.has(created)) tree.keys.set(created, location);
      if (!tree.values.has(created)) tree.values.set(created, location);
    } else if (!isPlainObject(next)) {
      return {
        location,
        key: path,
        message: `Cannot apply --set: "${parts.slice(0, i + 1).join(".")}" is not a mapping`,
      };
    }
    node = node[parts[i]] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
  tree.keys.set(path, location);
  tree.values.set(path, location);
  return undefined;
}
