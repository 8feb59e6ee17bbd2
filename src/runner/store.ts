/**
 * The content-addressed store (default `runs/.store/`):
 *
 * ```text
 * objects/ab/<blake3>      immutable, read-only files and directory manifests
 * results/ab/<key>.json    stage-result index: cache key -> outputs, metrics, log, facts
 * checkpoints/<key>/       checkpoints of unfinished TypeScript stages
 * state/<experiment>.json  last key components per stage (for rerun reasons)
 * memo/                    (path, size, mtime, inode) -> hash memos
 * locks/ab/<key>           one flock per cache key while a runner computes it
 * tmp/<id>/                work dirs; a dir whose flock is free belongs to a dead runner
 * quarantine/<hash>.<ms>  damaged objects moved aside (`store verify`, size check on read)
 * ```
 *
 * Every write is temp-file + fsync + rename, and a result enters the index only after all of
 * its objects are durable, so SIGKILL at any instant leaves the store consistent.
 *
 * @module
 */

import { dirname, join } from "./path.ts";
import { type ContentHash, hashPath, type Manifest } from "./hash.ts";
import { osReason, UsageError } from "./errors.ts";
import { type ProcessIdentity, processIdentity, stillRunning } from "./processes.ts";

/** One stored stage result. */
export interface StageResultEntry {
  /** The cache key. */
  key: string;
  /** Stage name that produced it (informational). */
  stage: string;
  /** Output name -> content hash. */
  outputs: Record<string, ContentHash>;
  /** Metrics JSON lines object, if any. */
  metrics?: { hash: string; final: Record<string, number> };
  /** Combined stdout/stderr object. */
  log?: string;
  /** Facts reported by the stage. */
  facts?: Record<string, unknown>;
  /** Seconds the stage took when it ran. */
  seconds: number;
  /** When it was stored (ISO). */
  created: string;
}

/** Options of {@linkcode writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** File mode set before the rename. */
  mode?: number;
  /** fsync before the rename (durable across power loss, not only crash-consistent). @default {true} */
  sync?: boolean;
}

/** Writes a file atomically: temp file, optional fsync, rename. */
export function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteFileAtomicOptions = {},
): void {
  const { mode, sync = true } = options;
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const file = Deno.openSync(tmp, { write: true, create: true, truncate: true });
  try {
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
    if (sync) file.syncSync();
  } finally {
    file.close();
  }
  if (mode !== undefined) Deno.chmodSync(tmp, mode);
  Deno.renameSync(tmp, path);
}

