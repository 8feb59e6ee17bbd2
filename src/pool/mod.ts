/**
 * One Worker pool for every place that runs work in other threads.
 *
 * - {@linkcode JobPool}: jobs in, results back in job order (`map`, `stream`, `close`); what
 *   call sites that fan jobs out depend on. {@linkcode inThread} runs them in the calling
 *   thread, {@linkcode workerJobs} over a {@linkcode WorkerPool}.
 * - {@linkcode createPool} / {@linkcode WorkerPool}: `n` module Workers, each set up once with
 *   an `init` payload, then `request(method, payload, { worker, signal, transfer, onEvent })`
 *   with replies matched by id.
 * - {@linkcode serveWorker}: the Worker side; a Worker module is only its handlers.
 *
 * @example Usage
 * ```ts ignore
 * import { createPool } from "./mod.ts";
 * type Methods = {
 *   init: { payload: { scale: number }; result: void };
 *   scale: { payload: number; result: number };
 * };
 * const pool = await createPool<Methods>(new URL("./my_worker.ts", import.meta.url), { scale: 2 }, 4);
 * const six = await pool.request("scale", 3);
 * pool.close();
 * ```
 *
 * @module
 */

export {
  inThread,
  type JobOptions,
  type JobPool,
  type RunBatch,
  type StreamOptions,
} from "./job_pool.ts";
export { type ErrorData, errorData, type Methods, remoteError } from "./protocol.ts";
export { type Handlers, serveWorker, type WorkerContext } from "./serve.ts";
export { startJobs, type StartJobsOptions } from "./start_jobs.ts";
export {
  createPool,
  type Dealing,
  type JobBatch,
  type JobMethod,
  type PoolOptions,
  type RequestOptions,
  workerJobs,
  WorkerPool,
} from "./worker_pool.ts";
