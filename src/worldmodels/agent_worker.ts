/**
 * Worker entry of the controller stages: owns one {@linkcode ControllerDriver} (its own tfjs
 * backend, VAE, MDN-RNN and environments) and runs the episodes it is sent (methods:
 * {@linkcode DriverWorkerMethods}).
 *
 * @module
 */

import { ControllerDriver } from "./agent.ts";
import type { DriverWorkerMethods } from "./agent_pool.ts";
import { serveWorker } from "../pool/mod.ts";

let driver: ControllerDriver | undefined;

serveWorker<DriverWorkerMethods>({
  async init(config) {
    driver = await ControllerDriver.create(config);
  },
  // No signal, as in the dream Worker (watching it yields to the event loop every 16 ticks).
  async run({ shared, jobs }, { emit }) {
    if (driver === undefined) throw new Error("the worker was not initialised");
    return await driver.run(shared.candidates, jobs, {
      noProgressSteps: shared.noProgressSteps,
      onEpisode: () => emit(),
    });
  },
});
