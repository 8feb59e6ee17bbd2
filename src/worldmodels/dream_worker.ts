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
  async run({ shared, jobs }, { signal }) {
    if (dream === undefined) throw new Error("the worker was not initialised");
    return await dream.run(shared, jobs, { signal });
  },
});
