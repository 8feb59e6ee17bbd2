/**
 * `worldmodels/train_vae`: trains the World Models convolutional VAE ("V") on the frames of a
 * rollout dataset, streamed from disk in shuffled minibatches.
 *
 * ```yaml
 * train_vae:
 *   uses: worldmodels/train_vae
 *   inputs: { rollouts: "${stages.collect.outs.rollouts}" }
 *   with: { epochs: 10, batch_size: 100, learning_rate: 0.0001, kl_tolerance: 0.5, z_size: 32 }
 * ```
 *
 * Outputs: `model` (the VAE in the TensorFlow.js layers format: `encoder/model.json` and
 * `decoder/model.json`, each with `weights.bin`) and `reconstructions` (a folder with
 * `grid.png`: frames spread over the dataset on the top row, their reconstructions from the
 * latent mean below, and `grid.json` naming the rows shown). Metrics per step: `loss`,
 * `reconstruction` (summed squared error per frame), `kl` (after the free-bits clamp).
 *
 * With `workers` > 1 each minibatch is shared by the stage thread and helper Workers
 * (`ParallelVAETrainer.gradients`), whose gradients are averaged before one Adam step here.
 * With `engine: simd` the gradients and Adam run in ditto's WebAssembly SIMD engine
 * (`VaeTrainer`, src/models/vae_engine/) instead: the same loss up to float rounding, and the
 * same bytes whatever `workers` is (the batch is cut into fixed shards); the trained weights go
 * back into the same tfjs layers model for saving.
 *
 * Epoch e visits the frames in the permutation of `mixSeed(seed, "worldmodels/train_vae",
 * "shuffle")` for e, and step s draws its reparameterisation noise from
 * `mixSeed(seed, "worldmodels/train_vae", "eps", s)`. A checkpoint (weights, Adam moments, step,
 * position in the epoch, metrics so far) is written after every epoch, every `checkpoint_every`
 * steps and when the stage is interrupted; a rerun continues from it with the batches and noise
 * an uninterrupted run would have used, so it ends with the same weights.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { encode as encodePng } from "fast-png";
import { mixSeed, Random } from "../../random/mod.ts";
import { RolloutReader } from "../../data/rollouts.ts";
import { BACKEND_NAMES, type BackendName, initBackend } from "../../models/backend/mod.ts";
import {
  ConvVAE,
  framesToFloats,
  framesToTensor,
  VAE_CHANNELS,
  VAE_IMAGE_SIZE,
} from "../../models/vae.ts";
import { ParallelVAETrainer } from "../../models/vae_parallel.ts";
import { VaeTrainer } from "../../models/vae_engine/mod.ts";
import { defineStage, type StageContext } from "../../runner/mod.ts";
import {
  packCheckpoint,
  TfAdam,
  unpackCheckpoint,
  yieldToEventLoop,
} from "../../worldmodels/train_state.ts";
import { mergeLineage, writeLineage } from "../../worldmodels/lineage.ts";

/** Parameters of `worldmodels/train_vae` (the `with:` keys). */
export interface TrainVaeParams {
  /** Passes over the frames. */
  epochs: number;
  /** Frames per minibatch. */
  batch_size: number;
  /** Adam learning rate. */
  learning_rate: number;
  /** Free bits per latent dimension: the KL term is max(KL, kl_tolerance * z_size). */
  kl_tolerance: number;
  /** Latent size. */
  z_size: number;
  /** TensorFlow.js backend. */
  backend: BackendName;
  /** Steps between checkpoints (0: only at the end of each epoch). */
  checkpoint_every: number;
  /** Threads sharing each minibatch (the stage's own and helper Workers). */
  workers: number;
  /** Where the gradients are computed: ditto's SIMD engine or tfjs's autodiff on `backend`. */
  engine: VaeEngineName;
}

/** The values of `train_vae`'s `engine` parameter. */
export const VAE_ENGINES = ["tfjs", "simd"] as const;
/** One of {@linkcode VAE_ENGINES}. */
export type VaeEngineName = (typeof VAE_ENGINES)[number];

/** The checkpoint's file name in the stage's checkpoint store. */
export const VAE_CHECKPOINT = "train_vae.state";
/** Frames shown in the reconstruction grid (fewer when the dataset is smaller). */
export const GRID_FRAMES = 8;

