/**
 * Path safety for the web UI: a URL path becomes a file only when it stays inside the runs
 * folder, after percent-decoding and after following symlinks.
 *
 * @module
 */

import { join, sep } from "node:path";

/**
 * Splits a percent-encoded URL path into safe segments.
 *
 * @param encoded The path as it appears in the URL (still percent-encoded), without query.
 * @returns The decoded segments, or undefined when any is `..`, `.`, empty, holds a slash,
 *   backslash or NUL after decoding, or the encoding is malformed.
 */
export function safeSegments(encoded: string): string[] | undefined {
  const out: string[] = [];
  const trimmed = encoded.startsWith("/") ? encoded.slice(1) : encoded;
  if (trimmed === "") return out;
  for (const part of trimmed.split("/")) {
    let s: string;
    try {
      s = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (s === "" || s === "." || s === ".." || /[/\\\0]/.test(s)) return undefined;
    out.push(s);
  }
  return out;
}

/**
 * Resolves segments under a root folder, refusing anything whose real path (symlinks
 * followed) leaves the root.
 *
 * @param root The folder served (need not be a real path).
 * @param segments Safe segments from {@linkcode safeSegments}.
 * @returns The real path inside the root, or undefined (missing, or outside).
 */
export function resolveInside(root: string, segments: string[]): string | undefined {
  let realRoot: string;
  let real: string;
  try {
    realRoot = Deno.realPathSync(root);
    real = Deno.realPathSync(join(realRoot, ...segments));
  } catch {
    return undefined;
  }
  return real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)
    ? real
    : undefined;
}
