/**
 * MDN-RNN training throughput: `rnn_train_timesteps_per_s` at batch 32 x 300 steps, the book's
 * network (input z 32 + action 3 + reward 1, LSTM 256, head 5 x 3 x 32 + 1), like the PyTorch
 * anchor `../shared/bench/torch_reference.py`. Prints JSON lines; logs go to stderr.
 *
 * ```sh
 * deno run -A bench/models_rnn_bench.ts [--iters 7] [--workers 1|2]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { initBackend } from "../src/models/backend/mod.ts";
import { MdnRnn } from "../src/models/mdn_rnn.ts";
import { createRng } from "../src/runner/rng.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    iters: { type: "string", default: "7" },
    batch: { type: "string", default: "32" },
    seq: { type: "string", default: "300" },
    workers: { type: "string", default: "1" },
  },
});
const iters = Number(values.iters), B = Number(values.batch), T = Number(values.seq);
const workers = Number(values.workers);

const backend = await initBackend({ backend: "wasm" });
const rnn = new MdnRnn({ rewardHead: true }, { seed: 0, workers });
const rng = createRng(1);
const L = T + 1;
const seqs = {
  z: Float32Array.from({ length: B * L * 32 }, () => rng.normal()),
  action: Float32Array.from({ length: B * L * 3 }, () => rng.nextFloat() * 2 - 1),
  reward: Float32Array.from({ length: B * L }, () => (rng.nextFloat() < 0.5 ? 1 : 0)),
  batch: B,
  length: L,
};

await rnn.trainStepAsync(seqs); // warm-up: memory layout, compilation, Workers
const times: number[] = [];
for (let i = 0; i < iters; i++) {
  const t0 = performance.now();
  const { loss } = await rnn.trainStepAsync(seqs);
  times.push(performance.now() - t0);
  console.error(`step ${i}: ${times[i].toFixed(0)} ms, loss ${loss.toFixed(4)}`);
}
await rnn.close();
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(JSON.stringify({
  name: "rnn_train_timesteps_per_s",
  value: Math.round((B * T) / (median / 1000)),
  unit: "timesteps/s",
  batch: B,
  seq: T,
  workers,
  backend: backend.name,
  median_step_ms: Math.round(median),
}));
