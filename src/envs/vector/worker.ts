/**
 * Worker side of {@link VectorEnv}: owns a contiguous slice of the environments and steps
 * them in place on shared memory (methods: {@link VectorWorkerMethods}).
 *
 * @module
 */

import { CarRacing } from "../car_racing/mod.ts";
import { serveWorker } from "../../pool/mod.ts";
import { SharedViews, type VectorWorkerMethods } from "./protocol.ts";

let envs: CarRacing[] = [];
let views: SharedViews | undefined;
let start = 0;
let ended: boolean[] = [];

serveWorker<VectorWorkerMethods>({
  async init(msg) {
    views = new SharedViews(msg.layout, msg.buffer);
    start = msg.start;
    envs = [];
    for (let i = 0; i < msg.count; i++) {
      envs.push(await CarRacing.create({ observation: msg.observation, maxSteps: msg.maxSteps }));
    }
    ended = envs.map(() => false);
  },
  reset(seeds) {
    const v = views!;
    for (let k = 0; k < envs.length; k++) {
      const i = start + k;
      const seed = seeds[k];
      const r = envs[k].reset(seed === null ? {} : { seed });
      v.obs.set(r.observation, i * v.layout.obsSize);
      v.rewards[i] = 0;
      v.terminated[i] = 0;
      v.truncated[i] = 0;
      v.writeInfo(i, r.info);
      ended[k] = false;
    }
  },
  step() {
    const v = views!;
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
  },
  close() {
    for (const env of envs) env.close();
    envs = [];
  },
});
