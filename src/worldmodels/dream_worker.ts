/**
 * Worker entry of {@linkcode DreamPool}: owns one {@linkcode DreamEnv} and runs the dream
 * episodes it is sent.
 *
 * Messages in: `{ type: "init", config }`, then `{ type: "run", candidates, jobs }`.
 * Messages out: `{ type: "ready" }`, `{ type: "done", outcomes }`, or
 * `{ type: "error", message }`.
 *
 * @module
 */

import { type DreamConfig, DreamEnv, type DreamJob } from "./dream_env.ts";

/** A message to the worker. */
export type DreamWorkerRequest =
  | { type: "init"; config: DreamConfig }
  | { type: "run"; candidates: Float32Array[]; jobs: DreamJob[] };

/** The worker's global scope, typed without the worker lib so `deno check src/` stays one program. */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<DreamWorkerRequest>) => void) | null;
  postMessage(message: unknown): void;
};

let dream: Promise<DreamEnv> | undefined;

function describe(error: unknown): string {
  return error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error);
}

scope.onmessage = async (event: MessageEvent<DreamWorkerRequest>) => {
  const message = event.data;
  try {
    if (message.type === "init") {
      dream = DreamEnv.create(message.config);
      await dream;
      scope.postMessage({ type: "ready" });
      return;
    }
    if (dream === undefined) throw new Error("Cannot dream: the worker was not initialised");
    const outcomes = await (await dream).run(message.candidates, message.jobs);
    scope.postMessage({ type: "done", outcomes });
  } catch (error) {
    scope.postMessage({ type: "error", message: describe(error) });
  }
};
