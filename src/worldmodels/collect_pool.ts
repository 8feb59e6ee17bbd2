/**
 * The episodes of `worldmodels/collect` as a {@linkcode JobPool}: in the calling thread or in
 * Workers (collect_worker.ts), each with its own CarRacing environment. Jobs go to the next idle
 * Worker; an episode depends only on its spec, so the output does not depend on the dealing.
 *
 * @module
 */

import { CarRacing } from "../envs/car_racing/mod.ts";
import type { Episode } from "../data/rollouts.ts";
import { type JobMethod, type JobPool, startJobs } from "../pool/mod.ts";
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
  return await startJobs<EpisodeSpec, Episode, CollectShared>({
    workers: count,
    local: () => {
      const runner = new EpisodeRunner();
      const run = async (specs: readonly EpisodeSpec[], { shared }: { shared: CollectShared }) => {
        const episodes: Episode[] = [];
        for (const spec of specs) episodes.push(await runner.run(spec, shared.maxSteps));
        return episodes;
      };
      return Promise.resolve({ run, close: () => runner.close() });
    },
    url: new URL("./collect_worker.ts", import.meta.url),
    method: "run",
    dealing: "next-idle",
    context: "Cannot collect episodes",
  });
}
