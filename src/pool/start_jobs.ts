/**
 * {@linkcode startJobs}: the one way a call site gets its {@linkcode JobPool}, in this thread
 * or in Workers, from a worker count.
 *
 * @module
 */

import { inThread, type JobPool, type RunBatch } from "./job_pool.ts";
import { createPool, type Dealing, type PoolOptions, workerJobs } from "./worker_pool.ts";

/** Options of {@linkcode startJobs}. */
export interface StartJobsOptions<In, Out, Shared, Event> {
  /** Threads running jobs; 1 (or less) runs them in the calling thread. */
  workers: number;
  /** Sets up the in-thread runner (only called when `workers` <= 1). */
  local: () => Promise<{ run: RunBatch<In, Out, Shared, Event>; close?: () => void }>;
  /** The Worker module: it serves `method` (a `JobMethod`) and, with `init`, `init`. */
  url: URL;
  /** Payload of every Worker's `init` call; none when undefined. */
  init?: unknown;
  /** The Workers' method that runs a batch of jobs. */
  method: string;
  /** How jobs are dealt to the Workers. */
  dealing: Dealing;
  /** Put before the Workers' error messages. */
  context?: PoolOptions["context"];
}

/**
 * A {@linkcode JobPool} of `workers` Workers (each given `init` and ready), or of the calling
 * thread when `workers` is 1.
 */
export async function startJobs<In, Out, Shared = undefined, Event = never>(
  options: StartJobsOptions<In, Out, Shared, Event>,
): Promise<JobPool<In, Out, Shared, Event>> {
  if (options.workers <= 1) {
    const { run, close } = await options.local();
    return inThread(run, close);
  }
  const pool = await createPool(options.url, options.init, options.workers, {
    context: options.context,
  });
  return workerJobs(pool, options.method, options.dealing);
}
