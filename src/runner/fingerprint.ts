/**
 * Code fingerprints of TypeScript stages: the content hashes of every local module reachable
 * through static and literal dynamic imports and module URLs (`new URL("./worker.ts",
 * import.meta.url)`, how Worker entries are named), plus the versioned npm/jsr/https specifiers
 * they use. Type-only imports are skipped (they are erased, so they cannot change behaviour). Results per file are
 * memoised by (path, size, mtime, inode), so a no-op rerun only stats the graph's files.
 *
 * @module
 */

import { dirname, fromFileUrl, relative, resolve } from "./path.ts";
import { hashFile } from "./hash.ts";

/** The code identity of a stage module. */
export interface CodeFingerprint {
  /** Module path relative to the entry module's folder -> BLAKE3 of its bytes. */
  files: Record<string, string>;
  /** Sorted external specifiers, e.g. `npm:yaml@2.9.1`. */
  packages: string[];
}

/** Options of {@linkcode CodeFingerprinter}. */
export interface CodeFingerprinterOptions {
  /** Where the per-file memo is kept; undefined keeps it in memory. */
  memoPath?: string;
  /** The import map (`imports` of deno.json) bare specifiers are resolved with. */
  imports?: Record<string, string>;
  /** Folder the import map's relative targets are relative to. */
  importMapDir?: string;
  /**
   * Folders whose modules are infrastructure, not stage code (the runner itself): they are
   * neither hashed nor followed. A change there that alters results must bump `KEY_VERSION`.
   */
  exclude?: string[];
}

type MemoEntry = [statKey: string, hash: string, specifiers: string[]];

const STATIC_IMPORT =
  /(?:^|[;\n}])\s*(import|export)\s+(type\s+)?(?:[\w*${}\s,]*?\s+from\s+)?["']([^"'\n]+)["']/g;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*["']([^"'\n]+)["']\s*\)/g;
// A module a Worker (or a later import) loads: not an import, but code the results depend on.
const MODULE_URL =
  /\bnew\s+URL\s*\(\s*["'](\.\.?\/[^"'\n]+\.[cm]?[jt]sx?)["']\s*,\s*import\.meta\.url\s*\)/g;
// Part of every memo entry's key: entries made by an older scanImports() are rescanned.
const SCAN_VERSION = 3;
// Comment lines (JSDoc examples such as `new URL("./my_worker.ts", import.meta.url)`) name no
// module the code loads: they are blanked, keeping line structure, before scanning.
const COMMENT_LINE = /^[ \t]*(?:\/\/|\/\*|\*).*$/gm;

/**
 * Lists the import specifiers of a module's source, skipping type-only imports: static imports
 * and re-exports, then literal dynamic imports, then relative module URLs built from
 * `import.meta.url`.
 *
 * @param source TypeScript or JavaScript source.
 * @returns Specifiers (duplicates removed).
 */
export function scanImports(text: string): string[] {
  const source = text.replace(COMMENT_LINE, "");
  const found = new Set<string>();
  for (const m of source.matchAll(STATIC_IMPORT)) {
    if (m[2]) continue;
    found.add(m[3]);
  }
  for (const m of source.matchAll(DYNAMIC_IMPORT)) found.add(m[1]);
  for (const m of source.matchAll(MODULE_URL)) found.add(m[1]);
  return [...found];
}

/** Computes code fingerprints with a persistent per-file memo. */
export class CodeFingerprinter {
  #memoPath?: string;
  #memo: Record<string, MemoEntry> = {};
  #dirty = false;
  #imports: Record<string, string>;
  #importMapDir: string;
  #exclude: string[];

  /**
   * Creates a fingerprinter and loads its memo.
   *
   * @param options Memo location and import map.
   */
  constructor(options: CodeFingerprinterOptions = {}) {
    this.#memoPath = options.memoPath;
    this.#imports = options.imports ?? {};
    this.#importMapDir = options.importMapDir ?? Deno.cwd();
    this.#exclude = (options.exclude ?? []).map((d) => (d.endsWith("/") ? d : `${d}/`));
    if (this.#memoPath) {
      try {
        this.#memo = JSON.parse(Deno.readTextFileSync(this.#memoPath));
      } catch {
        // A missing memo is an empty one.
      }
    }
  }

