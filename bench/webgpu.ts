/**
 * Throughput on the `webgpu` backend, run by bench/gpu.sh (not by `deno task bench`: on a
 * software adapter it is slow): the adapter, then `webgpu_vae_train_images_per_s` (Adam steps,
 * `--batch` frames), `webgpu_vae_encode_images_per_s` (tfjs encoder) and
 * `webgpu_rnn_train_timesteps_per_s` (the MDN-RNN's tfjs engine, 32 x `--seq`). Each figure is
 * the median of `--iters` steps after one warm-up step (shader compilation). JSON lines on
 * stdout; prints `webgpu_adapter` with value 0 and the reason, and exits 0, when Deno finds no
 * adapter.
 *
 * Run: `deno run -A bench/webgpu.ts [--batch 100] [--seq 300] [--iters 3]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { BackendUnavailableError, initBackend } from "../src/models/backend/mod.ts";
import { ConvVAE } from "../src/models/vae.ts";
import { MdnRnn } from "../src/models/mdn_rnn.ts";
import { mdnRnnFlops, vaeFlops } from "../src/models/flops.ts";
import { createRng } from "../src/random/mod.ts";
import { emit } from "./timing.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    batch: { type: "string", default: "100" },
    seq: { type: "string", default: "300" },
    iters: { type: "string", default: "3" },
  },
});
const BATCH = Number(values.batch), T = Number(values.seq), ITERS = Number(values.iters);

/** Median milliseconds of `ITERS` calls of `fn` after one warm-up call. */
async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < ITERS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

let info;
try {
  info = await initBackend({ backend: "webgpu" });
} catch (error) {
  if (!(error instanceof BackendUnavailableError)) throw error;
  console.log(
    JSON.stringify({ name: "webgpu_adapter", value: 0, unit: "", reason: error.message }),
  );
  Deno.exit(0);
}
console.log(JSON.stringify({ name: "webgpu_adapter", value: 1, unit: "", ...info.adapter }));

const vae = new ConvVAE({ seed: 0 });
const flops = vaeFlops(vae);
const x = tf.randomUniform([BATCH, 64, 64, 3], 0, 1, "float32", 1) as tf.Tensor4D;
const trainMs = await median(() => vae.trainStepAsync(x));
emit("webgpu_vae_train_images_per_s", BATCH / (trainMs / 1000), "images/s", {
  batch: BATCH,
  flops_per_unit: flops.train,
});
const encodeMs = await median(async () => {
  const { mu, logvar } = vae.encode(x);
  await Promise.all([mu.data(), logvar.data()]);
  tf.dispose([mu, logvar]);
});
emit("webgpu_vae_encode_images_per_s", BATCH / (encodeMs / 1000), "images/s", {
  batch: BATCH,
  flops_per_unit: flops.encode,
});
x.dispose();
vae.dispose();

const rng = createRng(1);
const B = 32, L = T + 1;
const seqs = {
  z: Float32Array.from({ length: B * L * 32 }, () => rng.normal()),
  action: Float32Array.from({ length: B * L * 3 }, () => rng.nextFloat() * 2 - 1),
  reward: Float32Array.from({ length: B * L }, () => (rng.nextFloat() < 0.5 ? 1 : 0)),
  batch: B,
  length: L,
};
const rnn = new MdnRnn({ rewardHead: true }, { seed: 0, engine: "tfjs" });
const rnnMs = await median(() => rnn.trainStepAsync(seqs));
await rnn.close();
emit("webgpu_rnn_train_timesteps_per_s", (B * T) / (rnnMs / 1000), "timesteps/s", {
  batch: B,
  seq: T,
  flops_per_unit: mdnRnnFlops(rnn).train,
});
