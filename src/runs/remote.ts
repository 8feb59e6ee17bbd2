/**
 * Sharing a store: `push` and `pull` copy stage results and the objects they need to and from
 * a remote (a directory on a shared or network file system, or S3-compatible storage), so a
 * colleague's `run` hits the cache.
 *
 * The remote mirrors the store: `objects/<ab>/<hash>` and `results/<ab>/<key>.json`. Every
 * object is hashed before it is sent and after it is received; a result is written only after
 * every object it needs is on the other side, so an interrupted transfer leaves nothing
 * dangling and the next one sends only what is still missing.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { blake3Hex, hashFile } from "../runner/hash.ts";
import type { ContentHash, Manifest } from "../runner/hash.ts";
import { UsageError } from "../runner/mod.ts";
import { type StageResultEntry, Store, writeFileAtomic } from "../runner/store.ts";

/** Where objects and results are kept on the other side. */
export interface RemoteBackend {
  /** A human description (`dir /mnt/shared/ditto`, `s3://bucket/prefix`). */
  readonly description: string;
  /**
   * Lists the names under `objects/` (hashes) or `results/` (`<key>.json`) with their sizes in
   * bytes, any order.
   */
  list(kind: "objects" | "results"): Promise<Map<string, number>>;
  /** Reads a file, or undefined when it does not exist. */
  get(path: string): Promise<Uint8Array | undefined>;
  /** Writes a file so that readers never see a partial one. */
  put(path: string, data: Uint8Array): Promise<void>;
  /** Uploads a local file (streamed) so that readers never see a partial one. */
  putFile(path: string, source: string, bytes: number): Promise<void>;
  /** Downloads a file (streamed) to `dest`; false when it does not exist. */
  getFile(path: string, dest: string): Promise<boolean>;
  /** Releases connections. */
  close(): void;
}

/** A remote on a local, shared or network file system. */
export class DirectoryRemote implements RemoteBackend {
  /** The remote's root folder. */
  readonly root: string;
  /** A human description. */
  readonly description: string;

  /** @param root The folder (created on the first push). */
  constructor(root: string) {
    this.root = root;
    this.description = `dir ${root}`;
  }

