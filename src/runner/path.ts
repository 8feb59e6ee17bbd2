/**
 * POSIX path helpers. The runner avoids `node:path` and `node:url` on purpose: the first
 * `node:` import starts Deno's Node compatibility layer, which costs 30-60 ms of a no-op
 * rerun's 100 ms budget. Paths are POSIX (Linux, macOS).
 *
 * @module
 */

/** Whether a path is absolute. */
export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/** Resolves `.` and `..` segments and repeated slashes. */
export function normalize(path: string): string {
  const absolute = isAbsolute(path);
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (absolute) return "/" + joined;
  return joined === "" ? "." : joined;
}

const CLEAN = /^(?!\.\.?(\/|$))(?!.*\/\.\.?(\/|$))(?!.*\/\/)(?!.+\/$)/;

/** Joins segments and normalizes the result. */
export function join(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  // Fast path: nothing to normalize (no `.`/`..` segments, no repeated or trailing slash).
  if (joined !== "" && CLEAN.test(joined)) return joined;
  return normalize(joined);
}

/** Resolves segments right to left into an absolute path, starting from the cwd. */
export function resolve(...parts: string[]): string {
  let path = "";
  for (let i = parts.length - 1; i >= 0 && !isAbsolute(path); i--) {
    if (parts[i] === "") continue;
    path = path === "" ? parts[i] : `${parts[i]}/${path}`;
  }
  if (!isAbsolute(path)) path = `${Deno.cwd()}/${path}`;
  return normalize(path);
}

function trimTrailing(path: string): string {
  let end = path.length;
  while (end > 1 && path[end - 1] === "/") end--;
  return path.slice(0, end);
}

/** The parent folder of a path. */
export function dirname(path: string): string {
  const p = trimTrailing(path);
  const i = p.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return p.slice(0, i);
}

/** The last segment of a path, without `ext` when it ends with it. */
export function basename(path: string, ext = ""): string {
  const p = trimTrailing(path);
  const base = p.slice(p.lastIndexOf("/") + 1);
  return ext && base.endsWith(ext) && base !== ext ? base.slice(0, -ext.length) : base;
}

/** The extension of the last segment, with its dot, or "". */
export function extname(path: string): string {
  const base = basename(path);
  const i = base.lastIndexOf(".");
  return i <= 0 ? "" : base.slice(i);
}

/** The path from `from` to `to`. */
export function relative(from: string, to: string): string {
  const a = resolve(from).split("/").filter((x) => x !== "");
  const b = resolve(to).split("/").filter((x) => x !== "");
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...Array(a.length - common).fill(".."), ...b.slice(common)].join("/");
}

/**
 * Converts a `file:` URL to a path.
 *
 * @throws {TypeError} For other URL schemes.
 */
export function fromFileUrl(url: string | URL): string {
  const u = url instanceof URL ? url : new URL(url);
  if (u.protocol !== "file:") throw new TypeError(`Cannot convert "${u.href}" to a path`);
  return decodeURIComponent(u.pathname);
}

/** Converts an absolute path to a `file:` URL (percent-encoding as needed). */
export function toFileUrl(path: string): URL {
  const url = new URL("file:///");
  url.pathname = resolve(path);
  return url;
}