const LABEL = "worldmodels/train_vae";
const METRIC_NAMES = ["loss", "reconstruction", "kl"] as const;

interface CheckpointHeader {
  /** Training steps done. */
  step: number;
  /** Epoch of the next batch. */
  epoch: number;
  /** Position of the next batch within its epoch. */
  batch: number;
  /** Variable names, to refuse a checkpoint of another architecture. */
  variables: string[];
}

/** The ConvVAE seed (weight initialisation) the stage uses for experiment seed `seed`. */
export function vaeInitSeed(seed: number): number {
  // ConvVAE multiplies its seed by 1000; keep the products exact integers.
  return mixSeed(seed, LABEL, "init") % 1_000_000;
}

/** Rows shown in the reconstruction grid: `count` rows spread evenly over `n` frames. */
export function gridRows(n: number, count = GRID_FRAMES): number[] {
  const k = Math.min(count, n);
  if (k <= 1) return k === 1 ? [0] : [];
  return Array.from({ length: k }, (_, i) => Math.round(i * (n - 1) / (k - 1)));
}

/**
 * Lays out originals (top row) over reconstructions (bottom row) as one RGB image: `count`
 * frames of 64x64 side by side, 128 pixels high.
 */
export function gridImage(
  originals: Uint8Array,
  reconstructions: Uint8Array,
  count: number,
): { width: number; height: number; data: Uint8Array } {
  const side = VAE_IMAGE_SIZE, c = VAE_CHANNELS;
  const frame = side * side * c;
  if (originals.length !== count * frame || reconstructions.length !== count * frame) {
    throw new RangeError(`Cannot lay out the grid: expected ${count} frames of ${frame} bytes`);
  }
  const width = count * side;
  const data = new Uint8Array(width * 2 * side * c);
  [originals, reconstructions].forEach((source, row) => {
    for (let k = 0; k < count; k++) {
      for (let y = 0; y < side; y++) {
        const from = k * frame + y * side * c;
        const to = ((row * side + y) * width + k * side) * c;
        data.set(source.subarray(from, from + side * c), to);
      }
    }
  });
  return { width, height: 2 * side, data };
}

/** Writes the reconstruction grid of `vae` for frames spread over the dataset. */
async function writeGrid(vae: ConvVAE, reader: RolloutReader, dir: string): Promise<void> {
  const rows = gridRows(reader.frameCount);
  const originals = await reader.readFramesAt(rows);
  const x = framesToTensor(originals, rows.length);
  const y = vae.reconstruct(x);
  const floats = await y.data();
  tf.dispose([x, y]);
  const recon = new Uint8Array(floats.length);
  for (let i = 0; i < floats.length; i++) {
    recon[i] = Math.round(Math.min(1, Math.max(0, floats[i])) * 255);
  }
  await Deno.mkdir(dir, { recursive: true });
  const image = gridImage(originals, recon, rows.length);
  await Deno.writeFile(`${dir}/grid.png`, encodePng({ ...image, channels: 3, depth: 8 }));
  await Deno.writeTextFile(
    `${dir}/grid.json`,
    JSON.stringify({ rows, top: "original frames", bottom: "decoded latent means" }) + "\n",
  );
}

