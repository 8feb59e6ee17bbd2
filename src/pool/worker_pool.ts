/**
 * {@linkcode WorkerPool}: module Workers serving {@linkcode serveWorker} handlers, with
 * request/reply by message id, and {@linkcode workerJobs}, the {@linkcode JobPool} over them.
 *
 * Failures: an error thrown by a handler rejects its request with the handler's message (after
 * the pool's `context`) and the Worker's stack. A Worker that dies (an uncaught error, or
 * `self.close()`) rejects every request pending on it, and any later one sent to it.
 *
 * Cancellation: a request whose signal aborts rejects at once with the signal's reason (an
 * `AbortError` by default) and its reply, if one comes, is dropped. The Worker is not
 * terminated (it keeps its loaded state, and respawning would reload it): it is told to abort
 * the request's {@linkcode WorkerContext.signal}, so a handler that watches it stops early and
 * a request still queued there never starts; one that does not watch it runs to its end.
 *
 * @module
 */

import type { JobOptions, JobPool, StreamOptions } from "./job_pool.ts";
import {
  type CallMessage,
  type CancelMessage,
  type ErrorData,
  type Methods,
  remoteError,
  type ReplyMessage,
} from "./protocol.ts";

/** Options of {@linkcode createPool}. */
export interface PoolOptions {
  /**
   * Put before every error message of the pool ("Cannot dream" gives "Cannot dream: ..."), or
   * a function of the worker index; default none.
   */
  context?: string | ((worker: number) => string);
}

/** Options of {@linkcode WorkerPool.request}. */
export interface RequestOptions<Event = unknown> {
  /** Index of the Worker; default the one with the fewest pending requests (lowest first). */
  worker?: number;
  /** Cancels the request (see the module doc). */
  signal?: AbortSignal;
  /** Objects moved to the Worker instead of copied. */
  transfer?: Transferable[];
  /** Called with each event the handler emits. */
  onEvent?: (event: Event) => void;
}

interface Pending {
  worker: number;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onEvent?: (event: unknown) => void;
  cleanup: () => void;
}

/** A fixed set of module Workers, each serving the methods `M` (see {@linkcode serveWorker}). */
export class WorkerPool<M extends Methods = Methods> {
  readonly #workers: Worker[];
  readonly #context: (worker: number) => string;
  readonly #pending = new Map<number, Pending>();
  // Why each dead worker died; requests to it fail with this.
  readonly #dead = new Map<number, Error>();
  #nextId = 0;
  #closed = false;