  list(kind: "objects" | "results"): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const base = join(this.root, kind);
    let shards: Deno.DirEntry[] = [];
    try {
      shards = [...Deno.readDirSync(base)];
    } catch {
      // Nothing pushed yet.
    }
    for (const shard of shards) {
      if (!shard.isDirectory) continue;
      for (const entry of Deno.readDirSync(join(base, shard.name))) {
        if (!entry.isFile || entry.name.endsWith(".tmp")) continue;
        out.set(entry.name, Deno.statSync(join(base, shard.name, entry.name)).size);
      }
    }
    return Promise.resolve(out);
  }

  async get(path: string): Promise<Uint8Array | undefined> {
    try {
      return await Deno.readFile(join(this.root, path));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  put(path: string, data: Uint8Array): Promise<void> {
    const dest = join(this.root, path);
    Deno.mkdirSync(dirname(dest), { recursive: true });
    writeFileAtomic(dest, data, { mode: 0o444 });
    return Promise.resolve();
  }

  putFile(path: string, source: string): Promise<void> {
    const dest = join(this.root, path);
    Deno.mkdirSync(dirname(dest), { recursive: true });
    const tmp = `${dest}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    Deno.copyFileSync(source, tmp);
    const file = Deno.openSync(tmp, { read: true, write: true });
    try {
      file.syncSync();
    } finally {
      file.close();
    }
    Deno.chmodSync(tmp, 0o444);
    Deno.renameSync(tmp, dest);
    return Promise.resolve();
  }

  getFile(path: string, dest: string): Promise<boolean> {
    try {
      Deno.copyFileSync(join(this.root, path), dest);
      return Promise.resolve(true);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return Promise.resolve(false);
      throw error;
    }
  }

  close(): void {}
}

/** Options of {@linkcode S3Remote}. */
export interface S3RemoteOptions {
  /** Endpoint URL of S3-compatible storage (`http://127.0.0.1:4569`); AWS when omitted. */
  endpoint?: string;
  /** Region. @default {"us-east-1"} */
  region?: string;
  /** Keys per listing page. @default {1000} */
  pageSize?: number;
}

type S3Module = typeof import("@aws-sdk/client-s3");

/** A remote in an S3 bucket (AWS or any S3-compatible server), through `@aws-sdk/client-s3`. */
export class S3Remote implements RemoteBackend {
  /** A human description. */
  readonly description: string;
  #bucket: string;
  #prefix: string;
  #options: S3RemoteOptions;
  #client?: InstanceType<S3Module["S3Client"]>;
  #sdk?: S3Module;

  /**
   * @param url `s3://bucket/optional/prefix`.
   * @param options Endpoint, region and listing page size.
   */
  constructor(url: string, options: S3RemoteOptions = {}) {
    const match = url.match(/^s3:\/\/([^/]+)\/?(.*)$/);
    if (!match) throw new UsageError(`Cannot use remote "${url}": expected s3://bucket/prefix`);
    this.#bucket = match[1];
    this.#prefix = match[2] ? match[2].replace(/\/?$/, "/") : "";
    this.#options = options;
    this.description = url;
  }

  async #connect(): Promise<{ sdk: S3Module; client: InstanceType<S3Module["S3Client"]> }> {
    if (!this.#sdk || !this.#client) {
      // Loaded on demand: the SDK is large and only push/pull need it.
      this.#sdk = await import("@aws-sdk/client-s3");
      const endpoint = this.#options.endpoint;
      this.#client = new this.#sdk.S3Client({
        endpoint,
        forcePathStyle: endpoint !== undefined,
        region: this.#options.region ?? Deno.env.get("AWS_REGION") ?? "us-east-1",
        // Whole-body uploads without aws-chunked framing: some S3-compatible servers store the
        // framing as the object's bytes.
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
      });
    }
    return { sdk: this.#sdk, client: this.#client };
  }

  async list(kind: "objects" | "results"): Promise<Map<string, number>> {
    const { sdk, client } = await this.#connect();
    const out = new Map<string, number>();
    const prefix = `${this.#prefix}${kind}/`;
    let token: string | undefined;
    do {
      const page = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: prefix,
          ContinuationToken: token,
          MaxKeys: this.#options.pageSize ?? 1000,
        }),
      );
      for (const item of page.Contents ?? []) {
        const name = item.Key?.split("/").at(-1);
        if (name) out.set(name, item.Size ?? -1);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async get(path: string): Promise<Uint8Array | undefined> {
    const { sdk, client } = await this.#connect();
    try {
      const res = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.#bucket, Key: `${this.#prefix}${path}` }),
      );
      return await res.Body!.transformToByteArray();
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "NoSuchKey" || name === "NotFound") return undefined;
      throw error;
    }
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    const { sdk, client } = await this.#connect();
    // A single PUT is atomic: readers see the whole object or none.
    await client.send(
      new sdk.PutObjectCommand({
        Bucket: this.#bucket,
        Key: `${this.#prefix}${path}`,
        Body: data,
        ContentLength: data.length,
      }),
    );
  }

  async putFile(path: string, source: string, bytes: number): Promise<void> {
    const { sdk, client } = await this.#connect();
    const { createReadStream } = await import("node:fs");
    // Streamed with a known length and no aws-chunked framing (see the client options).
    await client.send(
      new sdk.PutObjectCommand({
        Bucket: this.#bucket,
        Key: `${this.#prefix}${path}`,
        Body: createReadStream(source),
        ContentLength: bytes,
      }),
    );
  }

  async getFile(path: string, dest: string): Promise<boolean> {
    const { sdk, client } = await this.#connect();
    let body: ReadableStream<Uint8Array>;
    try {
      const res = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.#bucket, Key: `${this.#prefix}${path}` }),
      );
      body = res.Body!.transformToWebStream() as ReadableStream<Uint8Array>;
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "NoSuchKey" || name === "NotFound") return false;
      throw error;
    }
    const file = await Deno.open(dest, { write: true, create: true, truncate: true });
    await body.pipeTo(file.writable);
    return true;
  }

  close(): void {
    this.#client?.destroy();
  }
}

