/**
 * Data-layer benchmarks: reading frames of a rollout dataset from disk (sequential row ranges
 * as the anchor, shuffled minibatches as the VAE reads them), and `worldmodels/collect`
 * throughput with 1 and 2 Workers (1 as the anchor).
 *
 * Collection with Workers pays a fixed cost per Worker, about 0.3 CPU-s here: spawning it and
 * loading its modules (about 0.13 s) and warming its JIT up on the first episode (about 0.2 s),
 * against about 1 CPU-s of episodes in this benchmark (a real collection has 30 times more). The
 * CPU figures separate that from the machine's load: `collect_workers_<n>_cpu_s` is the
 * process's CPU time, `collect_worker_startup_cpu_s` the extra CPU each Worker costs, and
 * `collect_workers_2_vs_1_cpu` the scaling two free cores would give (2 x CPU with 1 / CPU with
 * 2: the CPU split evenly over the cores).
 *
 * Run: `deno run -A bench/data_bench.ts`. JSON lines on stdout, logs on stderr.
 *
 * @module
 */

import { join } from "node:path";
import { Random } from "../src/random/mod.ts";
import { RolloutReader, RolloutWriter } from "../src/data/rollouts.ts";
import { collect, type CollectParams } from "../src/stages/worldmodels/collect.ts";
import type { StageContext } from "../src/runner/mod.ts";
import { cpuSeconds } from "./timing.ts";

function emit(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Number(value.toPrecision(4)), unit }));
}

const FRAME = 64 * 64 * 3;
const dir = await Deno.makeTempDir({ prefix: "ditto_data_bench_" });
try {
  // A dataset of 20 episodes x 250 frames (61 MB) of random pixels.
  const rng = new Random(1);
  const writer = await RolloutWriter.create(join(dir, "rollouts"));
  const t0 = performance.now();
  for (let e = 0; e < 20; e++) {
    const frames = new Uint8Array(250 * FRAME);
    const words = new Uint32Array(frames.buffer);
    for (let i = 0; i < words.length; i++) words[i] = rng.nextUint32();
    await writer.append(e, {
      frames,
      actions: new Float32Array(250 * 3),
      rewards: new Float32Array(250),
      dones: new Uint8Array(250),
    });
  }
  await writer.close();
  emit("rollouts_write", (20 * 250 * FRAME) / 1e6 / ((performance.now() - t0) / 1000), "MB/s");

  const reader = await RolloutReader.open(join(dir, "rollouts"));
  try {
    let t = performance.now();
    for (let start = 0; start < 5000; start += 100) await reader.readFrames(start, 100);
    const sequential = 5000 / ((performance.now() - t) / 1000);
    emit("frames_sequential_read", sequential, "frames/s");
    t = performance.now();
    let n = 0;
    for (const batch of reader.frameBatches({ batchSize: 100, seed: 1 })) {
      n += batch.rows.length;
    }
    const shuffled = n / ((performance.now() - t) / 1000);
    emit("frames_shuffled_batches", shuffled, "frames/s");
    emit("frames_shuffled_vs_sequential", shuffled / sequential, "ratio");
  } finally {
    reader.close();
  }

  // Collection: 8 episodes of 250 steps, 1 Worker (inline) vs 2 Workers.
  const stepsPerSecond: number[] = [];
  const cpu: number[] = [];
  for (const workers of [1, 2]) {
    const out = join(dir, `collect_${workers}`);
    const ctx = {
      name: "collect",
      seed: 1,
      params: { episodes: 8, max_steps: 250, policy: "random", action_refresh_rate: 20, workers },
      inputs: {},
      deps: {},
      output: (name: string) => join(out, name),
      metrics: { log() {} },
      progress: { total() {}, advance() {} },
      signal: new AbortController().signal,
      log: (message: string) => console.error(message),
      report() {},
    } as unknown as StageContext<CollectParams>;
    const t = performance.now();
    const c = cpuSeconds();
    await collect(ctx);
    cpu.push(cpuSeconds() - c);
    const index = JSON.parse(await Deno.readTextFile(join(out, "rollouts", "index.json")));
    stepsPerSecond.push(index.frames_count / ((performance.now() - t) / 1000));
    emit(`collect_workers_${workers}`, stepsPerSecond.at(-1)!, "steps/s");
  }
  emit("collect_workers_2_vs_1", stepsPerSecond[1] / stepsPerSecond[0], "ratio");
  emit("collect_workers_1_cpu_s", cpu[0], "cpu-s");
  emit("collect_workers_2_cpu_s", cpu[1], "cpu-s");
  emit("collect_worker_startup_cpu_s", (cpu[1] - cpu[0]) / 2, "cpu-s");
  emit("collect_workers_2_vs_1_cpu", (2 * cpu[0]) / cpu[1], "ratio");
} finally {
  await Deno.remove(dir, { recursive: true });
}