function syncDir(path: string): void {
  try {
    const dir = Deno.openSync(path, { read: true });
    try {
      dir.syncSync();
    } finally {
      dir.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}

/**
 * How a failed read of a store entry counts. A missing entry is a plain miss and a malformed
 * one (not valid JSON) a miss worth a warning; any other error (EACCES, EIO, a folder where
 * a file belongs) is rethrown: an unreadable store must not pass for an empty one, which
 * would silently rerun every stage.
 *
 * @param error What the read threw.
 * @returns `missing` or `corrupt`.
 * @throws The error itself when it is neither.
 */
export function classifyReadError(error: unknown): "missing" | "corrupt" {
  if (error instanceof Deno.errors.NotFound) return "missing";
  if (error instanceof SyntaxError || error instanceof Deno.errors.InvalidData) return "corrupt";
  throw error;
}

/** Options of {@linkcode Store}. */
export interface StoreOptions {
  /** Receives warnings (a corrupt entry read as a miss). @default {console.warn} */
  onWarning?: (message: string) => void;
}

/** Options of {@linkcode Store.lockKey}. */
export interface LockKeyOptions {
  /** Called once if another process holds the lock and this one must wait. */
  onWait?: (holder: string) => void;
  /** Stops waiting (the lock is then not taken and an AbortError is thrown). */
  signal?: AbortSignal;
}

/** A held lock; release it with `using` or `release()`. */
export interface HeldLock extends Disposable {
  /** Releases the lock. */
  release(): void;
  /** Records the process computing the key in the lock file, for the next holder. */
  recordProcess(pid: number): void;
  /**
   * A stage process that the lock's previous holder recorded and that still runs: its runner died
   * (SIGKILL) without stopping it. The new holder ends it before computing the key again.
   */
  orphan?: { process: ProcessIdentity; runner: string };
}

/** What a key's lock file says while a runner holds it (JSON; older runners wrote plain text). */
interface LockNote {
  /** `pid N on HOST`. */
  runner: string;
  /** The stage process computing the key, once started. */
  stage?: ProcessIdentity;
}

function readLockNote(path: string): LockNote | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
  if (text === "") return undefined;
  try {
    const note = JSON.parse(text) as LockNote;
    if (typeof note.runner === "string") return note;
  } catch {
    // Plain text from an older runner.
  }
  return { runner: text };
}

/** The content-addressed store. */
export class Store {
  /** Root folder of the store. */
  readonly root: string;
  #warn: (message: string) => void;

  /**
   * Opens a store, creating its folders if missing.
   *
   * @param root The store folder.
   * @param options Where warnings go.
   */
  constructor(root: string, options: StoreOptions = {}) {
    this.root = root;
    this.#warn = options.onWarning ?? ((message) => console.warn(message));
    for (const sub of ["objects", "results", "checkpoints", "state", "memo", "locks", "tmp"]) {
      try {
        Deno.mkdirSync(join(root, sub), { recursive: true });
      } catch (error) {
        // The runs folder is the user's choice (--runs, DITTO_RUNS): say which one fails.
        throw new UsageError(
          `Cannot use the runs folder ${dirname(root)}: cannot create ${join(root, sub)}: ${
            osReason(error)
          }`,
        );
      }
    }
  }

  /** Path of a stored object. */
  objectPath(hash: string): string {
    return join(this.root, "objects", hash.slice(0, 2), hash);
  }

  /** Path of a memo file. */
  memoPath(name: string): string {
    return join(this.root, "memo", name);
  }

  #ensureShard(path: string): void {
    Deno.mkdirSync(dirname(path), { recursive: true });
  }

  /** Stores bytes already known to hash to `hash` (no-op if present). */
  putBytes(hash: string, data: Uint8Array | string): void {
    const path = this.objectPath(hash);
    try {
      Deno.statSync(path);
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    this.#ensureShard(path);
    writeFileAtomic(path, data, { mode: 0o444 });
  }

  /** Moves a finished file into the store under its hash (fsync, read-only, rename). */
  adoptFile(source: string, hash: string): void {
    const path = this.objectPath(hash);
    try {
      Deno.statSync(path);
      Deno.removeSync(source);
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    this.#ensureShard(path);
    const file = Deno.openSync(source, { read: true, write: true });
    try {
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.chmodSync(source, 0o444);
    Deno.renameSync(source, path);
  }

  /**
   * Moves an output (file or directory) into the store.
   *
   * @param path The output inside a work dir; it is consumed.
   * @returns Its content hash.
   * @throws {TypeError} For symbolic links or special files.
   */
  async ingest(path: string): Promise<ContentHash> {
    const result = await hashPath(path, {
      rejectSymlinks: true,
      onFile: (file, hash) => this.adoptFile(file, hash),
      onManifest: (hash, text) => this.putBytes(hash, text),
    });
    syncDir(join(this.root, "objects"));
    return result;
  }

  /** Reads a directory manifest. */
  readManifest(hash: string): Manifest {
    return JSON.parse(Deno.readTextFileSync(this.objectPath(hash)));
  }

  /**
   * Links a stored output at `dest` (hardlinks, copying where linking fails).
   *
   * @throws {Deno.errors.NotFound} When an object is missing from the store.
   */
  materialize(content: ContentHash, dest: string): void {
    if (content.type === "file") {
      const source = this.objectPath(content.hash);
      if (content.bytes > 0) {
        // A cheap guard against damaged objects (e.g. edited through a run's hardlink): a size
        // mismatch is quarantined and reported as missing, so the stage runs again.
        const size = Deno.statSync(source).size;
        if (size !== content.bytes) {
          this.quarantine(content.hash);
          throw new Deno.errors.NotFound(
            `Cannot use object ${content.hash}: ${size} bytes stored, ${content.bytes} expected`,
          );
        }
      }
      try {
        Deno.linkSync(source, dest);
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) {
          Deno.removeSync(dest);
          Deno.linkSync(source, dest);
        } else if (error instanceof Deno.errors.NotFound) {
          throw error;
        } else {
          Deno.copyFileSync(source, dest);
          Deno.chmodSync(dest, 0o444);
        }
      }
      return;
    }
    let manifest: Manifest;
    try {
      manifest = this.readManifest(content.hash);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      this.quarantine(content.hash);
      throw new Deno.errors.NotFound(`Cannot use manifest ${content.hash}: it is not valid JSON`);
    }
    Deno.mkdirSync(dest, { recursive: true });
    for (const [name, child] of Object.entries(manifest.entries)) {
      this.materialize(child, join(dest, name));
    }
  }

  /**
   * Moves a damaged object out of `objects/` into `quarantine/`, so it is never served again
   * and the next run that needs it stores a fresh copy.
   *
   * @param hash The object's name.
   * @returns Where it was moved, or undefined when it was already gone.
   */
  quarantine(hash: string): string | undefined {
    const dir = join(this.root, "quarantine");
    const dest = join(dir, `${hash}.${Date.now()}`);
    try {
      Deno.mkdirSync(dir, { recursive: true });
      Deno.renameSync(this.objectPath(hash), dest);
      return dest;
    } catch {
      return undefined;
    }
  }

  /**
   * Whether every object of an output is present (files: one stat; dirs: the whole tree).
   *
   * @throws Errors other than a missing object or a malformed manifest (EACCES, EIO).
   */
  has(content: ContentHash): boolean {
    try {
      if (content.type === "file") return Deno.statSync(this.objectPath(content.hash)).isFile;
      const manifest = this.readManifest(content.hash);
      return Object.values(manifest.entries).every((c) => this.has(c));
    } catch (error) {
      if (classifyReadError(error) === "corrupt") {
        this.#warn(`Cannot use manifest ${content.hash}: ${(error as Error).message}`);
      }
      return false;
    }
  }

  #resultPath(key: string): string {
    return join(this.root, "results", key.slice(0, 2), `${key}.json`);
  }

  /**
   * Reads a stored result; a missing entry is a miss, a corrupt one a miss with a warning.
   *
   * @throws Other read errors (EACCES, EIO, a folder in the entry's place).
   */
  readResult(key: string): StageResultEntry | undefined {
    const path = this.#resultPath(key);
    let entry: StageResultEntry | null;
    try {
      entry = JSON.parse(Deno.readTextFileSync(path));
    } catch (error) {
      if (classifyReadError(error) === "corrupt") {
        this.#warn(
          `Cannot use stored result ${path}: ${(error as Error).message}; treated as a miss`,
        );
      }
      return undefined;
    }
    if (
      typeof entry !== "object" || entry === null || entry.key !== key ||
      typeof entry.outputs !== "object" || entry.outputs === null
    ) {
      this.#warn(`Cannot use stored result ${path}: not a result of key ${key}; treated as a miss`);
      return undefined;
    }
    return entry;
  }

  /** Commits a result (the last step of a stage: its objects must already be stored). */
  writeResult(entry: StageResultEntry): void {
    const path = this.#resultPath(entry.key);
    this.#ensureShard(path);
    writeFileAtomic(path, JSON.stringify(entry, null, 1));
    syncDir(dirname(path));
  }

  /** Folder of a key's checkpoints (created). */
  checkpointDir(key: string): string {
    const dir = join(this.root, "checkpoints", key);
    Deno.mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** Drops a key's checkpoints once its result is stored. */
  dropCheckpoints(key: string): void {
    try {
      Deno.removeSync(join(this.root, "checkpoints", key), { recursive: true });
    } catch {
      // Nothing saved.
    }
  }

  /**
   * Last key components per stage of an experiment (empty when none are recorded or the
   * record is corrupt, with a warning).
   *
   * @throws Other read errors (EACCES, EIO).
   */
  readState(experiment: string): Record<string, unknown> {
    const path = join(this.root, "state", `${experiment}.json`);
    try {
      return JSON.parse(Deno.readTextFileSync(path));
    } catch (error) {
      if (classifyReadError(error) === "corrupt") {
        this.#warn(`Cannot use ${path}: ${(error as Error).message}; rerun reasons start afresh`);
      }
      return {};
    }
  }

  /** Replaces an experiment's state atomically. */
  writeState(experiment: string, state: Record<string, unknown>): void {
    writeFileAtomic(join(this.root, "state", `${experiment}.json`), JSON.stringify(state), {
      sync: false,
    });
  }

  /**
   * Takes the lock of one cache key, waiting for another runner that holds it.
   *
   * @param key The cache key.
   * @param options `onWait` is called once before blocking.
   * @returns The held lock.
   */
  async lockKey(key: string, options: LockKeyOptions = {}): Promise<HeldLock> {
    const path = join(this.root, "locks", key.slice(0, 2), key);
    this.#ensureShard(path);
    const file = await Deno.open(path, { read: true, write: true, create: true });
    if (!(await file.tryLock(true))) {
      options.onWait?.(readLockNote(path)?.runner ?? "another runner");
      const signal = options.signal;
      if (signal) {
        let onAbort = () => {};
        const aborted = new Promise<"aborted">((resolve) => {
          onAbort = () => resolve("aborted");
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
        });
        const locking = file.lock(true);
        const outcome = await Promise.race([locking.then(() => "locked" as const), aborted]);
        signal.removeEventListener("abort", onAbort);
        if (outcome === "aborted") {
          // The pending flock finishes in the background; closing releases whatever it takes.
          locking.then(() => file.close(), () => file.close());
          throw new DOMException("Cannot take the store lock: interrupted", "AbortError");
        }
      } else {
        await file.lock(true);
      }
    }
    // The previous holder is gone (its flock died with it); a stage process it recorded may not be.
    const previous = readLockNote(path);
    const orphan = previous?.stage !== undefined && stillRunning(previous.stage)
      ? { process: previous.stage, runner: previous.runner }
      : undefined;
    const note: LockNote = { runner: `pid ${Deno.pid} on ${Deno.hostname()}` };
    const write = () => {
      try {
        file.truncateSync(0);
        file.seekSync(0, Deno.SeekMode.Start);
        file.writeSync(new TextEncoder().encode(JSON.stringify(note)));
      } catch {
        // The note only helps the next holder; the flock is what excludes.
      }
    };
    // An orphan stays recorded until it is ended, should this runner die first too.
    if (orphan === undefined) write();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      file.close();
    };
    const recordProcess = (pid: number) => {
      const id = processIdentity(pid);
      if (id !== undefined) note.stage = id;
      write();
    };
    return { release, recordProcess, orphan, [Symbol.dispose]: release };
  }

  /**
   * Creates a fresh temporary folder owned (flocked) by this process, and removes folders
   * left behind by dead runners.
   *
   * @returns The folder and a function that removes it.
   */
  makeTempDir(): { dir: string; dispose: () => void } {
    const tmpRoot = join(this.root, "tmp");
    const dir = Deno.makeTempDirSync({ dir: tmpRoot, prefix: `${Deno.pid}-` });
    const lockFile = Deno.openSync(join(dir, ".owner"), { write: true, create: true });
    lockFile.lockSync(true);
    return {
      dir,
      dispose: () => {
        try {
          Deno.removeSync(dir, { recursive: true });
        } catch {
          // Already gone.
        }
        lockFile.close();
      },
    };
  }

  /** Removes temporary folders whose owner process has died (their flock is free). */
  sweepTemp(): void {
    const tmpRoot = join(this.root, "tmp");
    for (const entry of Deno.readDirSync(tmpRoot)) {
      const dir = join(tmpRoot, entry.name);
      let file: Deno.FsFile | undefined;
      try {
        file = Deno.openSync(join(dir, ".owner"), { read: true, write: true });
        if (!file.tryLockSync(true)) continue;
      } catch {
        // No owner file: a half-created folder, safe to remove.
      } finally {
        file?.close();
      }
      try {
        makeWritable(dir);
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // Another runner may be sweeping it.
      }
    }
  }
}

function makeWritable(dir: string): void {
  try {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) {
        Deno.chmodSync(path, 0o755);
        makeWritable(path);
      }
    }
  } catch {
    // Best effort.
  }
}
