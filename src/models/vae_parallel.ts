/**
 * Data-parallel ConvVAE training: each step splits the batch between the main thread and
 * helper Workers, each computes the gradients of its share on its own tfjs backend (one core
 * each), and the main thread averages them (weighted by share size) and takes the Adam step.
 * The helpers get the current weights with every step, so they hold no state of their own.
 *
 * ```ts
 * import { ConvVAE } from "./vae.ts";
 * import { ParallelVAETrainer } from "./vae_parallel.ts";
 * const vae = new ConvVAE();
 * const trainer = await ParallelVAETrainer.create(vae, { workers: 2 });
 * // const losses = await trainer.trainStep(frames);
 * trainer.close();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendName } from "./backend/mod.ts";
import type { ConvVAE, VAEEncoding, VAELosses } from "./vae.ts";
import { createPool, type WorkerPool } from "../pool/mod.ts";

/** Options of {@linkcode ParallelVAETrainer.create}. */
export interface ParallelVAETrainerOptions {
  /** Threads sharing each batch, the main thread included; default 2. */
  workers?: number;
  /** Backend of the helper Workers; default "wasm". */
  backend?: BackendName;
}

/** The methods of a {@linkcode ParallelVAETrainer} helper Worker (vae_worker.ts). */
export type VAEWorkerMethods = {
  init: {
    payload: { backend: BackendName; zSize: number; klTolerance: number };
    result: void;
  };
  /** The gradients of a share of the batch, with these weights and noise. */
  step: {
    payload: {
      weights: Float32Array[];
      x: Float32Array;
      eps: Float32Array;
      batch: number;
    };
    result: { grads: Float32Array[]; losses: VAELosses };
  };
  /** Encodes a share of the batch (with new weights, or those of the last call). */
  encode: {
    payload: { weights: Float32Array[] | undefined; x: Float32Array; batch: number };
    result: { mu: Float32Array; logvar: Float32Array };
  };
};

/** Splits VAE training steps (and encoding) across the main thread and helper Workers. */
export class ParallelVAETrainer {
  readonly #vae: ConvVAE;
  readonly #helpers: WorkerPool<VAEWorkerMethods>;
  // The VAE step whose weights the helpers hold (-1: unknown).
  #syncedStep = -1;

  private constructor(vae: ConvVAE, helpers: WorkerPool<VAEWorkerMethods>) {
    this.#vae = vae;
    this.#helpers = helpers;
  }

