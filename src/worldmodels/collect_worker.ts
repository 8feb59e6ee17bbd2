/**
 * Worker entry of `worldmodels/collect`: owns one CarRacing environment and runs the episodes
 * it is sent, posting each one's arrays back (transferred, not copied).
 *
 * Messages in: `{ maxSteps, spec: EpisodeSpec }`. Messages out: `{ episode, data: Episode }` or
 * `{ episode, error }`.
 *
 * @module
 */

import { CarRacing } from "../envs/car_racing/mod.ts";
import { type EpisodeSpec, runEpisode } from "./episode.ts";

/** The worker's global scope, typed without the worker lib so `deno check src/` stays one program. */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<{ maxSteps: number; spec: EpisodeSpec }>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

let env: CarRacing | undefined;

scope.onmessage = async (event: MessageEvent<{ maxSteps: number; spec: EpisodeSpec }>) => {
  const { maxSteps, spec } = event.data;
  try {
    if (env === undefined || env.maxSteps !== maxSteps) {
      env?.close();
      env = await CarRacing.create({ observation: "pixels64", maxSteps });
    }
    const data = runEpisode(env, spec);
    scope.postMessage({ episode: spec.episode, data }, [
      data.frames.buffer as ArrayBuffer,
      data.actions.buffer as ArrayBuffer,
      data.rewards.buffer as ArrayBuffer,
      data.dones.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    scope.postMessage({
      episode: spec.episode,
      error: error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error),
    });
  }
};