/** Trains the VAE: the body of the stage, usable with any {@linkcode StageContext}. */
export async function trainVae(ctx: StageContext<TrainVaeParams>): Promise<void> {
  const p = ctx.params;
  if (p.backend === "webgpu" && p.workers > 1) {
    // The Workers share the gradients through synchronous reads, which webgpu cannot do.
    throw new RangeError(
      `Cannot train the VAE: backend webgpu runs on one thread (workers: 1), got workers ${p.workers}`,
    );
  }
  const backend = await initBackend({ backend: p.backend });
  const reader = await RolloutReader.open(ctx.inputs.rollouts);
  const vae = new ConvVAE({
    zSize: p.z_size,
    klTolerance: p.kl_tolerance,
    learningRate: p.learning_rate,
    seed: vaeInitSeed(ctx.seed),
  });
  const variables = vae.trainableWeights;
  const simd = p.engine === "simd"
    ? await VaeTrainer.create(variables.map((v) => v.dataSync() as Float32Array), {
      zSize: p.z_size,
      klTolerance: p.kl_tolerance,
      learningRate: p.learning_rate,
      workers: p.workers,
    })
    : undefined;
  const adam = simd === undefined
    ? new TfAdam(variables, { learningRate: p.learning_rate })
    : undefined;
  // The optimizer state that checkpoints hold: the SIMD trainer's or tfjs's.
  const optimizer = (simd ?? adam)!;
  let parallel: ParallelVAETrainer | undefined;
  try {
    if (simd === undefined && p.workers > 1) {
      parallel = await ParallelVAETrainer.create(vae, { workers: p.workers, backend: p.backend });
    }
    const perEpoch = reader.batchesPerEpoch(p.batch_size);
    const totalSteps = p.epochs * perEpoch;
    const history: Record<(typeof METRIC_NAMES)[number], number[]> = {
      loss: [],
      reconstruction: [],
      kl: [],
    };
    let step = 0, epoch = 0, batch = 0;

    const saved = await ctx.checkpoints.loadBytes(VAE_CHECKPOINT);
    if (saved !== undefined) {
      const { header, arrays } = unpackCheckpoint<CheckpointHeader>(saved);
      const names = variables.map((v) => v.name);
      if (JSON.stringify(header.variables) !== JSON.stringify(names)) {
        throw new RangeError("Cannot resume train_vae: the checkpoint holds another network");
      }
      const get = (name: string) => {
        const a = arrays.get(name);
        if (a === undefined) throw new RangeError(`Cannot resume train_vae: no ${name} saved`);
        return a;
      };
      optimizer.restore({
        weights: names.map((_, i) => get(`w${i}`)),
        m: names.map((_, i) => get(`m${i}`)),
        v: names.map((_, i) => get(`v${i}`)),
      }, header.step);
      ({ step, epoch, batch } = header);
      for (const name of METRIC_NAMES) history[name] = Array.from(get(`metric_${name}`));
      // Replay the metrics of the steps done before, so the metrics file is complete.
      for (let s = 0; s < step; s++) {
        ctx.metrics.log(s, Object.fromEntries(METRIC_NAMES.map((n) => [n, history[n][s]])));
      }
      ctx.log(`resumed at step ${step} (epoch ${epoch + 1}, batch ${batch})`);
      ctx.report({ resumed_from_step: step });
    }

    const saveCheckpoint = async () => {
      // tfjs's state is read asynchronously: WebGPU cannot read tensors synchronously.
      const state = simd !== undefined ? simd.readState() : await adam!.readStateAsync();
      const header: CheckpointHeader = {
        step,
        epoch,
        batch,
        variables: variables.map((v) => v.name),
      };
      await ctx.checkpoints.save(
        VAE_CHECKPOINT,
        packCheckpoint(header, [
          ...state.weights.map((a, i): [string, Float32Array] => [`w${i}`, a]),
          ...state.m.map((a, i): [string, Float32Array] => [`m${i}`, a]),
          ...state.v.map((a, i): [string, Float32Array] => [`v${i}`, a]),
          ...METRIC_NAMES.map((n): [string, Float32Array] => [
            `metric_${n}`,
            Float32Array.from(history[n]),
          ]),
        ]),
      );
    };

    ctx.progress.total(totalSteps, "batches");
    if (step > 0) ctx.progress.advance(step, "resumed");
    const shuffleSeed = mixSeed(ctx.seed, LABEL, "shuffle");
    const t0 = performance.now();
    let frames = 0;
    let savedAt = step;
    const batches = epoch < p.epochs
      ? reader.frameBatches({
        batchSize: p.batch_size,
        seed: shuffleSeed,
        epochs: p.epochs - epoch,
        startEpoch: epoch,
        startBatch: batch,
      })
      : [];
    for (const item of batches) {
      const n = item.rows.length;
      const noise = new Random(mixSeed(ctx.seed, LABEL, "eps", step));
      const epsValues = Float32Array.from({ length: n * p.z_size }, () => noise.normal());
      let losses;
      if (simd !== undefined) {
        losses = await simd.trainStep(framesToFloats(item.frames, n), epsValues, n);
      } else {
        const eps = tf.tensor2d(epsValues, [n, p.z_size]);
        const x = framesToTensor(item.frames, n);
        // Gradients of the batch-mean loss, shared between threads unless the batch is too small.
        const result = parallel !== undefined && n >= p.workers
          ? await parallel.gradients(x, eps)
          : await vae.gradientsAsync(x, eps);
        tf.dispose([x, eps]);
        adam!.apply(result.grads);
        tf.dispose(result.grads);
        losses = result.losses;
      }
      // Float32 values, so the checkpoint's float32 history replays them exactly.
      const values = {
        loss: Math.fround(losses.loss),
        reconstruction: Math.fround(losses.reconstruction),
        kl: Math.fround(losses.kl),
      };
      if (!Number.isFinite(values.loss)) {
        throw new RangeError(`Cannot train the VAE: the loss is ${values.loss} at step ${step}`);
      }
      for (const name of METRIC_NAMES) history[name].push(values[name]);
      ctx.metrics.log(step, values);
      step++;
      frames += n;
      epoch = item.epoch;
      batch = item.batch + 1;
      if (batch === perEpoch) [epoch, batch] = [epoch + 1, 0];
      ctx.progress.advance(
        1,
        `epoch ${item.epoch + 1}/${p.epochs} loss ${values.loss.toFixed(1)} ` +
          `(rec ${values.reconstruction.toFixed(1)}, kl ${values.kl.toFixed(2)})`,
      );
      // Training is synchronous: give the event loop a turn so an interruption is noticed.
      await yieldToEventLoop();
      const due = batch === 0 || (p.checkpoint_every > 0 && step % p.checkpoint_every === 0);
      if (due || ctx.signal.aborted) {
        await saveCheckpoint();
        savedAt = step;
      }
      ctx.signal.throwIfAborted();
    }
    if (savedAt !== step) await saveCheckpoint();
    const seconds = (performance.now() - t0) / 1000;
    if (simd !== undefined) {
      simd.weights.forEach((w, i) => {
        tf.tidy(() => variables[i].assign(tf.tensor(w, variables[i].shape)));
      });
    }

    await vae.save(ctx.output("model"));
    await writeLineage(ctx.output("model"), await mergeLineage([ctx.inputs.rollouts]));
    await writeGrid(vae, reader, ctx.output("reconstructions"));
    const imagesPerSecond = frames > 0 ? frames / seconds : 0;
    ctx.report({
      backend,
      ...(simd !== undefined ? { engine: "simd" } : {}),
      frames: reader.frameCount,
      steps: totalSteps,
      parameters: vae.parameterCount,
      images_per_second: Number(imagesPerSecond.toFixed(2)),
    });
    ctx.log(
      `${totalSteps} steps over ${reader.frameCount} frames on ` +
        (simd !== undefined ? "the SIMD engine" : backend.name) +
        (frames > 0 ? `, ${imagesPerSecond.toFixed(1)} images/s` : ""),
    );
  } finally {
    parallel?.close();
    simd?.close();
    adam?.dispose();
    vae.dispose();
    reader.close();
  }
}

