/**
 * {@linkcode EpisodePool}: episodes of candidate controllers on a {@linkcode JobPool}, the part
 * that the real driver pool ({@linkcode DriverPool}, agent_pool.ts) and the dream pool
 * (`DreamPool`, dream_env.ts) share.
 *
 * @module
 */

import type { JobPool } from "../pool/mod.ts";
import type { EpisodeJob, EpisodeOutcome } from "./agent.ts";

/** What every episode of one {@linkcode EpisodePool.run} call shares. */
export interface EpisodeBatch {
  /** The candidates' parameters. */
  candidates: Float32Array[];
  /** As `DriverRunOptions.noProgressSteps` (agent.ts); the dream has none. */
  noProgressSteps?: number;
}

/** Options of {@linkcode EpisodePool.run}. */
export interface EpisodeRunOptions {
  /** As `DriverRunOptions.noProgressSteps` (agent.ts); the dream has none. */
  noProgressSteps?: number;
  /** Called each time an episode ends, in any worker, with the count so far. */
  onEpisode?: (ended: number) => void;
}

/** Episodes of candidates, on the jobs pool it is given (in-thread or Workers). */
export class EpisodePool<Job extends EpisodeJob, Outcome extends EpisodeOutcome> {
  readonly #jobs: JobPool<Job, Outcome, EpisodeBatch, void>;
  readonly #signal: AbortSignal | undefined;

  /** Runs on `jobs`; every call is cancelled by `signal`. */
  constructor(jobs: JobPool<Job, Outcome, EpisodeBatch, void>, signal?: AbortSignal) {
    this.#jobs = jobs;
    this.#signal = signal;
  }

  /** Number of threads running episodes in parallel. */
  get size(): number {
    return this.#jobs.size;
  }

  /** Runs all jobs; outcomes in job order. */
  async run(
    candidates: readonly ArrayLike<number>[],
    jobs: readonly Job[],
    options: EpisodeRunOptions = {},
  ): Promise<Outcome[]> {
    const { noProgressSteps, onEpisode } = options;
    let ended = 0;
    return await this.#jobs.map(jobs, {
      // Parameters as float32, as the drivers use them; a float32 candidate is unchanged.
      shared: { candidates: candidates.map((c) => Float32Array.from(c)), noProgressSteps },
      signal: this.#signal,
      onProgress: onEpisode && (() => onEpisode(++ended)),
    });
  }

  /** Stops the Workers (or frees the in-thread runner). */
  close(): void {
    this.#jobs.close();
  }
}
