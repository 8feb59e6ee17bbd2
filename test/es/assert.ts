/**
 * Test helper: the few assertions the ES tests use, on top of `node:assert/strict`.
 *
 * @module
 */

import nodeAssert from "node:assert/strict";

/** Asserts that `condition` is truthy. */
export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Asserts deep, strict equality (typed arrays compared element by element, NaN equals NaN). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Asserts that `fn` throws an instance of `errorClass` whose message contains `includes`. */
export function assertThrows(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  errorClass: new (...args: any[]) => Error,
  includes = "",
): void {
  nodeAssert.throws(fn, (e: unknown) => {
    if (!(e instanceof errorClass)) throw e;
    if (!e.message.includes(includes)) {
      throw new Error(`error message "${e.message}" does not contain "${includes}"`);
    }
    return true;
  });
}
