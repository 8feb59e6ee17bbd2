/**
 * ConvVAE training on the SIMD engine: flat parameters and Adam moments, each batch split into
 * fixed shards of at most {@linkcode SHARD_FRAMES} frames whose gradients are computed by the
 * calling thread and helper Workers ({@linkcode VaeEngine} each), then summed in shard order.
 * The shards depend on the batch size alone and each shard's gradient on the weights and its
 * frames alone, so the result is the same bytes with any number of threads.
 *
 * The parameters live in one SharedArrayBuffer that the helpers read at every step, so no
 * weights are copied between threads; each helper's gradients come back by transfer.
 *
 * @module
 */
import { createPool, type WorkerPool } from "../../pool/mod.ts";
import { FRAME, vaeWeightShapes } from "./geometry.ts";
import { VaeEngine, type VaeShardGradients } from "./train.ts";

/** Most frames in one shard: a batch of B frames is split into ceil(B / SHARD_FRAMES) shards. */
export const SHARD_FRAMES = 50;

/** Options of {@linkcode VaeTrainer.create}. */
export interface VaeTrainerOptions {
  /** Latent size. */
  zSize: number;
  /** Free bits per latent dimension. */
  klTolerance: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Threads sharing each batch, the calling one included; default 1. */
  workers?: number;
}

/** Losses of one step, averaged over the batch (as `VAELosses` of vae.ts). */
export interface VaeTrainerLosses {
  /** Reconstruction + clamped KL. */
  loss: number;
  /** Summed squared error per frame. */
  reconstruction: number;
  /** KL per frame after the free-bits clamp. */
  kl: number;
}

/** The methods of a {@linkcode VaeTrainer} helper Worker (worker.ts). */
export type VaeEngineWorkerMethods = {
  init: {
    payload: { parameters: SharedArrayBuffer; zSize: number; klTolerance: number };
    result: void;
  };
  /** The gradients of consecutive shards of `x`, with the current shared parameters. */
  shards: {
    payload: { x: Float32Array; eps: Float32Array; bounds: number[]; scale: number };
    result: VaeShardGradients[];
  };
};

/** Views of the 22 tensors of one flat parameter buffer, in the tfjs weight order. */
export function parameterViews(buffer: ArrayBufferLike, zSize: number): Float32Array[] {
  let offset = 0;
  return vaeWeightShapes(zSize).map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const view = new Float32Array(buffer, offset * 4, n);
    offset += n;
    return view;
  });
}

/** Frame bounds of the shards of a batch of `batch` frames. */
export function shardBounds(batch: number): number[] {
  const shards = Math.ceil(batch / SHARD_FRAMES);
  return Array.from({ length: shards + 1 }, (_, i) => Math.round((i * batch) / shards));
}

/** Gradients of consecutive shards of `x` on one engine. */
export function shardGradients(
  engine: VaeEngine,
  x: Float32Array,
  eps: Float32Array,
  bounds: number[],
  scale: number,
): VaeShardGradients[] {
  const z = engine.zSize;
  return bounds.slice(1).map((to, i) => {
    const from = bounds[i];
    return engine.gradients(
      x.subarray((from - bounds[0]) * FRAME, (to - bounds[0]) * FRAME),
      eps.subarray((from - bounds[0]) * z, (to - bounds[0]) * z),
      to - from,
      scale,
    );
  });
}

/** Trains a ConvVAE's parameters with Adam on the SIMD engine. */
export class VaeTrainer {
  /** Latent size. */
  readonly zSize: number;
  /** Adam steps taken. */
  step = 0;
  readonly #options: VaeTrainerOptions;
  readonly #weights: Float32Array[];
  readonly #m: Float32Array[];
  readonly #v: Float32Array[];
  readonly #engine: VaeEngine;
  readonly #helpers: WorkerPool<VaeEngineWorkerMethods> | undefined;

  private constructor(
    options: VaeTrainerOptions,
    parameters: SharedArrayBuffer,
    helpers: WorkerPool<VaeEngineWorkerMethods> | undefined,
  ) {
    this.#options = options;
    this.zSize = options.zSize;
    this.#weights = parameterViews(parameters, options.zSize);
    this.#m = this.#weights.map((w) => new Float32Array(w.length));
    this.#v = this.#weights.map((w) => new Float32Array(w.length));
    this.#engine = new VaeEngine(options.zSize, options.klTolerance);
    this.#helpers = helpers;
  }

