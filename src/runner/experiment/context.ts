/**
 * The validation context every pass reports to: it collects problems and gives each one the
 * file, line and column of its key or value from the YAML source map.
 *
 * @module
 */

import type { Problem } from "../errors.ts";
import { locate, type SourceTree } from "../yaml_source.ts";

/** Which part of a dotted path a problem points at: its key or its value. */
export type Prefer = "key" | "value";

/** Where a problem points when that is not its own key path. */
export interface Anchor {
  /** The dotted path whose location is used. */
  path: string;
  /** Its key or its value. */
  prefer: Prefer;
}

/**
 * Orders problems by file, then line, then column: the files in the order read (the experiment
 * file, then those it extends), then any other "file" by name, such as `--set` for the
 * command-line overrides, which apply last. Problems at the same place keep the order they were
 * found in (the sort is stable).
 *
 * @param files The files read, the experiment file first.
 * @returns A comparator for `Array.prototype.sort`.
 */
export function compareProblems(files: readonly string[]): (a: Problem, b: Problem) => number {
  const rank = (file: string): number => {
    const index = files.indexOf(file);
    return index < 0 ? files.length : index;
  };
  return ({ location: a }, { location: b }) =>
    rank(a.file) - rank(b.file) ||
    (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
    a.line - b.line ||
    a.column - b.column;
}

/** Collects the problems of one experiment, located in its source tree. */
export class ValidationContext {
  /** The merged source tree (values and locations). */
  readonly tree: SourceTree;
  /** Every problem so far, in the order found. */
  readonly problems: Problem[];
  /** Things that do not stop the run but are probably not what the user meant. */
  readonly warnings: Problem[] = [];

  /**
   * Creates a context.
   *
   * @param tree The merged source tree.
   * @param problems Problems found before validation (such as `--set` ones), kept first.
   */
  constructor(tree: SourceTree, problems: Problem[] = []) {
    this.tree = tree;
    this.problems = problems;
  }

  /** Whether any problem was found. */
  get failed(): boolean {
    return this.problems.length > 0;
  }

  /**
   * Records a problem at a dotted path.
   *
   * @param key The dotted path the problem is about (shown to the user).
   * @param message What is wrong, "Cannot ..." style.
   * @param hint How to fix it.
   * @param at The key or the value of `key` itself, or another path (default: the value).
   */
  report(key: string, message: string, hint?: string, at: Prefer | Anchor = "value"): void {
    this.problems.push(this.#problem(key, message, hint, at));
  }

  /**
   * Records a warning at a dotted path (arguments as for {@linkcode ValidationContext.report}).
   *
   * @param key The dotted path the warning is about.
   * @param message What is probably wrong.
   * @param hint How to fix it.
   * @param at Where it points (default: the value of `key`).
   */
  warn(key: string, message: string, hint?: string, at: Prefer | Anchor = "value"): void {
    this.warnings.push(this.#problem(key, message, hint, at));
  }

  #problem(key: string, message: string, hint: string | undefined, at: Prefer | Anchor): Problem {
    const { path, prefer } = typeof at === "string" ? { path: key, prefer: at } : at;
    return { location: locate(this.tree, path, prefer), key, message, hint };
  }

  /** Records a problem that already has its location. */
  add(problem: Problem): void {
    this.problems.push(problem);
  }

  /**
   * The file that declares a dotted path (relative paths in it resolve against its folder).
   *
   * @param path The dotted path.
   * @returns The absolute file, or `--set` for an override.
   */
  fileOf(path: string): string {
    return locate(this.tree, path).file;
  }

  /** The problems (or the warnings) in {@linkcode compareProblems} order. */
  sorted(which: "problems" | "warnings" = "problems"): Problem[] {
    return [...this[which]].sort(compareProblems(this.tree.files));
  }
}
