/**
 * Cache keys: one explicit record of everything that affects a stage's result, encoded
 * canonically and hashed with BLAKE3. Paths stay symbolic (`${deps.input}`); only content
 * hashes enter the key, so moving or cloning the project changes no key.
 *
 * @module
 */

import { blake3Hex, canonicalJson } from "./hash.ts";
import type { CodeFingerprint } from "./fingerprint.ts";

/** Bumped when the meaning of a key changes, so old results are never misread. */
export const KEY_VERSION = 1;

/** Everything that determines a stage's result. */
export interface KeyComponents {
  /** Key format version. */
  v: number;
  /** `run` or `ts`. */
  kind: "run" | "ts";
  /** The command with every placeholder kept symbolic (kind `run`). */
  command?: string;
  /**
   * Kind `run`: set when the shell quoting of a parameter's value changes its text (values are
   * quoted since this field exists; unset, the key is that of a command rendered as before).
   */
  quoted?: true;
  /** Code fingerprint (kind `ts`). */
  code?: CodeFingerprint;
  /** Stage name (kind `ts`: it seeds the stage's RNG). */
  name?: string;
  /** Kind `ts`: resolved parameters. Kind `run`: the values of referenced `${params.*}`. */
  params: Record<string, unknown>;
  /** The seed (kind `ts` always; kind `run` when the command uses `${seed}`). */
  seed?: number;
  /** Declared dep name -> `type:hash`. */
  deps: Record<string, string>;
  /** Upstream reference (`stages.make.outs.rows`) -> `type:hash` of that output. */
  inputs: Record<string, string>;
  /** Declared outputs: name -> path in the work dir. */
  outs: Record<string, string>;
  /** Kind `ts`: input name -> reference it is bound to. */
  bind?: Record<string, string>;
}

/**
 * Computes the cache key of a record.
 *
 * @param components The key record.
 * @returns 64 hex digits.
 */
export function cacheKey(components: KeyComponents): Promise<string> {
  return blake3Hex(canonicalJson(components));
}

/**
 * A persistent canonical-text -> key memo, so a no-op rerun never loads the hash module.
 * Keeps the most recently used entries up to a bound.
 */
export class KeyMemo {
  #path?: string;
  #map = new Map<string, string>();
  #dirty = false;
  #limit: number;

  /**
   * Loads the memo.
   *
   * @param path Where the memo lives; undefined keeps it in memory.
   * @param limit Entries kept.
   */
  constructor(path?: string, limit = 5_000) {
    this.#path = path;
    this.#limit = limit;
    if (!path) return;
    try {
      const entries = JSON.parse(Deno.readTextFileSync(path));
      if (Array.isArray(entries)) this.#map = new Map(entries);
    } catch {
      // A missing memo is an empty one.
    }
  }

  /** The key of a record, from the memo or freshly hashed. */
  async key(components: KeyComponents): Promise<string> {
    // The memo is indexed by the native JSON text (fast); the key itself always hashes the
    // canonical encoding, so two texts of one record simply share a key.
    const text = JSON.stringify(components);
    const hit = this.#map.get(text);
    if (hit !== undefined) return hit;
    const key = await blake3Hex(canonicalJson(components));
    this.#map.set(text, key);
    this.#dirty = true;
    return key;
  }

  /** Writes the memo atomically if it changed. */
  save(): void {
    if (!this.#dirty || !this.#path) return;
    const entries = [...this.#map];
    const kept = entries.slice(Math.max(0, entries.length - this.#limit));
    const tmp = `${this.#path}.${Deno.pid}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(kept));
    Deno.renameSync(tmp, this.#path);
    this.#dirty = false;
  }
}

function fmt(value: unknown): string {
  return value === undefined ? "(unset)" : JSON.stringify(value);
}

/**
 * Explains why a key differs from the previous one of the same stage.
 *
 * @param prev The previous record.
 * @param cur The current record.
 * @returns Human reasons, e.g. `param epochs 3 -> 5`, `code changed (lib.ts)`.
 */
export function explainChange(prev: KeyComponents, cur: KeyComponents): string[] {
  const reasons: string[] = [];
  if (prev.v !== cur.v) return ["cache format changed"];
  if (prev.kind !== cur.kind) return ["stage kind changed"];
  if (prev.command !== cur.command) reasons.push("command changed");
  if (prev.name !== cur.name) reasons.push(`stage name changed`);
  if (prev.code && cur.code) {
    const files = new Set([...Object.keys(prev.code.files), ...Object.keys(cur.code.files)]);
    const changed = [...files].filter((f) => prev.code!.files[f] !== cur.code!.files[f]).sort();
    if (changed.length > 0) reasons.push(`code changed (${changed.join(", ")})`);
    const pp = prev.code.packages.join(", ");
    const cp = cur.code.packages.join(", ");
    if (pp !== cp) reasons.push(`packages changed (${pp || "none"} -> ${cp || "none"})`);
  }
  const params = new Set([...Object.keys(prev.params), ...Object.keys(cur.params)]);
  for (const p of [...params].sort()) {
    if (canonicalJson(prev.params[p] ?? null) !== canonicalJson(cur.params[p] ?? null)) {
      reasons.push(
        `param ${p.replace(/^params\./, "")} ${fmt(prev.params[p])} -> ${fmt(cur.params[p])}`,
      );
    }
  }
  if (prev.seed !== cur.seed) reasons.push(`seed ${fmt(prev.seed)} -> ${fmt(cur.seed)}`);
  const deps = new Set([...Object.keys(prev.deps), ...Object.keys(cur.deps)]);
  for (const d of [...deps].sort()) {
    if (prev.deps[d] !== cur.deps[d]) {
      reasons.push(
        prev.deps[d] === undefined
          ? `dep ${d} added`
          : cur.deps[d] === undefined
          ? `dep ${d} removed`
          : `dep ${d} changed`,
      );
    }
  }
  const inputs = new Set([...Object.keys(prev.inputs), ...Object.keys(cur.inputs)]);
  for (const i of [...inputs].sort()) {
    if (prev.inputs[i] !== cur.inputs[i]) {
      // Output names may contain dots (`summary.json`).
      const [, stage, , ...rest] = i.split(".");
      const out = rest.join(".");
      reasons.push(
        prev.inputs[i] === undefined || cur.inputs[i] === undefined
          ? `input ${stage}.${out} ${prev.inputs[i] === undefined ? "added" : "removed"}`
          : `upstream output ${stage}.${out} changed`,
      );
    }
  }
  if (canonicalJson(prev.outs) !== canonicalJson(cur.outs)) {
    reasons.push("declared outputs changed");
  }
  if (canonicalJson(prev.bind ?? {}) !== canonicalJson(cur.bind ?? {})) {
    reasons.push("inputs rebound");
  }
  // Alone, it means the same values render quoted now (the key of an older ditto).
  if (reasons.length === 0 && prev.quoted !== cur.quoted) {
    reasons.push("parameter values are shell-quoted now");
  }
  return reasons;
}
