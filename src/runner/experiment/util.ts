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

/**
 * The numbers in a value that are not finite, with their dotted paths: YAML reads `1e400` as
 * Infinity and `.nan` as NaN, which no stage can use and no cache key can encode.
 *
 * @param value A parameter value.
 * @param path Its dotted path.
 * @returns `[path, number]` pairs, in order.
 */
export function nonFinite(value: unknown, path: string): [string, number][] {
  if (typeof value === "number") return Number.isFinite(value) ? [] : [[path, value]];
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => nonFinite(v, `${path}.${k}`));
}

/** The message and hint of a number that is not finite. */
export function notFiniteProblem(value: number): [string, string] {
  return [
    `Cannot accept ${value}: expected a finite number`,
    Number.isNaN(value)
      ? "YAML reads `.nan` as not-a-number: write a number"
      : "a 64-bit float holds about ±1.8e308; YAML reads larger numbers (such as 1e400) as infinite",
  ];
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
  const best = closest(word, options);
  const list = options.length > 0 ? options.join(", ") : "none";
  return best === undefined ? `allowed: ${list}` : `did you mean "${best}"? (allowed: ${list})`;
}

/** The option closest to a word, when it is close enough to be a likely typo of it. */
export function closest(word: string, options: readonly string[]): string | undefined {
  const best = options
    .map((o) => ({ o, d: distance(word, o) }))
    .sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.o : undefined;
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
