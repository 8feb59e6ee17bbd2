/**
 * Worker side of {@link VectorEnv}: owns a contiguous slice of the environments and steps
 * them in place on shared memory. Protocol (one request in flight at a time):
 * `init` -> `ready`, `reset` -> `done`, `step` -> `done`; any failure -> `error`.
 *
 * @module
 */

import { CarRacing } from "../car_racing/mod.ts";
import type { WorkerReply, WorkerRequest } from "./protocol.ts";
import { SharedViews } from "./protocol.ts";

declare const self: {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(msg: WorkerReply): void;
};

let envs: CarRacing[] = [];
let views: SharedViews | undefined;
let start = 0;
let ended: boolean[] = [];

async function handle(msg: WorkerRequest): Promise<void> {
  if (msg.type === "init") {
    views = new SharedViews(msg.layout, msg.buffer);
    start = msg.start;
    envs = [];
    for (let i = 0; i < msg.count; i++) {
      envs.push(await CarRacing.create({ observation: msg.observation, maxSteps: msg.maxSteps }));
    }
    ended = envs.map(() => false);
    self.postMessage({ type: "ready" });
    return;
  }
  const v = views!;
  if (msg.type === "reset") {
    for (let k = 0; k < envs.length; k++) {
      const i = start + k;
      const seed = msg.seeds[k];
      const r = envs[k].reset(seed === null ? {} : { seed });
      v.obs.set(r.observation, i * v.layout.obsSize);
      v.rewards[i] = 0;
      v.terminated[i] = 0;
      v.truncated[i] = 0;
      v.writeInfo(i, r.info);
      ended[k] = false;
    }
    self.postMessage({ type: "done" });
    return;
  }
  if (msg.type === "step") {
    for (let k = 0; k < envs.length; k++) {
      const i = start + k;
      // Ended episodes stay frozen until the next reset: reward 0, flags and observation kept.
      if (ended[k]) {
        v.rewards[i] = 0;
        continue;
      }
      const a = v.actions;
      const r = envs[k].step([a[i * 3], a[i * 3 + 1], a[i * 3 + 2]]);
      v.obs.set(r.observation, i * v.layout.obsSize);
      v.rewards[i] = r.reward;
      v.terminated[i] = r.terminated ? 1 : 0;
      v.truncated[i] = r.truncated ? 1 : 0;
      v.writeInfo(i, r.info);
      ended[k] = r.terminated || r.truncated;
    }
    self.postMessage({ type: "done" });
    return;
  }
  if (msg.type === "close") {
    for (const env of envs) env.close();
    envs = [];
    self.postMessage({ type: "done" });
  }
}

self.onmessage = (e: MessageEvent<WorkerRequest>) => {
  handle(e.data).catch((err) => {
    self.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });
  });
};