/**
 * Opens a remote: `s3://bucket/prefix`, or a folder.
 *
 * @param spec The remote as the user wrote it (folders already resolved to absolute paths).
 * @param options S3 endpoint, region and page size (`DITTO_S3_ENDPOINT` / `AWS_ENDPOINT_URL`).
 * @returns The backend.
 */
export function openRemote(spec: string, options: S3RemoteOptions = {}): RemoteBackend {
  if (spec.startsWith("s3://")) {
    const endpoint = options.endpoint ?? Deno.env.get("DITTO_S3_ENDPOINT") ??
      Deno.env.get("AWS_ENDPOINT_URL");
    return new S3Remote(spec, { ...options, endpoint });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    throw new UsageError(`Cannot use remote "${spec}": expected a folder or s3://bucket/prefix`);
  }
  return new DirectoryRemote(spec);
}

/** Counts of one direction of a transfer. */
export interface TransferReport {
  /** The remote. */
  remote: string;
  /** `push` or `pull`. */
  direction: "push" | "pull";
  /** Stage results copied. */
  results: number;
  /** Stage results the other side already had. */
  resultsPresent: number;
  /** Objects copied. */
  objects: number;
  /** Bytes copied. */
  bytes: number;
  /** Objects the other side already had. */
  objectsPresent: number;
  /** Problems: corrupt or missing objects (their results were not copied). */
  problems: string[];
}

function objectPath(hash: string): string {
  return `objects/${hash.slice(0, 2)}/${hash}`;
}

function resultPath(key: string): string {
  return `results/${key.slice(0, 2)}/${key}.json`;
}

const RESULT = /^([0-9a-f]{64})\.json$/;
const PARALLEL = 8;

