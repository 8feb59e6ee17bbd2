/**
 * The runner's side of the fleet: a {@linkcode StageExecutor} that sends each stage to the
 * queue instead of running it here. Before a job leaves, everything it reads (upstream outputs,
 * deps, the files of its code) is in the remote by content hash; when a worker reports back,
 * the objects it pushed are fetched and hashed into this runner's store and laid out in the
 * stage's work dir, where the engine stores them as if the stage had run here.
 *
 * @module
 */

import { Job, Queue } from "bullmq";
import { basename, join } from "../runner/path.ts";
import type { ExecOutcome } from "../runner/executor.ts";
import type { StageExecutor, StageJob, StageRun } from "../runner/stage_executor.ts";
import { type ContentHash, hashPath } from "../runner/hash.ts";
import { Store } from "../runner/store.ts";
import {
  contentObjects,
  localReader,
  type ObjectCounts,
  objectFetcher,
  objectSender,
  type RemoteBackend,
} from "../runs/remote.ts";
import { codeTree, dittoVersion } from "./code.ts";
import {
  type FleetJob,
  type FleetResult,
  JOB_VERSION,
  parseQueueUrl,
  type QueueAddress,
  resultNote,
  STAGE_QUEUE,
} from "./queue.ts";

/** Options of {@linkcode FleetExecutor}. */
export interface FleetExecutorOptions {
  /** `redis://HOST:PORT[/DB]`. */
  queue: string;
  /** The shared remote. */
  remote: RemoteBackend;
  /** The runner's runs folder (its store is `<runsDir>/.store`). */
  runsDir: string;
  /** Called when no worker is connected to take a job (once per wait). */
  onWaiting?: (message: string) => void;
  /**
   * How long the queue may stay unreachable before the stage fails.
   * @default {10000, or DITTO_QUEUE_PATIENCE_S seconds}
   */
  patienceMs?: number;
  /** How often a job's state is read. @default {100} */
  pollMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Copies a file or folder (to ingest a copy: ingesting consumes what it stores). */
function copyTree(source: string, dest: string): void {
  const info = Deno.statSync(source);
  if (!info.isDirectory) {
    Deno.copyFileSync(source, dest);
    return;
  }
  Deno.mkdirSync(dest);
  for (const entry of Deno.readDirSync(source)) {
    copyTree(join(source, entry.name), join(dest, entry.name));
  }
}

/** Runs stages on a worker fleet through a Redis queue. */
export class FleetExecutor implements StageExecutor, AsyncDisposable {
  #address: QueueAddress;
  #options: FleetExecutorOptions;
  #queue: Queue;
  #store: Store;
  #remoteObjects?: Promise<Map<string, number>>;
  #counts: ObjectCounts = { objects: 0, bytes: 0, objectsPresent: 0 };
  #patienceMs: number;

  /** @param options Queue, remote, runs folder and callbacks. */
  constructor(options: FleetExecutorOptions) {
    this.#options = options;
    this.#address = parseQueueUrl(options.queue);
    const patience = Number(Deno.env.get("DITTO_QUEUE_PATIENCE_S"));
    this.#patienceMs = options.patienceMs ?? (patience > 0 ? patience * 1000 : 10000);
    // Commands fail fast while Redis is away; #call retries them for the patience.
    this.#queue = new Queue(STAGE_QUEUE, {
      connection: { ...this.#address.connection, maxRetriesPerRequest: 1 },
    });
    this.#queue.on("error", () => {}); // reported by #call
    this.#store = new Store(join(options.runsDir, ".store"));
  }

  /** The queue's URL without its password. */
  get display(): string {
    return this.#address.display;
  }

