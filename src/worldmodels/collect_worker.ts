/**
 * Worker entry of `worldmodels/collect`: owns one CarRacing environment and runs the episodes
 * it is sent, posting each one's arrays back (transferred, not copied). Methods:
 * {@linkcode CollectMethods}.
 *
 * @module
 */

import { serveWorker } from "../pool/mod.ts";
import { type CollectMethods, EpisodeRunner } from "./collect_pool.ts";

const runner = new EpisodeRunner();

serveWorker<CollectMethods>({
  async run({ shared, jobs }, { transfer }) {
    const episodes = [];
    for (const spec of jobs) {
      let data;
      try {
        data = await runner.run(spec, shared.maxSteps);
      } catch (error) {
        // Name the episode; the stack still points at the failing line.
        if (error instanceof Error) error.message = `episode ${spec.episode}: ${error.message}`;
        throw error;
      }
      const { frames, actions, rewards, dones } = data;
      for (const array of [frames, actions, rewards, dones]) transfer(array.buffer as ArrayBuffer);
      episodes.push(data);
    }
    return episodes;
  },
});