  /** Starts `workers - 1` helper Workers for `vae` and waits until they are ready. */
  static async create(
    vae: ConvVAE,
    options: ParallelVAETrainerOptions = {},
  ): Promise<ParallelVAETrainer> {
    const workers = options.workers ?? 2;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new RangeError(`Cannot start VAE trainer: workers must be >= 1, got ${workers}`);
    }
    const helpers = await createPool<VAEWorkerMethods>(
      new URL("./vae_worker.ts", import.meta.url),
      { backend: options.backend ?? "wasm", zSize: vae.zSize, klTolerance: vae.klTolerance },
      workers - 1,
      { context: "Cannot train VAE in parallel" },
    );
    return new ParallelVAETrainer(vae, helpers);
  }

  /** One Adam step on a batch, computed in parallel; same losses as `ConvVAE.trainStep`. */
  async trainStep(x: tf.Tensor4D): Promise<VAELosses> {
    const eps = this.#vae.nextNoise(x.shape[0]);
    const { grads, losses } = await this.gradients(x, eps);
    eps.dispose();
    this.#vae.applyGradients(grads);
    tf.dispose(grads);
    return losses;
  }

  /**
   * The batch-mean gradients for noise `eps` (as `ConvVAE.gradients`), each thread computing
   * those of its share of the batch.
   */
  async gradients(
    x: tf.Tensor4D,
    eps: tf.Tensor2D,
  ): Promise<{ grads: tf.Tensor[]; losses: VAELosses }> {
    const vae = this.#vae;
    const batch = x.shape[0];
    const shares = this.#helpers.size + 1;
    if (batch < shares) {
      throw new RangeError(`Cannot split a batch of ${batch} across ${shares} threads`);
    }
    const bounds = Array.from({ length: shares + 1 }, (_, i) => Math.round((i * batch) / shares));
    const frame = 64 * 64 * 3;
    const weights = vae.trainableWeights.map((v) => v.dataSync() as Float32Array);
    this.#syncedStep = vae.step;
    const xData = x.dataSync() as Float32Array;
    const epsData = eps.dataSync() as Float32Array;
    const pending = Array.from({ length: shares - 1 }, (_, i) => {
      const [from, to] = [bounds[i + 1], bounds[i + 2]];
      return this.#helpers.request("step", {
        weights,
        x: xData.slice(from * frame, to * frame),
        eps: epsData.slice(from * vae.zSize, to * vae.zSize),
        batch: to - from,
      }, { worker: i });
    });
    const mainX = tf.slice(x, [0, 0, 0, 0], [bounds[1], 64, 64, 3]);
    const mainEps = tf.slice(eps, [0, 0], [bounds[1], vae.zSize]);
    const own = vae.gradients(mainX, mainEps);
    tf.dispose([mainX, mainEps]);
    const replies = await Promise.all(pending);
    // Each share's gradients are means over its rows: weight them by their share of the batch.
    const weightOf = (i: number) => (bounds[i + 1] - bounds[i]) / batch;
    const grads = tf.tidy(() =>
      own.grads.map((g, k) => {
        let sum = tf.mul(g, weightOf(0));
        replies.forEach((r, i) => {
          sum = tf.add(sum, tf.mul(tf.tensor(r.grads[k], g.shape), weightOf(i + 1)));
        });
        return sum;
      })
    );
    tf.dispose(own.grads);
    const all = [own.losses, ...replies.map((r) => r.losses)];
    const mean = (key: keyof VAELosses) => all.reduce((sum, l, i) => sum + l[key] * weightOf(i), 0);
    return {
      grads,
      losses: { loss: mean("loss"), reconstruction: mean("reconstruction"), kl: mean("kl") },
    };
  }

  /**
   * Encodes a batch (as `ConvVAE.encode`), each thread encoding its share. Weights go to the
   * helpers only when they changed since the last call, so encoding a dataset costs one copy.
   */
  async encode(x: tf.Tensor4D): Promise<VAEEncoding> {
    const vae = this.#vae;
    const batch = x.shape[0];
    const shares = Math.min(batch, this.#helpers.size + 1);
    const bounds = Array.from({ length: shares + 1 }, (_, i) => Math.round((i * batch) / shares));
    const frame = 64 * 64 * 3;
    const weights = this.#syncedStep === vae.step
      ? undefined
      : vae.trainableWeights.map((v) => v.dataSync() as Float32Array);
    const xData = shares > 1 ? x.dataSync() as Float32Array : undefined;
    const pending = Array.from({ length: shares - 1 }, (_, i) => {
      const [from, to] = [bounds[i + 1], bounds[i + 2]];
      const x = xData!.slice(from * frame, to * frame);
      return this.#helpers.request("encode", { weights, x, batch: to - from }, { worker: i });
    });
    if (shares > 1) this.#syncedStep = vae.step;
    const mainX = shares > 1 ? tf.slice(x, [0, 0, 0, 0], [bounds[1], 64, 64, 3]) : x;
    const own = vae.encode(mainX);
    if (mainX !== x) mainX.dispose();
    const replies = await Promise.all(pending);
    if (replies.length === 0) return own;
    const z = vae.zSize;
    const join = (first: tf.Tensor2D, rest: Float32Array[]) =>
      tf.concat([first, ...rest.map((a) => tf.tensor2d(a, [a.length / z, z]))]) as tf.Tensor2D;
    const result = tf.tidy(() => ({
      mu: join(own.mu, replies.map((r) => r.mu)),
      logvar: join(own.logvar, replies.map((r) => r.logvar)),
    }));
    tf.dispose([own.mu, own.logvar]);
    return result;
  }

  /** Stops the helper Workers. */
  close(): void {
    this.#helpers.close();
  }
}
