/**
 * A fleet worker: takes stage jobs from the queue, fetches what they read from the remote by
 * content hash into its own store, runs them here exactly as the runner would, pushes what
 * they produce and reports the content hashes. It never writes a stage result: the runner
 * records results in its own store.
 *
 * @module
 */

import { Job, Queue, UnrecoverableError, Worker } from "bullmq";
import { join } from "../runner/path.ts";
import type { ContentHash } from "../runner/hash.ts";
import { Store } from "../runner/store.ts";
import { runStageHere, type StageJob } from "../runner/stage_executor.ts";
import {
  contentObjects,
  localReader,
  type ObjectCounts,
  objectFetcher,
  objectSender,
  type RemoteBackend,
} from "../runs/remote.ts";
import {
  dittoVersion,
  installedPackages,
  materializeCode,
  PROJECT_CONFIG,
  refusal,
} from "./code.ts";
import {
  type FleetJob,
  type FleetResult,
  parseQueueUrl,
  resultNote,
  STAGE_QUEUE,
  STALL,
} from "./queue.ts";

/** Options of {@linkcode startWorker}. */
export interface WorkerOptions {
  /** `redis://HOST:PORT[/DB]`. */
  queue: string;
  /** The shared remote. */
  remote: RemoteBackend;
  /** This worker's own runs folder (its store is `<runsDir>/.store`). */
  runsDir: string;
  /** Jobs run at once. @default {1} */
  concurrency?: number;
  /** Receives one line per event (a job taken, finished, refused; a queue error). */
  log?: (line: string) => void;
}

/** A running worker. */
export interface FleetWorker {
  /** `host:pid`. */
  id: string;
  /** Stops taking jobs and waits for the running ones (`force`: stops them, they go back). */
  close(force?: boolean): Promise<void>;
}

/**
 * Starts a worker.
 *
 * @param options Queue, remote, store and concurrency.
 * @returns The worker.
 */
