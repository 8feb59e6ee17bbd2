/**
 * The queue the runner and its workers share: a Redis URL, the BullMQ queue of stage jobs, the
 * stall settings that bring a dead worker's job back, and the job and result records.
 *
 * @module
 */

import type { ConnectionOptions } from "bullmq";
import { UsageError } from "../runner/errors.ts";
import type { ContentHash } from "../runner/hash.ts";
import type { StageDef } from "../runner/experiment/mod.ts";

/** Name of the BullMQ queue of stage jobs. */
export const STAGE_QUEUE = "ditto-stages";

/** Version of {@linkcode FleetJob}: a worker refuses jobs of another. */
export const JOB_VERSION = 1;

/**
 * Stall settings: a worker renews its job locks every `lockDuration / 2`; every live worker
 * looks for expired locks every `stalledInterval`. A killed worker's job is thus back in the
 * queue at most `lockDuration + stalledInterval` after its death (6 s). Stages run in child
 * processes, so a worker's event loop stays free to renew its locks however long a stage takes.
 */
export const STALL = { lockDuration: 5000, stalledInterval: 1000, maxStalledCount: 2 } as const;

/** A parsed `redis://` or `rediss://` URL. */
export interface QueueAddress {
  /** ioredis options (TLS for `rediss://`, user and password from the URL). */
  connection: ConnectionOptions & { host: string; port: number };
  /** The URL without its password, for messages. */
  display: string;
}

/**
 * Parses `redis://[user:password@]HOST[:PORT][/DB]` (or `rediss://` for TLS).
 *
 * @param url The URL as the user wrote it.
 * @param flag Names the flag or variable in errors.
 * @returns Connection options and a printable form.
 * @throws {UsageError} For anything else.
 */
export function parseQueueUrl(url: string, flag = "--queue"): QueueAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`Cannot use ${flag} ${url}: expected redis://HOST:PORT[/DB]`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new UsageError(`Cannot use ${flag} ${url}: expected redis://HOST:PORT[/DB]`);
  }
  const db = parsed.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db)) {
    throw new UsageError(`Cannot use ${flag} ${url}: the database must be a number`);
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (!host) throw new UsageError(`Cannot use ${flag} ${url}: no host`);
  const port = parsed.port ? Number(parsed.port) : 6379;
  const connection: QueueAddress["connection"] = { host, port };
  if (db) connection.db = Number(db);
  if (parsed.username) connection.username = decodeURIComponent(parsed.username);
  if (parsed.password) connection.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === "rediss:") connection.tls = { servername: host };
  const shown = new URL(url);
  if (shown.password) shown.password = "***";
  return { connection, display: shown.href.replace(/\/$/, "") };
}

/** One stage job as it travels: content hashes only, no paths of the runner's machine. */
export interface FleetJob {
  /** {@linkcode JOB_VERSION}. */
  v: number;
  /** The stage's cache key. */
  key: string;
  /** The runner's ditto version (see `dittoVersion`). */
  ditto: string;
  /** The stage; for kind `ts` its `module` is a path inside the code tree. */
  stage: StageDef;
  /** The experiment seed. */
  seed: number;
  /** The experiment's `params:`. */
  params: Record<string, unknown>;
  /** Reference -> where to put it (a relative path ending in its original name) and what. */
  inputs: Record<string, { path: string; content: ContentHash }>;
  /** Kind `ts`: the files of the code fingerprint and the packages it names. */
  code?: CodeTree;
  /** Set by the runner when its run is interrupted: the worker stops the stage. */
  cancelled?: true;
}

/** The code a TypeScript stage runs, as a tree of content-addressed files. */
export interface CodeTree {
  /** Path in the tree -> content. */
  files: Record<string, ContentHash>;
  /**
   * Where the ditto project's root is in the tree: each worker links its own `src/runner/` and
   * `node_modules/` there (the packages of its install; Node-style `require` finds them).
   */
  project: string;
  /** Versioned packages the code imports (`npm:yaml@2.9.1`). */
  packages: string[];
}

/** What a worker reports back. */
export interface FleetResult {
  /** `ok`, `failed` or `interrupted`. */
  status: "ok" | "failed" | "interrupted";
  /** Why it failed. */
  error?: string;
  /** Facts the stage reported. */
  facts: Record<string, unknown>;
  /** Output name -> content, all pushed to the remote. */
  outputs: Record<string, ContentHash>;
  /** The metrics file, when the stage wrote one. */
  metrics?: ContentHash;
  /** The log, when not empty. */
  log?: ContentHash;
  /** The worker (`host:pid`). */
  worker: string;
}

/**
 * Where a worker leaves the result of a key in the remote, so that a runner killed before it
 * recorded the result (or another runner) takes it without running the stage again.
 */
export function resultNote(key: string): string {
  return `fleet/${key.slice(0, 2)}/${key}.json`;
}
