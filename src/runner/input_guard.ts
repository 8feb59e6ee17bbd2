/**
 * A stage is given its upstream outputs as hard links to the store's objects (no copy, however
 * big). Mode 0444 keeps an ordinary user from writing through them, but not root, and not a
 * program that chmods first. So the runner checks after every stage that its inputs are still
 * what the store says: it takes (size, mtime, ctime, inode) of every file of every upstream input
 * before the stage and again after it, and re-hashes an input whose files changed in any way
 * (ctime also moves when another runner links the same object: a re-hash tells the two apart).
 * A damaged input fails the stage; its damaged store objects are quarantined, so the next run
 * recomputes the upstream stage instead of serving them.
 *
 * The cost is two stat walks per stage (the 350 MB rollouts of `car_racing.yaml` are about a
 * hundred files) and a re-hash only when something changed.
 *
 * @module
 */

import { join, relative } from "./path.ts";
import { type ContentHash, hashFile, hashPath } from "./hash.ts";
import type { Store } from "./store.ts";

/** An upstream output a stage is given. */
export interface GuardedInput {
  /** Its reference (`stages.collect.outs.rollouts`). */
  ref: string;
  /** Where the stage sees it (the run folder's link). */
  path: string;
  /** What the store holds for it. */
  content: ContentHash;
}

/** One damaged input and what the runner did about it. */
export interface DamagedInput {
  /** Its reference. */
  ref: string;
  /** Its path. */
  path: string;
  /** Files (relative to the input; "" for a file input) whose bytes differ from the store's. */
  files: string[];
  /** Store objects moved to quarantine (they were changed in place through the link). */
  quarantined: string[];
}

type Signature = Map<string, string>;

/** (size, mtime, ctime, inode) of every file under `path`, keyed by relative path. */
function signature(path: string): Signature {
  const out: Signature = new Map();
  const walk = (p: string) => {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(p);
    } catch {
      out.set(relative(path, p), "missing");
      return;
    }
    if (info.isDirectory) {
      out.set(relative(path, p) + "/", "dir");
      for (const e of [...Deno.readDirSync(p)].sort((a, b) => a.name < b.name ? -1 : 1)) {
        walk(join(p, e.name));
      }
      return;
    }
    const times = `${info.mtime?.getTime()}:${info.ctime?.getTime()}`;
    out.set(relative(path, p), `${info.isSymlink ? "l" : "f"}:${info.size}:${times}:${info.ino}`);
  };
  walk(path);
  return out;
}

function sameSignature(a: Signature, b: Signature): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** Expected file hashes under an input, from the store's manifests. */
function expectedFiles(store: Store, content: ContentHash, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  if (content.type === "file") {
    out.set(prefix, content.hash);
    return out;
  }
  for (const [name, child] of Object.entries(store.readManifest(content.hash).entries)) {
    const rel = prefix === "" ? name : `${prefix}/${name}`;
    for (const [k, v] of expectedFiles(store, child, rel)) out.set(k, v);
  }
  return out;
}

/** Watches a stage's upstream inputs; see the module doc. */
export class InputGuard {
  #store: Store;
  #inputs: { input: GuardedInput; before: Signature }[];

  /**
   * Takes the inputs' signatures (before the stage starts).
   *
   * @param store The store that holds them.
   * @param inputs The stage's upstream outputs.
   */
  constructor(store: Store, inputs: GuardedInput[]) {
    this.#store = store;
    this.#inputs = inputs.map((input) => ({ input, before: signature(input.path) }));
  }

  /**
   * Compares the inputs with the store after the stage; quarantines damaged objects.
   *
   * @returns The damaged inputs (empty when all are intact).
   */
  async check(): Promise<DamagedInput[]> {
    const damaged: DamagedInput[] = [];
    for (const { input, before } of this.#inputs) {
      if (sameSignature(before, signature(input.path))) continue;
      let now: ContentHash | undefined;
      try {
        // No memo: a tamperer can put the mtime back, and the memo trusts (size, mtime, inode).
        now = await hashPath(input.path);
      } catch {
        now = undefined; // removed or replaced by something unhashable
      }
      if (now?.hash === input.content.hash) continue;
      damaged.push(await this.#repair(input));
    }
    return damaged;
  }

  /** Finds the changed files, and quarantines the store objects changed through their links. */
  async #repair(input: GuardedInput): Promise<DamagedInput> {
    const files: string[] = [];
    const quarantined: string[] = [];
    for (const [rel, hash] of expectedFiles(this.#store, input.content)) {
      const path = rel === "" ? input.path : join(input.path, rel);
      let actual: string | undefined;
      try {
        actual = (await hashFile(path)).hash;
      } catch {
        actual = undefined;
      }
      if (actual !== hash) files.push(rel);
      // The object itself: changed in place when the link still shares its inode.
      const object = this.#store.objectPath(hash);
      let objectHash: string | undefined;
      try {
        objectHash = (await hashFile(object)).hash;
      } catch {
        continue; // already gone
      }
      if (objectHash !== hash) {
        const moved = this.#store.quarantine(hash);
        if (moved !== undefined) quarantined.push(hash);
      }
    }
    // A changed directory listing (a file added or removed) damages the run folder only.
    return { ref: input.ref, path: input.path, files, quarantined };
  }
}

/**
 * The failure message for damaged inputs.
 *
 * @param stage The stage that ran.
 * @param damaged What {@linkcode InputGuard.check} found.
 * @returns A message naming each input, its files and what was done.
 */
export function damageMessage(stage: string, damaged: DamagedInput[]): string {
  const lines = [`stage ${stage} changed its input${damaged.length > 1 ? "s" : ""}:`];
  for (const d of damaged) {
    const files = d.files.filter((f) => f !== "");
    const what = files.length > 0
      ? ` (${files.slice(0, 5).join(", ")}${files.length > 5 ? ", ..." : ""})`
      : "";
    lines.push(`  ${d.ref} at ${d.path}${what}`);
    if (d.quarantined.length > 0) {
      lines.push(
        `    it was written through its hard link into the store: ${d.quarantined.length} object(s) ` +
          `moved to .store/quarantine/; the next run recomputes the stage that made it`,
      );
    } else {
      lines.push(`    the store's objects are intact; only this run's folder differs`);
    }
  }
  lines.push("Stages must treat their inputs as read-only: write new files into their work dir.");
  return lines.join("\n");
}