  /** Retries a queue call until it succeeds or the queue was unreachable for the patience. */
  async #call<T>(what: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let since: number | undefined;
    while (true) {
      try {
        return await what();
      } catch (error) {
        since ??= performance.now();
        if (performance.now() - since > this.#patienceMs || signal?.aborted) {
          throw new Error(
            `Cannot reach the queue ${this.display} for ${Math.round(this.#patienceMs / 1000)} s: ${
              (error as Error).message
            }`,
          );
        }
        await sleep(250);
      }
    }
  }

  /** Stores a copy of a file or folder of this machine; its content hash. */
  async #ingestCopy(path: string): Promise<ContentHash> {
    const content = await hashPath(path);
    if (this.#store.has(content)) return content;
    const tmp = this.#store.makeTempDir();
    try {
      const copy = join(tmp.dir, "copy");
      copyTree(path, copy);
      return await this.#store.ingest(copy);
    } finally {
      tmp.dispose();
    }
  }

  /** Sends objects (and what they contain) the remote lacks. */
  async #send(contents: ContentHash[]): Promise<void> {
    const listed = await (this.#remoteObjects ??= this.#options.remote.list("objects"));
    const send = objectSender(this.#store, this.#options.remote, listed, this.#counts);
    for (const hash of await contentObjects(contents, localReader(this.#store))) await send(hash);
  }

  /** The job record: inputs and code by content hash, all of it sent to the remote. */
  async #fleetJob(job: StageJob): Promise<FleetJob> {
    const inputs: FleetJob["inputs"] = {};
    let i = 0;
    for (const [ref, input] of Object.entries(job.inputs)) {
      const content = input.content ?? await this.#ingestCopy(input.path);
      inputs[ref] = { path: `${i++}/${basename(input.path)}`, content };
    }
    const stage = structuredClone(job.stage);
    // The runner's paths mean nothing on a worker: deps travel as inputs (`deps.<name>`).
    for (const name of Object.keys(stage.deps)) stage.deps[name] = basename(stage.deps[name]);
    const record: FleetJob = {
      v: JOB_VERSION,
      key: job.key,
      ditto: await dittoVersion(),
      stage,
      seed: job.seed,
      params: job.params,
      inputs,
    };
    const contents = Object.values(inputs).map((input) => input.content);
    if (stage.kind === "ts" && job.code) {
      const { tree, entry } = await codeTree(stage.module!, job.code, (p) => this.#ingestCopy(p));
      record.code = tree;
      stage.module = entry;
      contents.push(...Object.values(tree.files));
    }
    await this.#send(contents);
    return record;
  }

  async execute(job: StageJob, run: StageRun): Promise<ExecOutcome> {
    const earlier = job.forced ? undefined : await this.#earlier(job, run);
    if (earlier) return earlier;
    const record = await this.#fleetJob(job);
    const jobId = `${job.key.slice(0, 16)}-${crypto.randomUUID().slice(0, 8)}`;
    await this.#call(() =>
      this.#queue.add(job.stage.name, record, {
        jobId,
        attempts: 1,
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 24 * 3600 },
      })
    );
    const result = await this.#wait(jobId, job.stage.name, run.signal);
    if (!("worker" in result)) return result;
    return await this.#collect(result, job, run);
  }

  /** A result a worker left in the remote for this key (a runner died before recording it). */
  async #earlier(job: StageJob, run: StageRun): Promise<ExecOutcome | undefined> {
    let note: FleetResult;
    try {
      const bytes = await this.#options.remote.get(resultNote(job.key));
      if (!bytes) return undefined;
      note = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return undefined;
    }
    if (note.status !== "ok") return undefined;
    const outcome = await this.#collect(note, job, run);
    // Objects lost from the remote: the stage runs again.
    return outcome.status === "ok" ? outcome : undefined;
  }

  /** Polls the job until it finishes; an interrupted run cancels it. */
  async #wait(
    jobId: string,
    stage: string,
    signal: AbortSignal,
  ): Promise<FleetResult | ExecOutcome> {
    let saidWaiting = false;
    let checked = 0;
    while (true) {
      if (signal.aborted) {
        await this.#cancel(jobId);
        return { status: "interrupted", facts: {} };
      }
      const state = await this.#call(() => this.#queue.getJobState(jobId), signal);
      if (state === "completed" || state === "failed") {
        const done = await this.#call(() => Job.fromId(this.#queue, jobId), signal);
        if (state === "completed" && done?.returnvalue) return done.returnvalue as FleetResult;
        return {
          status: "failed",
          error: `on the fleet: ${done?.failedReason ?? "the job vanished from the queue"}`,
          facts: {},
        };
      }
      if (state === "unknown") {
        return {
          status: "failed",
          error: "on the fleet: the job vanished from the queue",
          facts: {},
        };
      }
      if (state === "waiting" && !saidWaiting && performance.now() - checked > 1000) {
        checked = performance.now();
        if ((await this.#call(() => this.#queue.getWorkersCount(), signal)) === 0) {
          saidWaiting = true;
          this.#options.onWaiting?.(`stage ${stage}: waiting for a worker on ${this.display}`);
        }
      }
      await sleep(this.#options.pollMs ?? 100);
    }
  }

  async #cancel(jobId: string): Promise<void> {
    try {
      // A waiting job is removed; a running one is marked, and its worker stops it.
      const job = await Job.fromId<FleetJob>(this.#queue, jobId);
      if (job && (await this.#queue.remove(jobId)) === 0) {
        await job.updateData({ ...job.data, cancelled: true });
      }
    } catch {
      // The queue is away or the job runs: the worker sees the cancel key.
    }
  }

  /** Fetches (and hashes) what the worker pushed and lays it out in the work dir. */
  async #collect(result: FleetResult, job: StageJob, run: StageRun): Promise<ExecOutcome> {
    const fetchInto = async (content: ContentHash, dest: string) => {
      const tmp = this.#store.makeTempDir();
      try {
        const fetch = objectFetcher(this.#store, this.#options.remote, tmp.dir, this.#counts);
        const read = async (hash: string) => {
          await fetch(hash);
          return await Deno.readFile(this.#store.objectPath(hash));
        };
        for (const hash of await contentObjects([content], read)) await fetch(hash);
      } finally {
        tmp.dispose();
      }
      this.#store.materialize(content, dest);
    };
    try {
      if (result.log) await fetchInto(result.log, run.logFile);
      else Deno.writeFileSync(run.logFile, new Uint8Array());
      if (result.status !== "ok") {
        return { status: result.status, error: result.error, facts: result.facts };
      }
      if (result.metrics) await fetchInto(result.metrics, run.metricsFile);
      for (const [name, path] of Object.entries(job.stage.outs)) {
        const content = result.outputs[name];
        if (content) await fetchInto(content, join(run.workDir, path));
      }
    } catch (error) {
      return {
        status: "failed",
        error: `Cannot take the result of worker ${result.worker}: ${(error as Error).message}`,
        facts: result.facts,
      };
    }
    return { status: "ok", facts: result.facts };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#queue.close().catch(() => {});
    this.#options.remote.close();
  }
}