  async #scan(path: string): Promise<{ hash: string; specifiers: string[] }> {
    const info = Deno.statSync(path);
    const key = `${SCAN_VERSION}:${info.size}:${info.mtime?.getTime() ?? 0}:${info.ino ?? 0}`;
    const hit = this.#memo[path];
    if (hit && hit[0] === key) return { hash: hit[1], specifiers: hit[2] };
    const { hash } = await hashFile(path);
    const specifiers = scanImports(Deno.readTextFileSync(path));
    // A file written within the last two seconds could change again under the same mtime.
    if (Date.now() - (info.mtime?.getTime() ?? 0) > 2000) {
      this.#memo[path] = [key, hash, specifiers];
      this.#dirty = true;
    }
    return { hash, specifiers };
  }

  /** Maps a specifier to a local file path or an external package id (or nothing for node:). */
  #resolve(specifier: string, from: string): { file?: string; external?: string } {
    if (specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/")) {
      return { file: resolve(dirname(from), specifier) };
    }
    if (specifier.startsWith("file:")) return { file: fromFileUrl(specifier) };
    if (specifier.startsWith("node:")) return {};
    if (specifier.startsWith("npm:") || specifier.startsWith("jsr:")) {
      return { external: packageId(specifier) };
    }
    if (/^https?:/.test(specifier)) return { external: specifier };
    let target = this.#imports[specifier];
    if (target === undefined) {
      const prefix = Object.keys(this.#imports)
        .filter((k) => k.endsWith("/") && specifier.startsWith(k))
        .sort((a, b) => b.length - a.length)[0];
      if (prefix) target = this.#imports[prefix] + specifier.slice(prefix.length);
    }
    if (target === undefined) return { external: `unmapped:${specifier}` };
    if (target.startsWith("./") || target.startsWith("../") || target.startsWith("/")) {
      return { file: resolve(this.#importMapDir, target) };
    }
    return this.#resolve(target, from);
  }

  /**
   * Fingerprints a module and everything it imports locally.
   *
   * @param entry Absolute path of the stage module.
   * @returns File hashes (relative to the entry's folder) and external packages.
   * @throws {Deno.errors.NotFound} When the entry module does not exist.
   */
  async fingerprint(entry: string): Promise<CodeFingerprint> {
    const root = dirname(entry);
    const files: Record<string, string> = {};
    const packages = new Set<string>();
    const seen = new Set<string>();
    const queue = [entry];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      if (file !== entry && this.#exclude.some((d) => file.startsWith(d))) continue;
      let scanned;
      try {
        scanned = await this.#scan(file);
      } catch (error) {
        if (file === entry || !(error instanceof Deno.errors.NotFound)) throw error;
        // An import that does not resolve to a file fails at run time, not here.
        files[relative(root, file)] = "missing";
        continue;
      }
      files[relative(root, file)] = scanned.hash;
      for (const specifier of scanned.specifiers) {
        const r = this.#resolve(specifier, file);
        if (r.file) queue.push(r.file);
        if (r.external) packages.add(r.external);
      }
    }
    const sorted: Record<string, string> = {};
    for (const k of Object.keys(files).sort()) sorted[k] = files[k];
    return { files: sorted, packages: [...packages].sort() };
  }

  /** Writes the memo atomically if it changed. */
  save(): void {
    if (!this.#dirty || !this.#memoPath) return;
    const tmp = `${this.#memoPath}.${Deno.pid}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(this.#memo));
    Deno.renameSync(tmp, this.#memoPath);
    this.#dirty = false;
  }
}

/** `npm:@scope/name@1.2.3/sub/path` -> `npm:@scope/name@1.2.3`. */
export function packageId(specifier: string): string {
  const scheme = specifier.slice(0, 4);
  const rest = specifier.slice(4).replace(/^\//, "");
  const parts = rest.split("/");
  const take = rest.startsWith("@") ? 2 : 1;
  return scheme + parts.slice(0, take).join("/");
}
