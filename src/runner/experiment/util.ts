/**
 * Small helpers the validation passes share: type names and "did you mean" hints for messages,
 * and experiment-wide placeholder values.
 *
 * @module
 */

import type { Scope } from "./types.ts";

/** Stage, output, dep and input names. */
export const NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** Whether a value is a plain mapping. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The kind of a value as messages name it: `a list`, `a mapping`, `a number`, `null`. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

/**
 * A hint for a word that is not one of the options: the closest option when it is close,
 * and the list of options.
 */
export function suggest(word: string, options: readonly string[]): string {
  const best = options
    .map((o) => ({ o, d: distance(word, o) }))
    .sort((x, y) => x.d - y.d)[0];
  const list = options.length > 0 ? options.join(", ") : "none";
  if (best && best.d <= Math.max(2, Math.floor(word.length / 3))) {
    return `did you mean "${best.o}"? (allowed: ${list})`;
  }
  return `allowed: ${list}`;
}

/** The parameter at a path of keys, or undefined when there is none. */
export function lookupParam(params: Record<string, unknown>, path: string[]): unknown {
  let node: unknown = params;
  for (const part of path) {
    if (!isObject(node) || !(part in node)) return undefined;
    node = node[part];
  }
  return node;
}

/** The value of an experiment-wide reference: `seed` or `params.<path>`. */
export function scopeValue(scope: Scope, ref: string): unknown {
  return ref === "seed" ? scope.seed : lookupParam(scope.params, ref.split(".").slice(1));
}
