/**
 * Worker entry of `DreamPool` (dream_env.ts): owns one {@linkcode DreamEnv} and runs the dream
 * episodes it is sent (methods: {@linkcode DreamWorkerMethods}).
 *
 * @module
 */

import { DreamEnv, type DreamWorkerMethods } from "./dream_env.ts";
import { serveWorker } from "../pool/mod.ts";

let dream: DreamEnv | undefined;

serveWorker<DreamWorkerMethods>({
  async init(config) {
    dream = await DreamEnv.create(config);
  },
  // No signal: watching it yields to the event loop every 16 steps; a cancelled call's pool
  // is closed (terminating this Worker) by its owner.
  async run({ shared, jobs }) {
    if (dream === undefined) throw new Error("the worker was not initialised");
    return await dream.run(shared.candidates, jobs);
  },
});
