/**
 * Runs controller episodes across Workers, each with its own batched
 * {@linkcode ControllerDriver}; with one worker, in the calling thread.
 *
 * Jobs are dealt round-robin (job i to worker i mod W), so every worker gets the same share of
 * each candidate's episodes; outcomes come back in job order.
 *
 * @module
 */

import { type JobMethod, startJobs } from "../pool/mod.ts";
import {
  ControllerDriver,
  type DriverConfig,
  type EpisodeJob,
  type EpisodeOutcome,
} from "./agent.ts";
import { type EpisodeBatch, EpisodePool } from "./episode_pool.ts";

/** The methods of a driver Worker (see agent_worker.ts); `run` emits once per ended episode. */
export type DriverWorkerMethods = {
  init: { payload: DriverConfig; result: void };
  run: JobMethod<EpisodeJob, EpisodeOutcome, EpisodeBatch, void>;
};

/** A pool of drivers: one in-thread driver, or `workers` Workers. */
export class DriverPool extends EpisodePool<EpisodeJob, EpisodeOutcome> {
  /**
   * Starts the drivers (loads the models in every Worker).
   *
   * @param config Driver settings (`slots` is per worker).
   * @param options `workers` (1 = in this thread) and an abort signal.
   */
  static async create(
    config: DriverConfig,
    options: { workers: number; signal?: AbortSignal },
  ): Promise<DriverPool> {
    const jobs = await startJobs<EpisodeJob, EpisodeOutcome, EpisodeBatch, void>({
      workers: options.workers,
      local: async () => {
        const driver = await ControllerDriver.create(config);
        return {
          run: (jobs, { shared, signal, onProgress }) =>
            driver.run(shared.candidates, jobs, {
              signal,
              noProgressSteps: shared.noProgressSteps,
              onEpisode: onProgress && (() => onProgress()),
            }),
          close: () => driver.close(),
        };
      },
      url: new URL("./agent_worker.ts", import.meta.url),
      init: config,
      method: "run",
      dealing: "round-robin",
      context: "Cannot run controller episodes",
    });
    return new DriverPool(jobs, options.signal);
  }
}
