/**
 * Throughput of the World Models ConvVAE on the wasm backend (with ditto's fast kernels):
 * `vae_train_images_per_s` (Adam steps, batch 100), `vae_encode_images_per_s` (uint8 frames to
 * mu and logvar, batch 100, by `EncoderEngine` on one thread) and `vae_encode_tfjs_images_per_s`
 * (the same through the tfjs layers model), and the two-thread figures
 * `vae_train_2workers_images_per_s` (`ParallelVAETrainer`) and
 * `vae_encode_2workers_images_per_s` (`ParallelEncoder`); `--no-parallel` skips those.
 * `vae_train_simd_images_per_s` and `vae_train_simd_2workers_images_per_s` are the same
 * training steps on ditto's SIMD engine (`VaeTrainer`, `engine: simd`). Prints
 * JSON lines; the PyTorch anchor is run by bench/main.ts in the same run.
 *
 * ```sh
 * deno run -A bench/models_vae_bench.ts [--steps 5] [--encodes 10] [--no-parallel]
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/models/backend/mod.ts";
import { ConvVAE } from "../src/models/vae.ts";
import { encoderEngine, encoderWeights } from "../src/models/vae_encode.ts";
import { ParallelEncoder } from "../src/models/vae_encoder_engine.ts";
import { ParallelVAETrainer } from "../src/models/vae_parallel.ts";
import { VaeTrainer } from "../src/models/vae_engine/mod.ts";
import { vaeFlops } from "../src/models/flops.ts";

const BATCH = 100;

function option(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function emit(name: string, value: number, unit: string, extra: Record<string, unknown> = {}) {
  console.log(JSON.stringify({ name, value: Math.round(value * 10) / 10, unit, ...extra }));
}

const info = await initBackend({ backend: "wasm" });
console.error(`[vae bench] backend ${JSON.stringify(info)}`);
const vae = new ConvVAE({ seed: 0 });
// FLOPs per image, which bench/main.ts turns into GFLOP/s and a fraction of the SIMD peak.
const flops = vaeFlops(vae);
const train = { flops_per_unit: flops.train }, encode = { flops_per_unit: flops.encode };
const x = tf.randomUniform([BATCH, 64, 64, 3], 0, 1, "float32", 1) as tf.Tensor4D;

vae.trainStep(x); // warm-up: operator creation, heap growth
const trainTimes: number[] = [];
for (let i = 0; i < option("steps", 5); i++) {
  const t0 = performance.now();
  vae.trainStep(x);
  trainTimes.push(performance.now() - t0);
}
const trainRate = BATCH / (median(trainTimes) / 1000);
console.error(`[vae bench] train step ms: ${trainTimes.map((t) => t.toFixed(0)).join(" ")}`);
emit("vae_train_images_per_s", trainRate, "images/s", {
  batch: BATCH,
  backend: info.name,
  ...train,
});

/** Median images/s of SIMD-engine training steps with `workers` threads. */
async function simdTrainRate(workers: number): Promise<number> {
  const trainer = await VaeTrainer.create(
    vae.trainableWeights.map((v) => v.dataSync() as Float32Array),
    { zSize: vae.zSize, klTolerance: vae.klTolerance, learningRate: vae.learningRate, workers },
  );
  const xs = x.dataSync() as Float32Array;
  const eps = new Float32Array(BATCH * vae.zSize);
  try {
    await trainer.trainStep(xs, eps, BATCH); // warm-up: compilation, memory growth
    const times: number[] = [];
    for (let i = 0; i < option("steps", 5); i++) {
      const t0 = performance.now();
      await trainer.trainStep(xs, eps, BATCH);
      times.push(performance.now() - t0);
    }
    console.error(
      `[vae bench] simd ${workers}-thread train step ms: ${
        times.map((t) => t.toFixed(0)).join(" ")
      }`,
    );
    return BATCH / (median(times) / 1000);
  } finally {
    trainer.close();
  }
}
emit("vae_train_simd_images_per_s", await simdTrainRate(1), "images/s", {
  batch: BATCH,
  engine: "VaeTrainer (wasm simd)",
});
if (!Deno.args.includes("--no-parallel")) {
  emit("vae_train_simd_2workers_images_per_s", await simdTrainRate(2), "images/s", {
    batch: BATCH,
    engine: "VaeTrainer (wasm simd)",
    workers: 2,
  });
}

// Frames as the pipeline stores them (uint8), random so that no value is special.
const frames = new Uint8Array(BATCH * 64 * 64 * 3);
for (let i = 0, s = 1; i < frames.length; i++) {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  frames[i] = s >>> 24;
}
const engine = encoderEngine(vae);
engine.encode(frames, BATCH);
const engineTimes: number[] = [];
for (let i = 0; i < option("encodes", 10); i++) {
  const t0 = performance.now();
  engine.encode(frames, BATCH);
  engineTimes.push(performance.now() - t0);
}
console.error(`[vae bench] encode ms: ${engineTimes.map((t) => t.toFixed(1)).join(" ")}`);
emit("vae_encode_images_per_s", BATCH / (median(engineTimes) / 1000), "images/s", {
  batch: BATCH,
  engine: "EncoderEngine (wasm simd)",
  ...encode,
});

const encodeOnce = async () => {
  const { mu, logvar } = vae.encode(x);
  await mu.data();
  await logvar.data();
  tf.dispose([mu, logvar]);
};
await encodeOnce();
await encodeOnce();
const encodeTimes: number[] = [];
for (let i = 0; i < option("encodes", 10); i++) {
  const t0 = performance.now();
  await encodeOnce();
  encodeTimes.push(performance.now() - t0);
}
const encodeRate = BATCH / (median(encodeTimes) / 1000);
console.error(`[vae bench] tfjs encode ms: ${encodeTimes.map((t) => t.toFixed(1)).join(" ")}`);
emit("vae_encode_tfjs_images_per_s", encodeRate, "images/s", {
  batch: BATCH,
  backend: info.name,
  ...encode,
});

if (!Deno.args.includes("--no-parallel")) {
  const trainer = await ParallelVAETrainer.create(vae, { workers: 2 });
  await trainer.trainStep(x); // warm-up of the Worker
  const times: number[] = [];
  for (let i = 0; i < option("steps", 5); i++) {
    const t0 = performance.now();
    await trainer.trainStep(x);
    times.push(performance.now() - t0);
  }
  trainer.close();
  const encoder = await ParallelEncoder.create(encoderWeights(vae), { workers: 2 });
  const encodeTimes2: number[] = [];
  for (let i = 0; i < option("encodes", 10) + 2; i++) {
    const t0 = performance.now();
    await encoder.encode(frames, BATCH);
    if (i >= 2) encodeTimes2.push(performance.now() - t0); // two warm-up calls
  }
  encoder.close();
  console.error(
    `[vae bench] 2-thread encode ms: ${encodeTimes2.map((t) => t.toFixed(1)).join(" ")}`,
  );
  emit("vae_encode_2workers_images_per_s", BATCH / (median(encodeTimes2) / 1000), "images/s", {
    batch: BATCH,
    engine: "EncoderEngine (wasm simd)",
    workers: 2,
    ...encode,
  });
  console.error(`[vae bench] 2-thread train step ms: ${times.map((t) => t.toFixed(0)).join(" ")}`);
  emit("vae_train_2workers_images_per_s", BATCH / (median(times) / 1000), "images/s", {
    batch: BATCH,
    backend: info.name,
    workers: 2,
    ...train,
  });
}

x.dispose();
vae.dispose();
