/**
 * Worker entry of the controller stages: owns one {@linkcode ControllerDriver} (its own tfjs
 * backend, VAE, MDN-RNN and environments) and runs the episodes it is sent.
 *
 * Messages in: `{ type: "init", config }`, then `{ type: "run", id, candidates, jobs }`.
 * Messages out: `{ type: "ready" }`, `{ type: "episode", id }` when an episode ends (with
 * `progress`), `{ type: "done", id, outcomes }`, or `{ type: "error", id?, message }`.
 *
 * @module
 */

import { ControllerDriver, type DriverConfig, type EpisodeJob } from "./agent.ts";

/** A message to the worker. */
export type DriverWorkerRequest =
  | { type: "init"; config: DriverConfig }
  | {
    type: "run";
    id: number;
    candidates: Float32Array[];
    jobs: EpisodeJob[];
    noProgressSteps?: number;
    progress?: boolean;
  };

/** The worker's global scope, typed without the worker lib so `deno check src/` stays one program. */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<DriverWorkerRequest>) => void) | null;
  postMessage(message: unknown): void;
};

let driver: Promise<ControllerDriver> | undefined;

function describe(error: unknown): string {
  return error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
}

scope.onmessage = async (event: MessageEvent<DriverWorkerRequest>) => {
  const message = event.data;
  if (message.type === "init") {
    driver = ControllerDriver.create(message.config);
    try {
      await driver;
      scope.postMessage({ type: "ready" });
    } catch (error) {
      scope.postMessage({ type: "error", message: describe(error) });
    }
    return;
  }
  try {
    if (driver === undefined) {
      throw new Error("Cannot run episodes: the worker was not initialised");
    }
    const outcomes = await (await driver).run(message.candidates, message.jobs, {
      noProgressSteps: message.noProgressSteps,
      onEpisode: message.progress
        ? () => scope.postMessage({ type: "episode", id: message.id })
        : undefined,
    });
    scope.postMessage({ type: "done", id: message.id, outcomes });
  } catch (error) {
    scope.postMessage({ type: "error", id: message.id, message: describe(error) });
  }
};