export async function startWorker(options: WorkerOptions): Promise<FleetWorker> {
  const address = parseQueueUrl(options.queue);
  const log = options.log ?? ((line: string) => console.log(line));
  const id = `${Deno.hostname()}:${Deno.pid}`;
  const store = new Store(join(options.runsDir, ".store"));
  store.sweepTemp();
  const codeDir = join(options.runsDir, ".fleet", "code");
  const ditto = await dittoVersion();
  const installed = installedPackages();
  let remoteObjects: Promise<Map<string, number>> | undefined;
  const counts: ObjectCounts = { objects: 0, bytes: 0, objectsPresent: 0 };
  // Reads the jobs this worker runs, to see the runner cancel one (Ctrl-C there).
  const queue = new Queue(STAGE_QUEUE, {
    connection: { ...address.connection, maxRetriesPerRequest: 1 },
  });
  queue.on("error", () => {}); // the Worker reports connection errors
  const running = new Set<AbortController>();

  const fetchAll = async (contents: ContentHash[], tmpDir: string) => {
    const fetch = objectFetcher(store, options.remote, tmpDir, counts);
    const read = async (hash: string) => {
      await fetch(hash);
      return await Deno.readFile(store.objectPath(hash));
    };
    for (const hash of await contentObjects(contents, read)) await fetch(hash);
  };
  const sendAll = async (contents: ContentHash[]) => {
    const listed = await (remoteObjects ??= options.remote.list("objects"));
    const send = objectSender(store, options.remote, listed, counts);
    for (const hash of await contentObjects(contents, localReader(store))) await send(hash);
  };

  const processJob = async (job: Job<FleetJob>): Promise<FleetResult> => {
    const data = job.data;
    const why = refusal(data, ditto, installed);
    if (why) {
      log(`refused job ${job.id} (stage ${data.stage.name}): ${why}`);
      throw new UnrecoverableError(`worker ${id} refuses stage ${data.stage.name}: ${why}`);
    }
    log(`took job ${job.id} (stage ${data.stage.name})`);
    const abort = new AbortController();
    running.add(abort);
    const watch = setInterval(() => {
      // Cancelled by the runner, or gone (the queue lost it): nobody waits for the result.
      Job.fromId<FleetJob>(queue, job.id!).then((now) => {
        if (!now || now.data.cancelled) abort.abort();
      }, () => {});
    }, 1000);
    const tmp = store.makeTempDir();
    try {
      const inputs: StageJob["inputs"] = {};
      const contents = Object.values(data.inputs).map((input) => input.content);
      await fetchAll([...contents, ...Object.values(data.code?.files ?? {})], tmp.dir);
      for (const [ref, input] of Object.entries(data.inputs)) {
        const path = join(tmp.dir, "in", input.path);
        Deno.mkdirSync(join(path, ".."), { recursive: true });
        store.materialize(input.content, path);
        inputs[ref] = { path, content: input.content };
      }
      const stage = structuredClone(data.stage);
      if (stage.kind === "ts" && data.code) {
        stage.module = join(await materializeCode(store, data.code, codeDir), stage.module!);
      }
      const workDir = join(tmp.dir, "work");
      Deno.mkdirSync(workDir);
      const logFile = join(tmp.dir, "log.txt");
      const metricsFile = join(tmp.dir, "metrics.jsonl");
      const outcome = await runStageHere(
        { stage, key: data.key, seed: data.seed, params: data.params, inputs },
        {
          workDir,
          logFile,
          metricsFile,
          checkpointDir: stage.kind === "ts" ? store.checkpointDir(data.key) : "",
          denoConfig: PROJECT_CONFIG,
          signal: abort.signal,
          hooks: {},
        },
      );
      const result: FleetResult = {
        status: outcome.status,
        facts: outcome.facts,
        outputs: {},
        worker: id,
      };
      if (outcome.error) result.error = outcome.error;
      const exists = (path: string) => {
        try {
          return Deno.lstatSync(path).size >= 0;
        } catch {
          return false;
        }
      };
      if (outcome.status === "ok") {
        for (const [name, path] of Object.entries(stage.outs)) {
          // A missing output is the runner's to report, as for a stage run there.
          if (exists(join(workDir, path))) {
            result.outputs[name] = await store.ingest(join(workDir, path));
          }
        }
        if (exists(metricsFile) && Deno.statSync(metricsFile).size > 0) {
          result.metrics = await store.ingest(metricsFile);
        }
      }
      if (exists(logFile) && Deno.statSync(logFile).size > 0) {
        result.log = await store.ingest(logFile);
      }
      const sent = [...Object.values(result.outputs)];
      if (result.metrics) sent.push(result.metrics);
      if (result.log) sent.push(result.log);
      await sendAll(sent);
      if (outcome.status === "ok") {
        store.dropCheckpoints(data.key);
        // Last, once every object it names is in the remote.
        const note = new TextEncoder().encode(JSON.stringify(result));
        await options.remote.put(resultNote(data.key), note);
      }
      log(`finished job ${job.id} (stage ${data.stage.name}): ${outcome.status}`);
      return result;
    } finally {
      clearInterval(watch);
      running.delete(abort);
      tmp.dispose();
    }
  };

  const worker = new Worker<FleetJob, FleetResult>(STAGE_QUEUE, processJob, {
    connection: { ...address.connection, maxRetriesPerRequest: null },
    concurrency: options.concurrency ?? 1,
    name: id,
    ...STALL,
  });
  let lastError = "";
  worker.on("error", (error) => {
    if (error.message === lastError) return;
    lastError = error.message;
    log(`queue ${address.display}: ${error.message}`);
  });
  worker.on("ready", () => lastError = "");
  await worker.waitUntilReady();
  log(`worker ${id} on ${address.display}, remote ${options.remote.description}`);
  return {
    id,
    close: async (force = false) => {
      if (force) { for (const abort of running) abort.abort(); }
      await worker.close(force);
      await queue.close().catch(() => {});
      options.remote.close();
    },
  };
}