  /** Spawns `count` module Workers of `url` (use {@linkcode createPool} to also init them). */
  constructor(url: string | URL, count: number, options: PoolOptions = {}) {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`Cannot start a worker pool: count ${count} is not an integer >= 0`);
    }
    const context = options.context ?? "";
    this.#context = typeof context === "string" ? () => context : context;
    const href = new URL(url).href;
    this.#workers = Array.from({ length: count }, (_, k) => {
      const worker = new Worker(href, { type: "module" });
      worker.onmessage = (event: MessageEvent<ReplyMessage>) => this.#onReply(k, event.data);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        const where = event.filename
          ? `    at ${event.filename}:${event.lineno}:${event.colno}`
          : "";
        this.#die(k, { name: "Error", message: `a worker failed: ${event.message}`, stack: where });
      };
      worker.onmessageerror = () => {
        this.#die(k, { name: "Error", message: "a worker's reply could not be read" });
      };
      return worker;
    });
  }

  /** Number of Workers. */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Calls `method` with `payload` in a Worker; resolves with the handler's result. Requests to
   * one Worker run there one at a time, in the order they were sent; replies are matched by
   * id, so concurrent requests never mix.
   */
  request<K extends keyof M & string>(
    method: K,
    payload: M[K]["payload"],
    options: RequestOptions<M[K]["event"]> = {},
  ): Promise<M[K]["result"]> {
    const k = options.worker ?? this.#leastBusy();
    const { signal } = options;
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(this.#error(k, "the pool is closed"));
      if (!(k >= 0 && k < this.#workers.length)) {
        return reject(new RangeError(`Cannot send a request: no worker ${k}`));
      }
      const dead = this.#dead.get(k);
      if (dead) return reject(dead);
      if (signal?.aborted) return reject(signal.reason);
      const id = this.#nextId++;
      const onAbort = () => {
        if (!this.#pending.has(id)) return;
        this.#settle(id);
        this.#workers[k].postMessage({ cancel: id } satisfies CancelMessage);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        worker: k,
        resolve,
        reject,
        onEvent: options.onEvent as ((event: unknown) => void) | undefined,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      });
      const message: CallMessage = { id, method, payload, events: options.onEvent !== undefined };
      try {
        this.#workers[k].postMessage(message, options.transfer ?? []);
      } catch (error) {
        this.#settle(id);
        reject(error);
      }
    });
  }

  /** Terminates every Worker; pending requests reject. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const worker of this.#workers) worker.terminate();
    for (const [id, pending] of [...this.#pending]) {
      this.#settle(id);
      pending.reject(this.#error(pending.worker, "the pool is closed"));
    }
  }

  #leastBusy(): number {
    const load = this.#workers.map(() => 0);
    for (const pending of this.#pending.values()) load[pending.worker]++;
    return load.indexOf(Math.min(...load));
  }

  #error(k: number, message: string): Error {
    const context = this.#context(k);
    return new Error(context ? `${context}: ${message}` : message);
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    pending.cleanup();
    return pending;
  }

  #onReply(k: number, reply: ReplyMessage): void {
    if ("closed" in reply) {
      this.#die(k, { name: "Error", message: "a worker closed itself" });
      return;
    }
    if ("event" in reply) {
      this.#pending.get(reply.id)?.onEvent?.(reply.event);
      return;
    }
    // A reply to a cancelled request finds nothing pending and is dropped.
    const pending = this.#settle(reply.id);
    if (pending === undefined) return;
    if ("error" in reply) pending.reject(remoteError(this.#context(k), reply.error));
    else pending.resolve(reply.result);
  }

  #die(k: number, cause: ErrorData): void {
    if (this.#dead.has(k)) return;
    const error = remoteError(this.#context(k), cause);
    this.#dead.set(k, error);
    this.#workers[k].terminate();
    for (const [id, pending] of [...this.#pending]) {
      if (pending.worker !== k) continue;
      this.#settle(id);
      pending.reject(error);
    }
  }
}

/**
 * Spawns `count` Workers of `url` and, when `init` is given, calls their `init` method with it
 * (or with `init(k)` for Worker k) and waits until every one is ready. If one fails, all are
 * terminated and its error is thrown.
 */
export async function createPool<M extends Methods>(
  url: string | URL,
  init: M["init"]["payload"] | ((worker: number) => M["init"]["payload"]) | undefined,
  count: number,
  options: PoolOptions = {},
): Promise<WorkerPool<M>> {
  const pool = new WorkerPool<M>(url, count, options);
  if (init === undefined) return pool;
  try {
    await Promise.all(
      Array.from(
        { length: count },
        (_, k) =>
          pool.request(
            "init",
            typeof init === "function" ? (init as (worker: number) => unknown)(k) : init,
            { worker: k },
          ),
      ),
    );
  } catch (error) {
    pool.close();
    throw error;
  }
  return pool;
}

/** The payload of a {@linkcode workerJobs} method: a share of the jobs and what they share. */
export interface JobBatch<In, Shared> {
  /** The call's shared part. */
  shared: Shared;
  /** The jobs of this request. */
  jobs: In[];
}

/** A worker method that runs a {@linkcode JobBatch}: one result per job, in order. */
export type JobMethod<In, Out, Shared, Event = never> = {
  payload: JobBatch<In, Shared>;
  result: Out[];
  event: Event;
};

