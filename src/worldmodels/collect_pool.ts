/**
 * The episodes of `worldmodels/collect` as a {@linkcode JobPool}: in the calling thread or in
 * Workers (collect_worker.ts), each with its own CarRacing environment. Jobs go to the next idle
 * Worker; an episode depends only on its spec, so the output does not depend on the dealing.
 *
 * @module
 */

import { CarRacing } from "../envs/car_racing/mod.ts";
import type { Episode } from "../data/rollouts.ts";
import { createPool, inThread, type JobMethod, type JobPool, workerJobs } from "../pool/mod.ts";
import { type EpisodeSpec, runEpisode } from "./episode.ts";

/** What every episode of a collection shares. */
export interface CollectShared {
  /** Step limit of an episode. */
  maxSteps: number;
}

/** The methods of a collect Worker. */
export type CollectMethods = {
  run: JobMethod<EpisodeSpec, Episode, CollectShared>;
};

/** One environment running episodes; recreated when the step limit changes. */
export class EpisodeRunner {
  #env: CarRacing | undefined;

  /** Runs one episode. */
  async run(spec: EpisodeSpec, maxSteps: number): Promise<Episode> {
    if (this.#env === undefined || this.#env.maxSteps !== maxSteps) {
      this.#env?.close();
      this.#env = await CarRacing.create({ observation: "pixels64", maxSteps });
    }
    return runEpisode(this.#env, spec);
  }

  /** Frees the environment. */
  close(): void {
    this.#env?.close();
    this.#env = undefined;
  }
}

/** Collection episodes in `count` Workers, or in this thread when `count` is 1. */
export async function collectEpisodePool(
  count: number,
): Promise<JobPool<EpisodeSpec, Episode, CollectShared>> {
  if (count <= 1) {
    const runner = new EpisodeRunner();
    return inThread<EpisodeSpec, Episode, CollectShared>(async (specs, { shared }) => {
      const episodes: Episode[] = [];
      for (const spec of specs) episodes.push(await runner.run(spec, shared.maxSteps));
      return episodes;
    }, () => runner.close());
  }
  const url = new URL("./collect_worker.ts", import.meta.url);
  const workers = await createPool<CollectMethods>(url, undefined, count, {
    context: "Cannot collect episodes",
  });
  return workerJobs(workers, "run", "next-idle");
}
