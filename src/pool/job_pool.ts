/**
 * {@linkcode JobPool}: what the call sites that fan jobs out (episodes, dream episodes) depend
 * on, whatever runs the jobs: the calling thread ({@linkcode inThread}), local Workers
 * ({@linkcode workerJobs}), or another implementation (a fleet of machines).
 *
 * @module
 */

/** Options of {@linkcode JobPool.map} and {@linkcode JobPool.stream}. */
export interface JobOptions<Shared, Event> {
  /** What every job of the call needs (sent once per batch, not once per job). */
  shared: Shared;
  /** Cancels the call: it rejects with the signal's reason (an `AbortError` by default). */
  signal?: AbortSignal;
  /** Called for each event the jobs emit (e.g. once per episode that ends), in any order. */
  onProgress?: (event: Event) => void;
}

/** Options of {@linkcode JobPool.stream}. */
export interface StreamOptions<Shared, Event> extends JobOptions<Shared, Event> {
  /**
   * Jobs that may be started ahead of the oldest result not yet delivered (bounds the memory
   * of results waiting for an earlier one); default: no bound.
   */
  ahead?: number;
}

/**
 * Runs jobs and gives their results back in job order. A job's result must depend only on the
 * job and `shared`, never on which thread or machine ran it.
 */
export interface JobPool<In, Out, Shared = undefined, Event = never> {
  /** Jobs run in parallel. */
  readonly size: number;
  /** Runs all jobs; results in job order. */
  map(jobs: readonly In[], options: JobOptions<Shared, Event>): Promise<Out[]>;
  /**
   * Runs all jobs and hands each result to `onResult` in job order, one at a time (the next
   * waits for the promise it returns); resolves when the last has been handled.
   */
  stream(
    jobs: readonly In[],
    onResult: (result: Out, index: number) => void | Promise<void>,
    options: StreamOptions<Shared, Event>,
  ): Promise<void>;
  /** Frees the pool (stops its Workers); it cannot be used afterwards. */
  close(): void;
}

/** How {@linkcode inThread} runs a batch of jobs. */
export type RunBatch<In, Out, Shared, Event> = (
  jobs: readonly In[],
  options: JobOptions<Shared, Event>,
) => Out[] | Promise<Out[]>;

/**
 * A {@linkcode JobPool} of size 1 in the calling thread: `map` runs all jobs as one batch,
 * `stream` runs them one by one (checking the signal before each). `close` is called once.
 */
export function inThread<In, Out, Shared = undefined, Event = never>(
  run: RunBatch<In, Out, Shared, Event>,
  close: () => void = () => {},
): JobPool<In, Out, Shared, Event> {
  let closed = false;
  const check = () => {
    if (closed) throw new Error("Cannot run jobs: the pool is closed");
  };
  return {
    size: 1,
    async map(jobs, options) {
      check();
      options.signal?.throwIfAborted();
      return await run(jobs, options);
    },
    async stream(jobs, onResult, options) {
      check();
      for (let i = 0; i < jobs.length; i++) {
        options.signal?.throwIfAborted();
        const [result] = await run([jobs[i]], options);
        await onResult(result, i);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      close();
    },
  };
}