/** The `worldmodels/train_vae` stage module. */
export default defineStage<TrainVaeParams>({
  description: "Trains the World Models convolutional VAE on rollout frames",
  params: {
    epochs: { type: "integer", default: 10, min: 1, description: "passes over the frames" },
    batch_size: { type: "integer", default: 100, min: 1, description: "frames per minibatch" },
    learning_rate: {
      type: "number",
      default: 1e-4,
      min: 0,
      description: "Adam learning rate",
    },
    kl_tolerance: {
      type: "number",
      default: 0.5,
      min: 0,
      description: "free bits per latent dimension: KL term = max(KL, kl_tolerance * z_size)",
    },
    z_size: { type: "integer", default: 32, min: 1, description: "latent size" },
    backend: {
      type: "string",
      default: "wasm",
      enum: BACKEND_NAMES,
      description: "TensorFlow.js backend: wasm, cpu, tensorflow (needs tfjs-node) or webgpu",
    },
    checkpoint_every: {
      type: "integer",
      default: 100,
      min: 0,
      description: "steps between checkpoints (0: only at the end of each epoch)",
    },
    workers: {
      type: "integer",
      default: 1,
      min: 1,
      max: 64,
      description: "threads sharing each minibatch (results differ from 1 thread by rounding)",
    },
    engine: {
      type: "string",
      default: "tfjs",
      enum: VAE_ENGINES,
      description: "gradients and Adam: tfjs (autodiff on the backend) or simd (ditto's " +
        "WebAssembly SIMD engine: same results up to rounding, same bytes with any workers)",
    },
  },
  inputs: { rollouts: { description: "rollout dataset (worldmodels/collect output)" } },
  outputs: ["model", "reconstructions"],
  deterministic: true,
  run: trainVae,
});
