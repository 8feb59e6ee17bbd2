/**
 * Runs controller episodes across Workers, each with its own batched
 * {@linkcode ControllerDriver}; with one worker, in the calling thread.
 *
 * Jobs are dealt round-robin (job i to worker i mod W), so every worker gets the same share of
 * each candidate's episodes; outcomes come back in job order.
 *
 * @module
 */

import {
  ControllerDriver,
  type DriverConfig,
  type EpisodeJob,
  type EpisodeOutcome,
} from "./agent.ts";

interface WorkerReply {
  type: "ready" | "done" | "error" | "episode";
  id?: number;
  outcomes?: EpisodeOutcome[];
  message?: string;
}

/** A pool of drivers: one in-thread driver, or `workers` Workers. */
export class DriverPool {
  #local: ControllerDriver | undefined;
  #workers: Worker[];
  #signal: AbortSignal | undefined;
  #nextId = 0;

  private constructor(
    local: ControllerDriver | undefined,
    workers: Worker[],
    signal?: AbortSignal,
  ) {
    this.#local = local;
    this.#workers = workers;
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
    if (options.workers <= 1) {
      return new DriverPool(await ControllerDriver.create(config), [], options.signal);
    }
    const url = new URL("./agent_worker.ts", import.meta.url).href;
    const workers = Array.from(
      { length: options.workers },
      () => new Worker(url, { type: "module" }),
    );
    const pool = new DriverPool(undefined, workers, options.signal);
    try {
      await Promise.all(workers.map((w) => pool.#request(w, { type: "init", config }, "ready")));
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  /** Number of drivers running episodes in parallel. */
  get size(): number {
    return this.#local ? 1 : this.#workers.length;
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
    if (this.#local) {
      return await this.#local.run(candidates, jobs, {
        signal: this.#signal,
        noProgressSteps,
        onEpisode,
      });
    }
    let ended = 0;
    const onReply = onEpisode && ((reply: WorkerReply) => {
      if (reply.type === "episode") onEpisode(++ended);
    });
    const packed = candidates.map((c) => Float32Array.from(c));
    const W = this.#workers.length;
    const parts = this.#workers.map((_, w) => jobs.filter((_, i) => i % W === w));
    const results = await Promise.all(
      this.#workers.map((worker, w) =>
        parts[w].length === 0 ? Promise.resolve([]) : this.#request(
          worker,
          {
            type: "run",
            id: this.#nextId++,
            candidates: packed,
            jobs: parts[w],
            noProgressSteps,
            progress: onEpisode !== undefined,
          },
          "done",
          onReply,
        ).then((reply) => reply.outcomes!)
      ),
    );
    return jobs.map((_, i) => results[i % W][Math.floor(i / W)]);
  }

  /** Stops the workers (or frees the in-thread driver). */
  close(): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers = [];
    this.#local?.close();
    this.#local = undefined;
  }

  #request(
    worker: Worker,
    message: unknown,
    expect: "ready" | "done",
    onProgress?: (reply: WorkerReply) => void,
  ): Promise<WorkerReply> {
    return new Promise<WorkerReply>((resolve, reject) => {
      const signal = this.#signal;
      const onAbort = () => finish(() => reject(signal!.reason));
      const finish = (action: () => void) => {
        worker.onmessage = null;
        worker.onerror = null;
        signal?.removeEventListener("abort", onAbort);
        action();
      };
      worker.onmessage = (event: MessageEvent<WorkerReply>) => {
        const reply = event.data;
        if (reply.type === "episode") onProgress?.(reply);
        else if (reply.type === expect) finish(() => resolve(reply));
        else finish(() => reject(new Error(`Cannot run controller episodes: ${reply.message}`)));
      };
      worker.onerror = (event) => {
        event.preventDefault();
        finish(() =>
          reject(new Error(`Cannot run controller episodes: a worker failed: ${event.message}`))
        );
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      worker.postMessage(message);
    });
  }
}
