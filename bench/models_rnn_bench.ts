/**
 * MDN-RNN training throughput at batch 32 x 300 steps, the book's network (input z 32 + action 3
 * + reward 1, LSTM 256, head 5 x 3 x 32 + 1), like the PyTorch anchor
 * `../shared/bench/torch_reference.py`. Measures 1 thread and 2 threads (data parallel, one
 * shard in a Worker), interleaved step by step so that both see the same machine load, and
 * prints `rnn_train_timesteps_per_s_<n>threads` for each and `rnn_train_timesteps_per_s` for
 * the faster one (medians). Also the CPU time per step of the 1-thread run, which is less
 * sensitive to other processes on a shared machine. JSON lines on stdout; logs on stderr.
 *
 * ```sh
 * deno run -A bench/models_rnn_bench.ts [--iters 7]
 * ```
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { initBackend } from "../src/models/backend/mod.ts";
import { MdnRnn } from "../src/models/mdn_rnn.ts";
import { mdnRnnFlops } from "../src/models/flops.ts";
import { createRng } from "../src/random/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    iters: { type: "string", default: "7" },
    batch: { type: "string", default: "32" },
    seq: { type: "string", default: "300" },
  },
});
const iters = Number(values.iters), B = Number(values.batch), T = Number(values.seq);

const backend = await initBackend({ backend: "wasm" });
const rng = createRng(1);
const L = T + 1;
const seqs = {
  z: Float32Array.from({ length: B * L * 32 }, () => rng.normal()),
  action: Float32Array.from({ length: B * L * 3 }, () => rng.nextFloat() * 2 - 1),
  reward: Float32Array.from({ length: B * L }, () => (rng.nextFloat() < 0.5 ? 1 : 0)),
  batch: B,
  length: L,
};

const threads = [1, 2];
const models = threads.map((workers) => new MdnRnn({ rewardHead: true }, { seed: 0, workers }));
for (const m of models) await m.trainStepAsync(seqs); // warm-up: memory, compilation, Workers
const times: number[][] = threads.map(() => []);
const cpuTimes: number[] = [];
for (let i = 0; i < iters; i++) {
  for (let j = 0; j < threads.length; j++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { loss } = await models[j].trainStepAsync(seqs);
    const ms = performance.now() - t0;
    times[j].push(ms);
    if (threads[j] === 1) {
      const u = process.cpuUsage(c0);
      cpuTimes.push((u.user + u.system) / 1000);
    }
    console.error(
      `${threads[j]} thread(s), step ${i}: ${ms.toFixed(0)} ms, loss ${loss.toFixed(4)}`,
    );
  }
}
for (const m of models) await m.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (ms: number) => Math.round((B * T) / (ms / 1000));
// FLOPs per timestep, which bench/main.ts turns into GFLOP/s and a fraction of the SIMD peak.
const meta = {
  batch: B,
  seq: T,
  backend: backend.name,
  iters,
  flops_per_unit: mdnRnnFlops(models[0]).train,
};
let best = { value: 0, threads: 1 };
threads.forEach((n, j) => {
  const value = rate(median(times[j]));
  if (value > best.value) best = { value, threads: n };
  console.log(JSON.stringify({
    name: `rnn_train_timesteps_per_s_${n}thread${n > 1 ? "s" : ""}`,
    value,
    unit: "timesteps/s",
    threads: n,
    median_step_ms: Math.round(median(times[j])),
    ...meta,
  }));
});
console.log(JSON.stringify({
  name: "rnn_train_cpu_timesteps_per_s",
  value: rate(median(cpuTimes)),
  unit: "timesteps/cpu-s",
  threads: 1,
  ...meta,
}));
console.log(JSON.stringify({
  name: "rnn_train_timesteps_per_s",
  value: best.value,
  unit: "timesteps/s",
  threads: best.threads,
  ...meta,
}));
