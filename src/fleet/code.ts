/**
 * Code travels like data: the files of a stage's code fingerprint go to the remote by content
 * hash and each worker rebuilds them as a tree (its own runner folder linked in), so it runs
 * exactly the code the runner fingerprinted. What the fingerprint leaves out, the runner itself
 * and the npm packages, must match: a worker whose versions differ refuses the job.
 *
 * @module
 */

import { dirname, fromFileUrl, join, relative, resolve } from "../runner/path.ts";
import { KEY_VERSION } from "../runner/cache_key.ts";
import { CodeFingerprinter, packageId } from "../runner/fingerprint.ts";
import type { CodeFingerprint } from "../runner/fingerprint.ts";
import { blake3Hex, canonicalJson, type ContentHash } from "../runner/hash.ts";
import type { Store } from "../runner/store.ts";
import { type CodeTree, type FleetJob, JOB_VERSION } from "./queue.ts";

/** The ditto project this process runs from. */
export const PROJECT_ROOT: string = dirname(dirname(dirname(fromFileUrl(import.meta.url))));
const RUNNER_DIR = join(PROJECT_ROOT, "src", "runner");
const NODE_MODULES = join(PROJECT_ROOT, "node_modules");
/** The deno.json of this installation (its import map names the installed packages). */
export const PROJECT_CONFIG: string = join(PROJECT_ROOT, "deno.json");

let version: Promise<string> | undefined;

/**
 * This installation's ditto version: a hash of the runner code a stage runs under (the stage
 * host and what it loads, which code fingerprints leave out) and of the key format.
 *
 * @returns 16 hex digits.
 */
export function dittoVersion(): Promise<string> {
  return version ??= (async () => {
    const fingerprinter = new CodeFingerprinter();
    const parts: CodeFingerprint[] = [];
    for (const entry of ["stage_host.ts", "stage_executor.ts"]) {
      parts.push(await fingerprinter.fingerprint(join(RUNNER_DIR, entry)));
    }
    return (await blake3Hex(canonicalJson({ v: KEY_VERSION, parts }))).slice(0, 16);
  })();
}

/** The versioned npm and jsr packages this installation's import map provides. */
export function installedPackages(config = PROJECT_CONFIG): Set<string> {
  const out = new Set<string>();
  try {
    const imports = JSON.parse(Deno.readTextFileSync(config)).imports ?? {};
    for (const target of Object.values(imports) as string[]) {
      if (target.startsWith("npm:") || target.startsWith("jsr:")) out.add(packageId(target));
    }
  } catch {
    // No import map: no packages.
  }
  return out;
}

/** `npm:@scope/name@1.2.3` -> `npm:@scope/name`. */
function packageName(id: string): string {
  const at = id.lastIndexOf("@");
  return at > 4 ? id.slice(0, at) : id;
}

/**
 * Why this worker must not run a job, or undefined when it may.
 *
 * @param job The job.
 * @param ditto This worker's {@linkcode dittoVersion}.
 * @param installed This worker's {@linkcode installedPackages}.
 * @returns The reason.
 */
export function refusal(job: FleetJob, ditto: string, installed: Set<string>): string | undefined {
  if (job.v !== JOB_VERSION) return `job format ${job.v}, this worker reads ${JOB_VERSION}`;
  if (job.ditto !== ditto) return `ditto version ${job.ditto} wanted, this worker has ${ditto}`;
  const problems: string[] = [];
  for (const id of job.code?.packages ?? []) {
    if (!/^(npm|jsr):/.test(id) || installed.has(id)) continue;
    const other = [...installed].find((p) => packageName(p) === packageName(id));
    problems.push(other ? `${id} wanted, this worker has ${other}` : `${id} is not installed`);
  }
  return problems.length > 0 ? problems.join("; ") : undefined;
}

/** The absolute path of each file of a fingerprint (entries marked missing left out). */
export function fingerprintPaths(module: string, code: CodeFingerprint): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, hash] of Object.entries(code.files)) {
    if (hash === "missing") continue;
    const path = name.startsWith("ditto:")
      ? join(PROJECT_ROOT, name.slice("ditto:".length))
      : resolve(dirname(module), name);
    out.set(name, path);
  }
  return out;
}

/** The deepest folder holding every path. */
function commonFolder(paths: string[]): string {
  let common = dirname(paths[0]);
  for (const path of paths) {
    while (relative(common, path).startsWith("..")) common = dirname(common);
  }
  return common;
}

/**
 * Lays out a stage's code as a tree: paths relative to the project (or, for a stage outside it,
 * to the folder holding both), with the runner folder's place recorded.
 *
 * @param module The stage module (absolute).
 * @param code Its fingerprint.
 * @param content Hashes a file into the store (the runner's).
 * @returns The tree and the module's path in it.
 */
export async function codeTree(
  module: string,
  code: CodeFingerprint,
  content: (path: string) => Promise<ContentHash>,
): Promise<{ tree: CodeTree; entry: string }> {
  const paths = [...fingerprintPaths(module, code).values()];
  const root = commonFolder([...paths, join(PROJECT_ROOT, "x")]);
  const files: Record<string, ContentHash> = {};
  for (const path of paths.sort()) files[relative(root, path)] = await content(path);
  return {
    tree: { files, project: relative(root, PROJECT_ROOT) || ".", packages: code.packages },
    entry: relative(root, module),
  };
}

/**
 * Builds a code tree once under `dir` (kept: the next job with the same code reuses it), its
 * runner folder and node_modules links to this worker's own.
 *
 * @param store The worker's store, holding every file of the tree.
 * @param tree The tree.
 * @param dir Folder of code trees.
 * @returns The tree's folder.
 */
export async function materializeCode(store: Store, tree: CodeTree, dir: string): Promise<string> {
  const id = (await blake3Hex(canonicalJson(tree))).slice(0, 24);
  const final = join(dir, id);
  try {
    Deno.statSync(final);
    return final;
  } catch {
    // Built below.
  }
  Deno.mkdirSync(dir, { recursive: true });
  const building = Deno.makeTempDirSync({ dir, prefix: `.${id}-` });
  for (const [path, content] of Object.entries(tree.files)) {
    const dest = join(building, path);
    Deno.mkdirSync(dirname(dest), { recursive: true });
    store.materialize(content, dest);
  }
  const project = join(building, tree.project);
  for (const [link, target] of [["src/runner", RUNNER_DIR], ["node_modules", NODE_MODULES]]) {
    Deno.mkdirSync(dirname(join(project, link)), { recursive: true });
    Deno.symlinkSync(target, join(project, link));
  }
  try {
    Deno.renameSync(building, final);
  } catch {
    // Another job built it meanwhile.
    Deno.removeSync(building, { recursive: true });
  }
  return final;
}