  /**
   * Starts a trainer from `weights` (the 22 tensors in the tfjs weight order, copied) and
   * `workers - 1` helper Workers.
   */
  static async create(weights: Float32Array[], options: VaeTrainerOptions): Promise<VaeTrainer> {
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new RangeError(`Cannot start the VAE trainer: workers must be >= 1, got ${workers}`);
    }
    const shapes = vaeWeightShapes(options.zSize);
    const total = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
    const parameters = new SharedArrayBuffer(total * 4);
    const views = parameterViews(parameters, options.zSize);
    if (weights.length !== views.length || weights.some((w, i) => w.length !== views[i].length)) {
      throw new RangeError(
        `Cannot start the VAE trainer: the weights do not fit a ConvVAE with zSize ${options.zSize}`,
      );
    }
    weights.forEach((w, i) => views[i].set(w));
    const helpers = workers > 1
      ? await createPool<VaeEngineWorkerMethods>(
        new URL("./worker.ts", import.meta.url),
        { parameters, zSize: options.zSize, klTolerance: options.klTolerance },
        workers - 1,
        { context: "Cannot train the VAE in a Worker" },
      )
      : undefined;
    return new VaeTrainer(options, parameters, helpers);
  }

  /** The current parameters (live views, in the tfjs weight order). */
  get weights(): readonly Float32Array[] {
    return this.#weights;
  }

  /**
   * Losses and gradients of the batch-mean loss for `batch` frames `x` (floats in [0, 1],
   * [batch, 64, 64, 3]) with noise `eps` ([batch, zSize]).
   */
  async gradients(
    x: Float32Array,
    eps: Float32Array,
    batch: number,
  ): Promise<{ grads: Float32Array[]; losses: VaeTrainerLosses }> {
    const bounds = shardBounds(batch);
    const shards = bounds.length - 1;
    const threads = Math.min(shards, (this.#helpers?.size ?? 0) + 1);
    // Thread t computes shards first[t] .. first[t + 1] - 1.
    const first = Array.from({ length: threads + 1 }, (_, t) => Math.floor((t * shards) / threads));
    const z = this.zSize;
    const pending = Array.from({ length: threads - 1 }, (_, i) => {
      const own = bounds.slice(first[i + 1], first[i + 2] + 1);
      const [from, to] = [own[0], own[own.length - 1]];
      return this.#helpers!.request("shards", {
        x: x.slice(from * FRAME, to * FRAME),
        eps: eps.slice(from * z, to * z),
        bounds: own,
        scale: 1 / batch,
      }, { worker: i });
    });
    this.#engine.setWeights(this.#weights);
    const parts = shardGradients(
      this.#engine,
      x,
      eps,
      bounds.slice(0, first[1] + 1),
      1 / batch,
    );
    for (const reply of await Promise.all(pending)) parts.push(...reply);
    const grads = parts[0].grads;
    let reconstruction = parts[0].reconstruction, kl = parts[0].kl;
    for (const part of parts.slice(1)) {
      grads.forEach((g, i) => {
        const h = part.grads[i];
        for (let j = 0; j < g.length; j++) g[j] += h[j];
      });
      reconstruction += part.reconstruction;
      kl += part.kl;
    }
    reconstruction /= batch;
    kl /= batch;
    return { grads, losses: { loss: reconstruction + kl, reconstruction, kl } };
  }

  /** One Adam step with gradients in the tfjs weight order (Keras/tfjs Adam defaults). */
  apply(grads: Float32Array[]): void {
    if (grads.length !== this.#weights.length) {
      throw new RangeError(`Cannot apply Adam: ${grads.length} gradients for 22 tensors`);
    }
    this.step++;
    const beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7;
    const c1 = 1 - beta1 ** this.step, c2 = 1 - beta2 ** this.step;
    const alpha = this.#options.learningRate * Math.sqrt(c2) / c1;
    const epsilonHat = epsilon * Math.sqrt(c2);
    this.#weights.forEach((w, i) => {
      const g = grads[i], m = this.#m[i], v = this.#v[i];
      for (let j = 0; j < w.length; j++) {
        const gj = g[j];
        m[j] = beta1 * m[j] + (1 - beta1) * gj;
        v[j] = beta2 * v[j] + (1 - beta2) * gj * gj;
        w[j] -= alpha * m[j] / (Math.sqrt(v[j]) + epsilonHat);
      }
    });
  }

  /** One training step (gradients, then Adam); returns the losses before the update. */
  async trainStep(x: Float32Array, eps: Float32Array, batch: number): Promise<VaeTrainerLosses> {
    const { grads, losses } = await this.gradients(x, eps, batch);
    this.apply(grads);
    return losses;
  }

  /** Copies of the parameters, first moments and second moments, in the tfjs weight order. */
  readState(): { weights: Float32Array[]; m: Float32Array[]; v: Float32Array[] } {
    const copy = (xs: Float32Array[]) => xs.map((x) => x.slice());
    return { weights: copy(this.#weights), m: copy(this.#m), v: copy(this.#v) };
  }

  /** Restores what {@linkcode VaeTrainer.readState} returned, and the step count. */
  restore(
    state: { weights: Float32Array[]; m: Float32Array[]; v: Float32Array[] },
    step: number,
  ): void {
    for (const part of [state.weights, state.m, state.v]) {
      if (
        part.length !== this.#weights.length ||
        part.some((a, i) => a.length !== this.#weights[i].length)
      ) {
        throw new RangeError("Cannot restore the VAE trainer: the arrays do not fit the network");
      }
    }
    state.weights.forEach((w, i) => this.#weights[i].set(w));
    state.m.forEach((m, i) => this.#m[i].set(m));
    state.v.forEach((v, i) => this.#v[i].set(v));
    this.step = step;
  }

  /** Stops the helper Workers. */
  close(): void {
    this.#helpers?.close();
  }
}
