/**
 * Runs controller episodes across Workers, each with its own batched
 * {@linkcode ControllerDriver}; with one worker, in the calling thread.
 *
 * Jobs are dealt round-robin (job i to worker i mod W), so every worker gets the same share of
 * each candidate's episodes; outcomes come back in job order.
 *
 * @module
 */

import { type JobMethod, type JobPool, startJobs } from "../pool/mod.ts";
import {
  ControllerDriver,
  type DriverConfig,
  type EpisodeJob,
  type EpisodeOutcome,
} from "./agent.ts";

/** What every episode of a {@linkcode DriverPool.run} call shares. */
export interface EpisodeBatch {
  /** The candidates' parameters. */
  candidates: Float32Array[];
  /** As `DriverRunOptions.noProgressSteps` (agent.ts). */
  noProgressSteps?: number;
}

/** The methods of a driver Worker (see agent_worker.ts); `run` emits once per ended episode. */
export type DriverWorkerMethods = {
  init: { payload: DriverConfig; result: void };
  run: JobMethod<EpisodeJob, EpisodeOutcome, EpisodeBatch, void>;
};

/** A pool of drivers: one in-thread driver, or `workers` Workers. */
export class DriverPool {
  readonly #jobs: JobPool<EpisodeJob, EpisodeOutcome, EpisodeBatch, void>;
  readonly #signal: AbortSignal | undefined;

  private constructor(
    jobs: JobPool<EpisodeJob, EpisodeOutcome, EpisodeBatch, void>,
    signal?: AbortSignal,
  ) {
    this.#jobs = jobs;
    this.#signal = signal;
  }

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

  /** Number of drivers running episodes in parallel. */
  get size(): number {
    return this.#jobs.size;
  }

  /**
   * Runs all jobs; outcomes in job order. `onEpisode` is called each time an episode ends, in
   * any worker (with the count so far).
   */
  async run(
    candidates: readonly ArrayLike<number>[],
    jobs: readonly EpisodeJob[],
    options: { noProgressSteps?: number; onEpisode?: (ended: number) => void } = {},
  ): Promise<EpisodeOutcome[]> {
    const { noProgressSteps, onEpisode } = options;
    let ended = 0;
    return await this.#jobs.map(jobs, {
      shared: { candidates: candidates.map((c) => Float32Array.from(c)), noProgressSteps },
      signal: this.#signal,
      onProgress: onEpisode && (() => onEpisode(++ended)),
    });
  }

  /** Stops the workers (or frees the in-thread driver). */
  close(): void {
    this.#jobs.close();
  }
}