/**
 * How {@linkcode workerJobs} deals jobs. `round-robin`: job i goes to Worker i mod W, each
 * Worker's share in one request (so a Worker can batch them). `next-idle`: one request per
 * job, in job order, each to a Worker with nothing to do.
 */
export type Dealing = "round-robin" | "next-idle";

/**
 * A {@linkcode JobPool} over `pool`'s Workers, whose `method` runs {@linkcode JobBatch}es.
 * Closing it closes `pool`.
 */
export function workerJobs<In, Out, Shared = undefined, Event = never>(
  // deno-lint-ignore no-explicit-any
  pool: WorkerPool<any>,
  method: string,
  dealing: Dealing,
): JobPool<In, Out, Shared, Event> {
  const call = async (
    jobs: In[],
    worker: number,
    options: JobOptions<Shared, Event>,
  ): Promise<Out[]> => {
    const results = await pool.request(method, { shared: options.shared, jobs }, {
      worker,
      signal: options.signal,
      onEvent: options.onProgress as ((event: unknown) => void) | undefined,
    }) as Out[];
    if (results.length !== jobs.length) {
      throw new Error(`A worker gave ${results.length} results for ${jobs.length} jobs`);
    }
    return results;
  };
  const roundRobin = async (jobs: readonly In[], options: JobOptions<Shared, Event>) => {
    const W = pool.size;
    const parts = Array.from({ length: W }, (_, w) => jobs.filter((_, i) => i % W === w));
    const results = await Promise.all(
      parts.map((part, w) => part.length === 0 ? [] : call(part, w, options)),
    );
    return jobs.map((_, i) => results[i % W][Math.floor(i / W)]);
  };
  const nextIdle = (
    jobs: readonly In[],
    onResult: (result: Out, index: number) => void | Promise<void>,
    options: StreamOptions<Shared, Event>,
  ) => {
    let stop = () => {};
    return new Promise<void>((resolve, reject) => {
      const idle = Array.from({ length: pool.size }, (_, w) => w);
      const done = new Map<number, Out>();
      const ahead = options.ahead ?? Infinity;
      let next = 0, delivered = 0, failed = false;
      let chain = Promise.resolve();
      const fail = (error: unknown) => {
        if (!failed) reject(error);
        failed = true;
      };
      const deliver = async () => {
        while (!failed && done.has(delivered)) {
          const result = done.get(delivered)!;
          done.delete(delivered);
          await onResult(result, delivered);
          delivered++;
        }
        if (delivered === jobs.length) resolve();
        else dispatch();
      };
      // Jobs start in index order, at most `ahead` past the oldest one not delivered, so a long
      // job cannot make finished later ones pile up.
      const dispatch = () => {
        while (!failed && idle.length > 0 && next < jobs.length && next < delivered + ahead) {
          const [i, w] = [next++, idle.pop()!];
          call([jobs[i]], w, options).then(([result]) => {
            idle.push(w);
            done.set(i, result);
            chain = chain.then(deliver).catch(fail);
            dispatch();
          }, fail);
        }
      };
      const { signal } = options;
      const onAbort = () => fail(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (signal?.aborted) onAbort();
      else if (jobs.length === 0) resolve();
      else dispatch();
      stop = () => signal?.removeEventListener("abort", onAbort);
    }).finally(() => stop());
  };
  return {
    get size() {
      return pool.size;
    },
    async map(jobs, options) {
      if (dealing === "round-robin") return await roundRobin(jobs, options);
      const results: Out[] = [];
      await nextIdle(jobs, (result, i) => {
        results[i] = result;
      }, options);
      return results;
    },
    async stream(jobs, onResult, options) {
      if (dealing === "next-idle") return await nextIdle(jobs, onResult, options);
      const results = await roundRobin(jobs, options);
      for (let i = 0; i < results.length; i++) await onResult(results[i], i);
    },
    close: () => pool.close(),
  };
}