/** Runs tasks with at most `n` at a time. */
async function pool<T>(items: T[], n: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

function localResults(store: Store): string[] {
  const out: string[] = [];
  const base = join(store.root, "results");
  for (const shard of Deno.readDirSync(base)) {
    if (!shard.isDirectory) continue;
    for (const entry of Deno.readDirSync(join(base, shard.name))) {
      const m = entry.name.match(RESULT);
      if (m) out.push(m[1]);
    }
  }
  return out.sort();
}

/** Reads a manifest's bytes from wherever they are, verifying them. */
export type ObjectReader = (hash: string) => Promise<Uint8Array>;

/**
 * Every object the given contents need (directory manifests and everything under them),
 * reading manifests through `read`.
 *
 * @param contents Files and directories.
 * @param read Returns a manifest's verified bytes.
 * @returns Object hashes, each once.
 */
export async function contentObjects(
  contents: ContentHash[],
  read: ObjectReader,
): Promise<string[]> {
  const out = new Set<string>();
  const walk = async (content: ContentHash) => {
    if (out.has(content.hash)) return;
    out.add(content.hash);
    if (content.type !== "dir") return;
    const manifest = JSON.parse(new TextDecoder().decode(await read(content.hash))) as Manifest;
    for (const child of Object.values(manifest.entries)) await walk(child);
  };
  for (const content of contents) await walk(content);
  return [...out];
}

/** Every object a stage result needs: its outputs', its metrics and its log. */
async function neededObjects(
  entry: StageResultEntry,
  read: ObjectReader,
): Promise<string[]> {
  const out = new Set(await contentObjects(Object.values(entry.outputs), read));
  if (entry.metrics) out.add(entry.metrics.hash);
  if (entry.log) out.add(entry.log);
  return [...out];
}

async function verified(hash: string, bytes: Uint8Array, where: string): Promise<Uint8Array> {
  const actual = await blake3Hex(bytes);
  if (actual !== hash) {
    throw new Error(
      `object ${hash.slice(0, 12)} in ${where} is corrupt (hashes to ${actual.slice(0, 12)})`,
    );
  }
  return bytes;
}

/** Object counts of a transfer. */
export type ObjectCounts = Pick<TransferReport, "objects" | "bytes" | "objectsPresent">;

/** Reads (and verifies) a manifest from the local store. */
export function localReader(store: Store): ObjectReader {
  return async (hash) =>
    verified(hash, await Deno.readFile(store.objectPath(hash)), "the local store");
}

/**
 * Sends objects of a store that the remote lacks, each once however often it is asked for.
 *
 * @param store The local store.
 * @param remote The remote.
 * @param remoteObjects What the remote has (name -> size; updated as objects are sent).
 * @param counts Counters to add to.
 * @returns A function sending one object (hashed before it leaves).
 */
export function objectSender(
  store: Store,
  remote: RemoteBackend,
  remoteObjects: Map<string, number>,
  counts: ObjectCounts,
): (hash: string) => Promise<void> {
  const sent = new Map<string, Promise<void>>();
  return (hash: string): Promise<void> => {
    let p = sent.get(hash);
    if (!p) {
      p = (async () => {
        const local = store.objectPath(hash);
        // Present means the same name and size: a lost or truncated object is sent again.
        if (remoteObjects.get(hash) === Deno.statSync(local).size) {
          counts.objectsPresent++;
          return;
        }
        // Never spread a damaged object: hash it before it leaves (streamed, any size).
        const { hash: actual, bytes } = await hashFile(local);
        if (actual !== hash) {
          throw new Error(
            `object ${hash.slice(0, 12)} in the local store is corrupt (run \`store verify\`)`,
          );
        }
        await remote.putFile(objectPath(hash), local, bytes);
        remoteObjects.set(hash, bytes);
        counts.objects++;
        counts.bytes += bytes;
      })();
      sent.set(hash, p);
    }
    return p;
  };
}

/**
 * Fetches objects the store lacks from the remote, each once: downloaded into `tmpDir`,
 * hashed, then renamed into the store.
 *
 * @param store The local store.
 * @param remote The remote.
 * @param tmpDir A temp folder of this process inside the store.
 * @param counts Counters to add to.
 * @returns A function fetching one object.
 */
export function objectFetcher(
  store: Store,
  remote: RemoteBackend,
  tmpDir: string,
  counts: ObjectCounts,
): (hash: string) => Promise<void> {
  const fetched = new Map<string, Promise<void>>();
  const hasLocal = (hash: string) => {
    try {
      return Deno.statSync(store.objectPath(hash)).isFile;
    } catch {
      return false;
    }
  };
  return (hash: string): Promise<void> => {
    let p = fetched.get(hash);
    if (!p) {
      p = (async () => {
        if (hasLocal(hash)) {
          counts.objectsPresent++;
          return;
        }
        const dest = join(tmpDir, `${hash}.${crypto.randomUUID().slice(0, 8)}`);
        if (!(await remote.getFile(objectPath(hash), dest))) {
          throw new Error(`object ${hash.slice(0, 12)} is missing on the remote`);
        }
        const { hash: actual, bytes } = await hashFile(dest);
        if (actual !== hash) {
          Deno.removeSync(dest);
          throw new Error(
            `object ${hash.slice(0, 12)} in ${remote.description} is corrupt (hashes to ${
              actual.slice(0, 12)
            })`,
          );
        }
        store.adoptFile(dest, hash);
        counts.objects++;
        counts.bytes += bytes;
      })();
      fetched.set(hash, p);
    }
    return p;
  };
}

/** Options of {@linkcode push} and {@linkcode pull}. */
export interface TransferOptions {
  /** Only these stage results (cache keys); default: every result. */
  keys?: string[];
}

/**
 * Sends the store's stage results, and the objects they need, that the remote lacks.
 *
 * @param runsDir The runs folder (its store is `<runsDir>/.store`).
 * @param remote The remote.
 * @param options Which results.
 * @returns What was sent.
 */
export async function push(
  runsDir: string,
  remote: RemoteBackend,
  options: TransferOptions = {},
): Promise<TransferReport> {
  try {
    Deno.statSync(join(runsDir, ".store", "results"));
  } catch {
    throw new UsageError(`Cannot push: no store in ${runsDir}`);
  }
  const store = new Store(join(runsDir, ".store"));
  const report: TransferReport = {
    remote: remote.description,
    direction: "push",
    results: 0,
    resultsPresent: 0,
    objects: 0,
    bytes: 0,
    objectsPresent: 0,
    problems: [],
  };
  const [remoteObjects, remoteResults] = await Promise.all([
    remote.list("objects"),
    remote.list("results"),
  ]);
  const keys = options.keys ?? localResults(store);
  const readLocal = localReader(store);
  const sendObject = objectSender(store, remote, remoteObjects, report);
  await pool(keys, PARALLEL, async (key) => {
    const present = remoteResults.has(`${key}.json`);
    const entry = store.readResult(key);
    if (!entry) {
      if (present) report.resultsPresent++;
      else {report.problems.push(
          `stage result ${key.slice(0, 12)} is missing or unreadable locally`,
        );}
      return;
    }
    try {
      // A result the remote has is only as good as its objects there: check them too, so a
      // push repairs a remote that lost one (a pull would otherwise fail on it for good).
      const needed = await neededObjects(entry, readLocal);
      for (const hash of needed) await sendObject(hash);
      if (present) {
        report.resultsPresent++;
        return;
      }
      await remote.put(resultPath(key), new TextEncoder().encode(JSON.stringify(entry, null, 1)));
      report.results++;
    } catch (error) {
      report.problems.push(
        `stage result ${key.slice(0, 12)} (${entry.stage}) not sent: ${(error as Error).message}`,
      );
    }
  });
  return report;
}

/**
 * Fetches the remote's stage results, and the objects they need, that the store lacks.
 *
 * @param runsDir The runs folder (its store is `<runsDir>/.store`).
 * @param remote The remote.
 * @param options Which results.
 * @returns What was received.
 */
export async function pull(
  runsDir: string,
  remote: RemoteBackend,
  options: TransferOptions = {},
): Promise<TransferReport> {
  const store = new Store(join(runsDir, ".store"));
  const report: TransferReport = {
    remote: remote.description,
    direction: "pull",
    results: 0,
    resultsPresent: 0,
    objects: 0,
    bytes: 0,
    objectsPresent: 0,
    problems: [],
  };
  if (remote instanceof DirectoryRemote) {
    try {
      Deno.statSync(remote.root);
    } catch {
      throw new UsageError(`Cannot pull: the remote folder ${remote.root} does not exist`);
    }
  }
  const local = new Set(localResults(store));
  const remoteResults = [...(await remote.list("results")).keys()]
    .map((name) => name.match(RESULT)?.[1])
    .filter((k): k is string => k !== undefined && (!options.keys || options.keys.includes(k)))
    .sort();
  const tmp = store.makeTempDir();
  const fetchObject = objectFetcher(store, remote, tmp.dir, report);
  // Manifests are fetched (and stored, verified) before their children are listed.
  const readObject: ObjectReader = async (hash) => {
    await fetchObject(hash);
    return await Deno.readFile(store.objectPath(hash));
  };
  await pool(remoteResults, PARALLEL, async (key) => {
    if (local.has(key)) {
      report.resultsPresent++;
      return;
    }
    try {
      const bytes = await remote.get(resultPath(key));
      if (!bytes) throw new Error("it vanished from the remote");
      const entry = JSON.parse(new TextDecoder().decode(bytes)) as StageResultEntry;
      if (entry.key !== key || typeof entry.outputs !== "object") {
        throw new Error("it is malformed or names another key");
      }
      const needed = await neededObjects(entry, readObject);
      for (const hash of needed) await fetchObject(hash);
      // Last: the result enters the index only when everything it needs is stored.
      store.writeResult(entry);
      report.results++;
    } catch (error) {
      report.problems.push(
        `stage result ${key.slice(0, 12)} not pulled: ${(error as Error).message}`,
      );
    }
  }).finally(() => tmp.dispose());
  return report;
}

/**
 * The cache keys of the given runs' stages (to push only what those runs used).
 *
 * @param records Parsed `run.json` records.
 * @returns The keys.
 */
export function runKeys(records: { stages: { key: string | null }[] }[]): string[] {
  const keys = new Set<string>();
  for (const r of records) for (const s of r.stages) if (s.key) keys.add(s.key);
  return [...keys];
}

/** Ensures a directory remote's root exists (for a clearer error than a failed write). */
export function ensureDirectoryRemote(root: string): void {
  try {
    Deno.mkdirSync(root, { recursive: true });
  } catch (error) {
    throw new UsageError(`Cannot use remote ${root}: ${(error as Error).message}`);
  }
}
