/**
 * Content hashing: BLAKE3 (hash-wasm) over a canonical encoding, files, and Merkle manifests
 * of directories, with a (path, size, mtime, inode) -> hash memo so unchanged files are never
 * read twice.
 *
 * @module
 */

import { join } from "./path.ts";

type Hasher = {
  init(): Hasher;
  update(data: Uint8Array | string): Hasher;
  digest(outputType: "hex"): string;
};

let createHasher: (() => Promise<Hasher>) | undefined;

/** Loads hash-wasm lazily: a no-op rerun whose memos all hit never pays its start-up cost. */
async function newHasher(): Promise<Hasher> {
  if (!createHasher) {
    // A variable specifier: Deno preloads literal dynamic imports at start-up (tens of ms).
    const specifier = "hash-wasm";
    const mod: typeof import("hash-wasm") = await import(specifier);
    createHasher = () => mod.createBLAKE3() as Promise<Hasher>;
  }
  return (await createHasher()).init();
}

/**
 * Encodes a JSON-like value canonically: object keys sorted, no whitespace, `undefined`
 * members dropped. Non-finite numbers and other types are rejected.
 *
 * @param value A JSON-like value.
 * @returns The canonical text.
 * @throws {TypeError} For values JSON cannot represent exactly.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError(`Cannot encode canonically: ${value} is not a finite number`);
      }
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
    }
    default:
      throw new TypeError(`Cannot encode canonically: unsupported type ${typeof value}`);
  }
}

/**
 * BLAKE3 of a string (UTF-8) or bytes, as 64 hex digits.
 *
 * @param data What to hash.
 * @returns The hex digest.
 */
export async function blake3Hex(data: string | Uint8Array): Promise<string> {
  const hasher = await newHasher();
  return hasher.update(data).digest("hex");
}

/**
 * Streams a file through BLAKE3.
 *
 * @param path The file.
 * @returns The hex digest and the byte count.
 */
export async function hashFile(path: string): Promise<{ hash: string; bytes: number }> {
  const hasher = await newHasher();
  using file = await Deno.open(path, { read: true });
  const buffer = new Uint8Array(1 << 20);
  let bytes = 0;
  while (true) {
    const n = await file.read(buffer);
    if (n === null) break;
    hasher.update(n === buffer.length ? buffer : buffer.subarray(0, n));
    bytes += n;
  }
  return { hash: hasher.digest("hex"), bytes };
}

/** A file's identity for the memo: any change of these means "read it again". */
function statKey(info: Deno.FileInfo): string {
  return `${info.size}:${info.mtime?.getTime() ?? 0}:${info.ino ?? 0}`;
}

/** Files modified this recently are not memoised: a write within the mtime granularity could hide. */
const RACY_MS = 2000;

/**
 * A persistent (absolute path, size, mtime, inode) -> hash memo, saved as one JSON file.
 * Entries are advisory: concurrent writers may lose each other's entries, never corrupt one.
 */
export class FileHashMemo {
  #path: string | undefined;
  #entries: Record<string, [string, string, number]> = {};
  #dirty = false;

  /**
   * Loads the memo.
   *
   * @param path Where the memo lives; undefined keeps it in memory only.
   */
  constructor(path?: string) {
    this.#path = path;
    if (!path) return;
    try {
      const parsed = JSON.parse(Deno.readTextFileSync(path));
      if (parsed && typeof parsed === "object") this.#entries = parsed;
    } catch {
      // A missing or unreadable memo is an empty one.
    }
  }

  /** Returns the memoised hash and size of a file if its identity is unchanged. */
  get(path: string, info: Deno.FileInfo): { hash: string; bytes: number } | undefined {
    const entry = this.#entries[path];
    if (entry && entry[0] === statKey(info)) return { hash: entry[1], bytes: entry[2] };
    return undefined;
  }

  /** Remembers a file's hash unless it was modified too recently to trust its mtime. */
  set(path: string, info: Deno.FileInfo, hash: string, bytes: number): void {
    const mtime = info.mtime?.getTime() ?? 0;
    if (Date.now() - mtime < RACY_MS) return;
    this.#entries[path] = [statKey(info), hash, bytes];
    this.#dirty = true;
  }

  /** Writes the memo atomically if it changed. */
  save(): void {
    if (!this.#dirty || !this.#path) return;
    const tmp = `${this.#path}.${Deno.pid}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(this.#entries));
    Deno.renameSync(tmp, this.#path);
    this.#dirty = false;
  }
}

/** A file's or directory's content identity. */
export interface ContentHash {
  /** `file` or `dir`. */
  type: "file" | "dir";
  /** BLAKE3 of the bytes (file) or of the canonical manifest (dir). */
  hash: string;
  /** Total bytes of the files. */
  bytes: number;
}

/** One directory level of a Merkle tree: entries name -> content hash (subdirs by hash). */
export interface Manifest {
  /** Sorted by name in the canonical encoding. */
  entries: Record<string, ContentHash>;
}

/** Options of {@linkcode hashPath}. */
export interface HashPathOptions {
  /** Memo consulted and updated for every file. */
  memo?: FileHashMemo;
  /** Called for every directory manifest, children first (to store them). */
  onManifest?: (hash: string, text: string) => void | Promise<void>;
  /** Called for every file with its hash (to store it). */
  onFile?: (path: string, hash: string, info: Deno.FileInfo) => void | Promise<void>;
  /** Reject symbolic links instead of following them. */
  rejectSymlinks?: boolean;
}

/**
 * Hashes a file, or a directory as a Merkle tree of canonical manifests.
 *
 * @param path Absolute path of a file or directory.
 * @param options Memo and callbacks.
 * @returns The content hash.
 * @throws {Deno.errors.NotFound} When the path does not exist.
 * @throws {TypeError} For symbolic links when `rejectSymlinks` is set, and for special files.
 */
export async function hashPath(path: string, options: HashPathOptions = {}): Promise<ContentHash> {
  const info = options.rejectSymlinks ? Deno.lstatSync(path) : Deno.statSync(path);
  if (info.isSymlink) {
    throw new TypeError(`Cannot store output: "${path}" is a symbolic link`);
  }
  if (info.isFile) {
    let result = options.memo?.get(path, info);
    if (!result) {
      result = await hashFile(path);
      options.memo?.set(path, info, result.hash, result.bytes);
    }
    await options.onFile?.(path, result.hash, info);
    return { type: "file", ...result };
  }
  if (!info.isDirectory) {
    throw new TypeError(`Cannot hash "${path}": not a file or directory`);
  }
  const names = [...Deno.readDirSync(path)].map((e) => e.name).sort();
  const entries: Record<string, ContentHash> = {};
  let bytes = 0;
  for (const name of names) {
    const child = await hashPath(join(path, name), options);
    entries[name] = child;
    bytes += child.bytes;
  }
  const text = canonicalJson({ entries });
  const hash = await blake3Hex(text);
  await options.onManifest?.(hash, text);
  return { type: "dir", hash, bytes };
}
