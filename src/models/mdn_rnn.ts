/**
 * The World Models memory ("M"): an MDN-RNN.
 *
 * - input per step: [z_t, a_t] (+ r_t with `rewardHead`, as in the book's version);
 * - LSTM (`hidden` units, 256 by default; sigmoid gates, tanh, forget bias 1 at init);
 * - linear head to `zSize * mixtures * 3` mixture parameters (+ 1 reward output) (+ 1 done
 *   logit): per latent dimension a row of [mixtures logits | mixtures means | mixtures log-std]
 *   (dimension-major, as in the original `rnn.py`), i.e. an independent 1-D Gaussian mixture
 *   per dimension;
 * - loss: mean over batch x time x zSize of -log sum_k pi_k N(z_{t+1}; mu_k, sigma_k), plus the
 *   mean loss of each extra output: the book's reward logit (binary cross-entropy of a 0/1
 *   tile bit), or the reward regression (`rewardRegression`: squared error of the reward times
 *   `rewardScale`, over-prediction weighted by `rewardOverWeight`), and the done logit
 *   (`doneHead`: cross-entropy, positives weighted by `doneWeight`, as the paper's Doom model);
 *   Adam with element-wise gradient clipping.
 *
 * Training runs on the SIMD kernels of {@linkcode MdnRnnEngine} (`engine: "simd"`, default; any
 * tfjs backend) or through tfjs autodiff of {@linkcode lstmSequence} (`engine: "tfjs"`, useful
 * with the native `tensorflow` backend). Both give the same gradients.
 *
 * Saved in the TensorFlow.js layers format: a `tf.sequential` of an `lstm` layer
 * (returnSequences) and a `dense` head, so `tf.loadLayersModel` reads it in a browser.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { createRng, type Rng } from "../random/mod.ts";
import {
  headOutputs,
  type MdnRnnBatch,
  type MdnRnnDims,
  MdnRnnEngine,
  type MdnRnnState,
  MdnRnnStepper,
  type MdnRnnWeights,
  type MixtureParams,
} from "./mdn_rnn_engine/mod.ts";
import { fileHandler } from "./backend/layers_io.ts";
import {
  type MdnRnnLosses,
  tfjsGradients,
  tfjsGradientsAsync,
  WEIGHT_NAMES,
} from "./mdn_rnn_tfjs.ts";
import { dropoutMask } from "./mdn_rnn_sample.ts";
import { WorkerPool } from "../pool/mod.ts";

export type { MdnRnnState, MdnRnnWeights, MixtureParams } from "./mdn_rnn_engine/mod.ts";
export type { Rng } from "../random/mod.ts";
export type { MdnRnnLosses } from "./mdn_rnn_tfjs.ts";
export { dropoutMask, sampleMixture, type SampleOptions } from "./mdn_rnn_sample.ts";

/** One shard of a batch, for a training Worker. */
export interface ShardRequest {
  /** Network sizes (the engine is rebuilt when they change). */
  dims: MdnRnnDims;
  /** Current weights. */
  weights: MdnRnnWeights;
  /** The shard. */
  batch: MdnRnnBatch;
}

/** The method of an MDN-RNN training Worker (mdn_rnn_worker.ts): one shard's gradients. */
export type ShardMethods = {
  shard: {
    payload: ShardRequest;
    result: MdnRnnLosses & { grads: MdnRnnWeights };
  };
};

/** Architecture and optimiser settings of an {@linkcode MdnRnn}. */
export interface MdnRnnConfig {
  /** Latent size; default 32. */
  zSize: number;
  /** Action size; default 3. */
  actionSize: number;
  /** LSTM units; default 256. */
  hidden: number;
  /** Gaussian components per latent dimension; default 5. */
  mixtures: number;
  /** Whether the reward is an input and is predicted (the book's version); default false. */
  rewardHead: boolean;
  /**
   * With `rewardHead`: the reward is regressed (input and target: the reward times
   * `rewardScale`) rather than the book's 0/1 tile bit; absent = false.
   */
  rewardRegression?: boolean;
  /** Factor from gym's reward to the regression's units; absent = 1. */
  rewardScale?: number;
  /** Weight of the squared error where the reward is over-predicted; absent = 1. */
  rewardOverWeight?: number;
  /** Whether a done logit predicts that the step's action ends the episode; absent = false. */
  doneHead?: boolean;
  /** Weight of the positive class in the done cross-entropy; absent = 1. */
  doneWeight?: number;
  /**
   * Dropout rate on the LSTM output before the head in training (Dropout's Dream Land; the
   * recurrence sees h undropped); absent = 0.
   */
  dropout?: number;
  /** Adam learning rate; default 1e-3. */
  learningRate: number;
  /** Element-wise gradient clip (0 = none); default 1. */
  gradClip: number;
}

/** The optional settings of {@linkcode MdnRnnConfig} and their values when absent. */
const OPTIONAL_DEFAULTS = {
  rewardRegression: false,
  rewardScale: 1,
  rewardOverWeight: 1,
  doneHead: false,
  doneWeight: 1,
  dropout: 0,
} as const;

/** The defaults: the original CarRacing M. */
export const MDN_RNN_DEFAULTS: MdnRnnConfig = {
  zSize: 32,
  actionSize: 3,
  hidden: 256,
  mixtures: 5,
  rewardHead: false,
  learningRate: 1e-3,
  gradClip: 1,
};

/** Options of the {@linkcode MdnRnn} constructor. */
export interface MdnRnnOptions {
  /** Seed of the weight initialisation; default 0. */
  seed?: number;
  /** How gradients are computed: SIMD kernels (default) or tfjs autodiff. */
  engine?: "simd" | "tfjs";
  /**
   * Threads for {@linkcode MdnRnn.trainStepAsync} with the SIMD engine: the batch is split
   * into this many shards, one computed here and the others in Workers; default 1.
   */
  workers?: number;
}

/**
 * A batch of sequences, batch-major. Step t's input is [z_t, a_t (, r_t)] and its targets are
 * z_{t+1} (and r_{t+1}), so a batch of `length` frames trains `length - 1` transitions.
 */
export interface MdnRnnSequences {
  /** Latents [batch, length, zSize] (sampled from the VAE's N(mu, sigma) by the caller). */
  z: Float32Array;
  /** Actions [batch, length, actionSize]. */
  action: Float32Array;
  /**
   * Reward inputs [batch, length] in the model's units ({@linkcode MdnRnn.encodeReward}): entry
   * t came with frame t (the reward of the step that led to it), and entry t + 1 is the target
   * of step t; required with the reward head.
   */
  reward?: Float32Array;
  /**
   * Dones in {0, 1} [batch, length]: entry t is 1 when action t ended the episode, the target
   * of step t; required with the done head.
   */
  done?: Float32Array;
  /**
   * Per sequence, 1 when its last frame is missing: the window runs to the last action of an
   * episode, whose reward and done are targets but which has no next frame (its z, action and
   * reward inputs at the last frame are ignored, and the z target of the last step is masked).
   */
  lastFrameMissing?: Uint8Array;
  /** Seed of the dropout masks of this batch (with `dropout` > 0); default 0. */
  dropoutSeed?: number;
  /** Number of sequences. */
  batch: number;
  /** Frames per sequence. */
  length: number;
}

/** The loss terms, in the order they are summed. */
const LOSS_NAMES = ["loss", "nll", "bce", "mse", "doneBce"] as const;

/** One step's inputs, batched. */
export interface MdnRnnStepInput {
  /** z_t [batch, zSize]. */
  z: Float32Array;
  /** a_t [batch, actionSize]. */
  action: Float32Array;
  /** r_t [batch] (with the reward head). */
  reward?: Float32Array;
}

function glorotUniform(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < out.length; i++) out[i] = (rng.nextFloat() * 2 - 1) * limit;
  return out;
}

/** A [rows, cols] matrix with orthonormal rows (rows <= cols), as Keras's `orthogonal`. */
function orthogonal(rng: Rng, rows: number, cols: number): Float32Array {
  const m = new Float64Array(rows * cols);
  for (let i = 0; i < m.length; i++) m[i] = rng.normal();
  for (let i = 0; i < rows; i++) {
    const ri = m.subarray(i * cols, (i + 1) * cols);
    for (let j = 0; j < i; j++) {
      const rj = m.subarray(j * cols, (j + 1) * cols);
      let dot = 0;
      for (let k = 0; k < cols; k++) dot += ri[k] * rj[k];
      for (let k = 0; k < cols; k++) ri[k] -= dot * rj[k];
    }
    let norm = 0;
    for (let k = 0; k < cols; k++) norm += ri[k] * ri[k];
    norm = Math.sqrt(norm);
    for (let k = 0; k < cols; k++) ri[k] /= norm;
  }
  return Float32Array.from(m);
}

/** The MDN-RNN: weights, Adam state, training step, stateful step and save/load. */
export class MdnRnn {
  /** Architecture and optimiser settings. */
  readonly config: MdnRnnConfig;
  /** LSTM input size: zSize + actionSize (+ 1 with the reward head). */
  readonly inputSize: number;
  /** Head outputs: zSize * mixtures * 3 (+ 1 with the reward head) (+ 1 with the done head). */
  readonly outputs: number;
  /** The weights (Keras layout); replace them only through {@linkcode setWeights}. */
  weights: MdnRnnWeights;
  /** Adam steps taken. */
  step = 0;
  private engineKind: "simd" | "tfjs";
  private engine?: MdnRnnEngine;
  private stepper?: MdnRnnStepper;
  private adamM: MdnRnnWeights;
  private adamV: MdnRnnWeights;
  private version = 0;
  private workerCount: number;
  private workers: WorkerPool<ShardMethods> | undefined;

  /** Creates a freshly initialised network (Keras initialisers, seeded). */
  constructor(config: Partial<MdnRnnConfig> = {}, options: MdnRnnOptions = {}) {
    this.config = { ...MDN_RNN_DEFAULTS, ...config };
    // Optional settings at their defaults are left out, so the saved metadata of a model
    // without them stays as it was.
    for (const [k, v] of Object.entries(OPTIONAL_DEFAULTS)) {
      const key = k as keyof typeof OPTIONAL_DEFAULTS;
      if (this.config[key] === undefined || this.config[key] === v) delete this.config[key];
    }
    const { zSize, actionSize, hidden, mixtures, rewardHead } = this.config;
    for (const [name, v] of Object.entries({ zSize, actionSize, hidden, mixtures })) {
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(`Cannot create MDN-RNN: ${name} must be a positive integer, got ${v}`);
      }
    }
    if (hidden % 8 !== 0) {
      throw new RangeError(`Cannot create MDN-RNN: hidden ${hidden} is not a multiple of 8`);
    }
    if (this.config.rewardRegression && !rewardHead) {
      throw new RangeError("Cannot create MDN-RNN: rewardRegression needs rewardHead");
    }
    for (const k of ["rewardScale", "rewardOverWeight", "doneWeight"] as const) {
      const v = this.config[k];
      if (v !== undefined && !(v > 0 && Number.isFinite(v))) {
        throw new RangeError(`Cannot create MDN-RNN: ${k} must be a positive number, got ${v}`);
      }
    }
    const rate = this.config.dropout;
    if (rate !== undefined && !(rate >= 0 && rate < 1)) {
      throw new RangeError(`Cannot create MDN-RNN: dropout must be in [0, 1), got ${rate}`);
    }
    this.inputSize = zSize + actionSize + (rewardHead ? 1 : 0);
    this.outputs = headOutputs(this.dims);
    this.engineKind = options.engine ?? "simd";
    this.workerCount = Math.max(1, Math.floor(options.workers ?? 1));
    const rng = createRng(options.seed ?? 0).fork("mdn_rnn:init");
    const bias = new Float32Array(4 * hidden);
    bias.fill(1, hidden, 2 * hidden); // unit forget bias
    this.weights = {
      kernel: glorotUniform(rng, this.inputSize, 4 * hidden),
      recurrentKernel: orthogonal(rng, hidden, 4 * hidden),
      bias,
      headKernel: glorotUniform(rng, hidden, this.outputs),
      headBias: new Float32Array(this.outputs),
    };
    this.adamM = this.zerosLikeWeights();
    this.adamV = this.zerosLikeWeights();
  }

  /** Total number of parameters. */
  get parameterCount(): number {
    return WEIGHT_NAMES.reduce((n, k) => n + this.weights[k].length, 0);
  }

  /** The expected shape of each weight. */
  weightShapes(): Record<keyof MdnRnnWeights, number[]> {
    const { hidden } = this.config;
    return {
      kernel: [this.inputSize, 4 * hidden],
      recurrentKernel: [hidden, 4 * hidden],
      bias: [4 * hidden],
      headKernel: [hidden, this.outputs],
      headBias: [this.outputs],
    };
  }

  /** Replaces the weights (copied), checking their sizes; resets nothing else. */
  setWeights(weights: MdnRnnWeights): void {
    const shapes = this.weightShapes();
    for (const k of WEIGHT_NAMES) {
      const n = shapes[k].reduce((a, b) => a * b, 1);
      if (weights[k]?.length !== n) {
        throw new RangeError(
          `Cannot set MDN-RNN weights: ${k} has ${weights[k]?.length} values, expected [${
            shapes[k]
          }]`,
        );
      }
    }
    this.weights = Object.fromEntries(
      WEIGHT_NAMES.map((k) => [k, Float32Array.from(weights[k])]),
    ) as unknown as MdnRnnWeights;
    this.version++;
  }

  /** Zero arrays shaped like the weights (Adam moments). */
  private zerosLikeWeights(): MdnRnnWeights {
    return Object.fromEntries(
      WEIGHT_NAMES.map((k) => [k, new Float32Array(this.weights[k].length)]),
    ) as unknown as MdnRnnWeights;
  }

  /** Splits sequences into the engine's inputs and targets (length - 1 transitions). */
  private transitions(seqs: MdnRnnSequences): MdnRnnBatch {
    const { zSize: Z, actionSize: A, rewardHead } = this.config;
    const { batch: B, length: L } = seqs;
    if (L < 2) throw new RangeError(`Cannot train MDN-RNN: sequences of ${L} frames (need >= 2)`);
    if (seqs.z.length !== B * L * Z || seqs.action.length !== B * L * A) {
      throw new RangeError(
        `Cannot train MDN-RNN: z has ${seqs.z.length} values and action ${seqs.action.length}, ` +
          `expected [${B}, ${L}, ${Z}] and [${B}, ${L}, ${A}]`,
      );
    }
    if (rewardHead && seqs.reward?.length !== B * L) {
      throw new RangeError(`Cannot train MDN-RNN: the reward head needs reward [${B}, ${L}]`);
    }
    const doneHead = this.config.doneHead === true;
    if (doneHead && seqs.done?.length !== B * L) {
      throw new RangeError(`Cannot train MDN-RNN: the done head needs done [${B}, ${L}]`);
    }
    const missing = seqs.lastFrameMissing;
    if (missing !== undefined && missing.length !== B) {
      throw new RangeError(`Cannot train MDN-RNN: lastFrameMissing needs ${B} values`);
    }
    const T = L - 1, I = this.inputSize;
    const input = new Float32Array(B * T * I);
    const targetZ = new Float32Array(B * T * Z);
    const targetReward = rewardHead ? new Float32Array(B * T) : undefined;
    const targetDone = doneHead ? new Float32Array(B * T) : undefined;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * I, src = b * L + t;
        input.set(seqs.z.subarray(src * Z, src * Z + Z), row);
        input.set(seqs.action.subarray(src * A, src * A + A), row + Z);
        if (rewardHead) {
          input[row + Z + A] = seqs.reward![src];
          targetReward![b * T + t] = seqs.reward![src + 1];
        }
        if (doneHead) targetDone![b * T + t] = seqs.done![src];
        targetZ.set(seqs.z.subarray((src + 1) * Z, (src + 2) * Z), (b * T + t) * Z);
      }
    }
    const out: MdnRnnBatch = { input, targetZ, targetReward, batch: B, seq: T };
    if (targetDone) out.targetDone = targetDone;
    const rate = this.config.dropout ?? 0;
    if (rate > 0) {
      const rng = createRng(seqs.dropoutSeed ?? 0).fork("mdn_rnn:dropout");
      out.dropMask = dropoutMask(rng, B * T * this.config.hidden, rate);
    }
    if (missing?.some((m) => m !== 0)) {
      out.zMask = new Float32Array(B * T).fill(1);
      for (let b = 0; b < B; b++) {
        if (missing[b] !== 0) {
          out.zMask[b * T + T - 1] = 0;
          targetZ.fill(0, (b * T + T - 1) * Z, (b * T + T) * Z);
        }
      }
    }
    return out;
  }

  /** Loss and gradients of a batch, without updating the weights. */
  computeGradients(seqs: MdnRnnSequences): MdnRnnLosses & { grads: MdnRnnWeights } {
    const batch = this.transitions(seqs);
    if (this.engineKind === "simd") {
      this.engine ??= new MdnRnnEngine(this.dims);
      return this.engine.compute(this.weights, batch);
    }
    return tfjsGradients(this.weights, this.weightShapes(), this.dims, this.inputSize, batch);
  }

  /** The sizes the kernels need. */
  private get dims(): MdnRnnDims {
    const { hidden, zSize, mixtures, rewardHead } = this.config;
    const dims: MdnRnnDims = { inputSize: this.inputSize, hidden, zSize, mixtures, rewardHead };
    const c = this.config;
    if (c.rewardRegression) {
      dims.rewardRegression = true;
      dims.rewardOverWeight = c.rewardOverWeight ?? 1;
    }
    if (c.doneHead) {
      dims.doneHead = true;
      dims.doneWeight = c.doneWeight ?? 1;
    }
    if ((c.dropout ?? 0) > 0) dims.dropout = c.dropout;
    return dims;
  }

  /**
   * The reward input (and target) for a step that earned gym reward `reward` and ended the
   * episode when `done`: with the regression head `reward * rewardScale`; else the book's bit,
   * 1 when the reward is positive and the step did not end the episode.
   */
  encodeReward(reward: number, done = false): number {
    if (this.config.rewardRegression) return reward * (this.config.rewardScale ?? 1);
    return reward > 0 && !done ? 1 : 0;
  }

  /** Gym's reward for a predicted regression output (the inverse of the scaling). */
  decodeReward(value: number): number {
    return value / (this.config.rewardScale ?? 1);
  }

  /**
   * Loss and gradients of a batch computed by `workers` threads (see {@linkcode MdnRnnOptions}):
   * the batch is split by sequences; the result equals {@linkcode computeGradients} up to
   * float rounding of the shard sums.
   */
  async computeGradientsAsync(
    seqs: MdnRnnSequences,
  ): Promise<MdnRnnLosses & { grads: MdnRnnWeights }> {
    const shards = Math.min(this.workerCount, seqs.batch);
    if (this.engineKind === "tfjs") {
      // Read asynchronously: the webgpu backend cannot read a tensor synchronously.
      const batch = this.transitions(seqs);
      return await tfjsGradientsAsync(
        this.weights,
        this.weightShapes(),
        this.dims,
        this.inputSize,
        batch,
      );
    }
    if (shards <= 1) return this.computeGradients(seqs);
    const batch = this.transitions(seqs);
    const { batch: B, seq: T } = batch;
    const I = this.inputSize, Z = this.config.zSize, H = this.config.hidden;
    // Shards of whole sequences; the shard on this thread is the first one.
    const bounds = Array.from({ length: shards + 1 }, (_, i) => Math.round((i * B) / shards));
    const part = (i: number) => {
      const b0 = bounds[i], b1 = bounds[i + 1];
      return {
        input: batch.input.slice(b0 * T * I, b1 * T * I),
        targetZ: batch.targetZ.slice(b0 * T * Z, b1 * T * Z),
        targetReward: batch.targetReward?.slice(b0 * T, b1 * T),
        targetDone: batch.targetDone?.slice(b0 * T, b1 * T),
        zMask: batch.zMask?.slice(b0 * T, b1 * T),
        dropMask: batch.dropMask?.slice(b0 * T * H, b1 * T * H),
        batch: b1 - b0,
        seq: T,
      };
    };
    if (this.workers === undefined || this.workers.size < shards - 1) {
      this.workers?.close();
      this.workers = new WorkerPool(new URL("./mdn_rnn_worker.ts", import.meta.url), shards - 1, {
        context: "MDN-RNN worker failed",
      });
    }
    const workers = this.workers;
    const pending = Array.from(
      { length: shards - 1 },
      (_, i) =>
        workers.request("shard", { dims: this.dims, weights: this.weights, batch: part(i + 1) }, {
          worker: i,
        }),
    );
    this.engine ??= new MdnRnnEngine(this.dims);
    const results = [this.engine.compute(this.weights, part(0)), ...await Promise.all(pending)];
    // Each shard averaged over its own sequences: weight by its share of the batch.
    const total = results[0];
    const w0 = (bounds[1] - bounds[0]) / B;
    for (const k of WEIGHT_NAMES) total.grads[k] = total.grads[k].map((v) => v * w0);
    for (const name of LOSS_NAMES) total[name] *= w0;
    for (let i = 1; i < results.length; i++) {
      const wi = (bounds[i + 1] - bounds[i]) / B, r = results[i];
      for (const k of WEIGHT_NAMES) {
        const dst = total.grads[k], src = r.grads[k];
        for (let j = 0; j < dst.length; j++) dst[j] += wi * src[j];
      }
      for (const name of LOSS_NAMES) total[name] += wi * r[name];
    }
    return total;
  }

  /** {@linkcode trainStep} with the gradients computed by `workers` threads. */
  async trainStepAsync(seqs: MdnRnnSequences): Promise<MdnRnnLosses> {
    const { grads, ...losses } = await this.computeGradientsAsync(seqs);
    this.applyGradients(grads);
    return losses;
  }

  /** Terminates the training Workers (if any); the model stays usable. */
  close(): Promise<void> {
    this.workers?.close();
    this.workers = undefined;
    return Promise.resolve();
  }

  /** A copy of the Adam state (for checkpoints): steps taken and the moment estimates. */
  optimizerState(): { step: number; m: MdnRnnWeights; v: MdnRnnWeights } {
    const copy = (w: MdnRnnWeights) =>
      Object.fromEntries(WEIGHT_NAMES.map((k) => [k, w[k].slice()])) as unknown as MdnRnnWeights;
    return { step: this.step, m: copy(this.adamM), v: copy(this.adamV) };
  }

  /** Restores an Adam state saved by {@linkcode optimizerState} (sizes are checked). */
  setOptimizerState(state: { step: number; m: MdnRnnWeights; v: MdnRnnWeights }): void {
    for (const k of WEIGHT_NAMES) {
      if (
        state.m[k]?.length !== this.weights[k].length ||
        state.v[k]?.length !== this.weights[k].length
      ) {
        throw new RangeError(`Cannot set the MDN-RNN optimizer state: ${k} has another size`);
      }
    }
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new RangeError(`Cannot set the MDN-RNN optimizer state: step ${state.step}`);
    }
    this.step = state.step;
    const copy = (w: MdnRnnWeights) =>
      Object.fromEntries(
        WEIGHT_NAMES.map((k) => [k, Float32Array.from(w[k])]),
      ) as unknown as MdnRnnWeights;
    this.adamM = copy(state.m);
    this.adamV = copy(state.v);
  }

  /** Applies gradients: element-wise clip to [-gradClip, gradClip], then one Adam step. */
  applyGradients(grads: MdnRnnWeights): void {
    const { learningRate: lr, gradClip } = this.config;
    const beta1 = 0.9, beta2 = 0.999, eps = 1e-7; // Keras/tfjs Adam defaults
    this.step++;
    const c1 = 1 - beta1 ** this.step, c2 = 1 - beta2 ** this.step;
    const alpha = lr * Math.sqrt(c2) / c1;
    for (const k of WEIGHT_NAMES) {
      const w = this.weights[k], g = grads[k], m = this.adamM[k], v = this.adamV[k];
      for (let i = 0; i < w.length; i++) {
        let gi = g[i];
        if (gradClip > 0) gi = gi > gradClip ? gradClip : gi < -gradClip ? -gradClip : gi;
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        w[i] -= alpha * m[i] / (Math.sqrt(v[i]) + eps * Math.sqrt(c2));
      }
    }
    this.version++;
  }

  /** One training step on a batch of sequences; returns the losses before the update. */
  trainStep(seqs: MdnRnnSequences): MdnRnnLosses {
    const { grads, ...losses } = this.computeGradients(seqs);
    this.applyGradients(grads);
    return losses;
  }

  /** A zero state for `batch` parallel sequences. */
  initialState(batch: number): MdnRnnState {
    const n = batch * this.config.hidden;
    return { h: new Float32Array(n), c: new Float32Array(n), batch };
  }

  /**
   * Advances `batch` sequences by one step: feeds (z_t, a_t (, r_t)) with state (h, c), returns
   * the next state and, unless `mixture: false`, the mixture predicting z_{t+1}.
   */
  stepState(
    state: MdnRnnState,
    input: MdnRnnStepInput,
    options: { mixture?: boolean; dropMask?: Float32Array } = {},
  ): { state: MdnRnnState; mixture?: MixtureParams } {
    const { zSize: Z, actionSize: A, rewardHead, hidden } = this.config;
    const n = state.batch;
    if (
      input.z.length !== n * Z || input.action.length !== n * A ||
      state.h.length !== n * hidden || state.c.length !== n * hidden
    ) {
      throw new RangeError(
        `Cannot step MDN-RNN: z ${input.z.length}, action ${input.action.length}, h ${state.h.length}` +
          ` values do not fit batch ${n} (zSize ${Z}, actionSize ${A}, hidden ${hidden})`,
      );
    }
    if (rewardHead && input.reward?.length !== n) {
      throw new RangeError(`Cannot step MDN-RNN: the reward head needs reward [${n}]`);
    }
    const x = new Float32Array(n * this.inputSize);
    for (let i = 0; i < n; i++) {
      x.set(input.z.subarray(i * Z, i * Z + Z), i * this.inputSize);
      x.set(input.action.subarray(i * A, i * A + A), i * this.inputSize + Z);
      if (rewardHead) x[i * this.inputSize + Z + A] = input.reward![i];
    }
    this.stepper ??= new MdnRnnStepper(this.dims);
    const out = this.stepper.step(
      this.weights,
      this.version,
      x,
      state,
      options.mixture ?? true,
      options.dropMask,
    );
    return out;
  }

  /** Builds the equivalent tfjs layers model (lstm + dense) holding these weights. */
  toLayersModel(): tf.LayersModel {
    const model = tf.sequential({
      layers: [
        tf.layers.lstm({
          units: this.config.hidden,
          returnSequences: true,
          recurrentActivation: "sigmoid",
          // setWeights replaces these at once; the default orthogonal initializer would
          // spend ~15 s on a QR decomposition of the 256x1024 recurrent kernel first.
          kernelInitializer: "zeros",
          recurrentInitializer: "zeros",
          inputShape: [null, this.inputSize],
          name: "lstm",
        }),
        tf.layers.dense({ units: this.outputs, name: "mdn" }),
      ],
    });
    const shapes = this.weightShapes();
    model.setWeights(WEIGHT_NAMES.map((k) => tf.tensor(this.weights[k], shapes[k])));
    return model;
  }

  /**
   * Saves to `dir/model.json` + `dir/weights.bin` (TensorFlow.js layers format); the
   * configuration is stored in the model's user-defined metadata.
   */
  async save(dir: string): Promise<void> {
    const model = this.toLayersModel();
    try {
      await model.save(fileHandler(dir, { metadata: { mdnRnn: this.config } }));
    } finally {
      model.dispose();
    }
  }

  /**
   * Loads a model saved by {@linkcode save}. `expected` settings (e.g. `{ zSize: 32 }`) must
   * match the file; every weight must have the shape its configuration implies.
   */
  static async load(dir: string, expected: Partial<MdnRnnConfig> = {}): Promise<MdnRnn> {
    const artifacts = await fileHandler(dir).load!();
    const meta = (artifacts.userDefinedMetadata ?? {}) as { mdnRnn?: Partial<MdnRnnConfig> };
    if (!meta.mdnRnn) {
      throw new TypeError(`Cannot load MDN-RNN from ${dir}: model.json has no mdnRnn metadata`);
    }
    for (const [k, v] of Object.entries(expected)) {
      const got = meta.mdnRnn[k as keyof MdnRnnConfig];
      if (got !== v) {
        throw new RangeError(`Cannot load MDN-RNN from ${dir}: ${k} is ${got}, expected ${v}`);
      }
    }
    const rnn = new MdnRnn({ ...meta.mdnRnn });
    const specs = artifacts.weightSpecs ?? [];
    const shapes = rnn.weightShapes();
    if (specs.length !== WEIGHT_NAMES.length) {
      throw new RangeError(
        `Cannot load MDN-RNN from ${dir}: ${specs.length} weights, expected ${WEIGHT_NAMES.length}`,
      );
    }
    specs.forEach((spec, i) => {
      const want = shapes[WEIGHT_NAMES[i]];
      if (spec.shape.join() !== want.join()) {
        throw new RangeError(
          `Cannot load MDN-RNN from ${dir}: weight ${spec.name} has shape [${spec.shape}], ` +
            `expected [${want}]`,
        );
      }
    });
    const data = tf.io.decodeWeights(artifacts.weightData!, specs);
    rnn.setWeights(
      Object.fromEntries(
        WEIGHT_NAMES.map((k, i) => [k, data[specs[i].name].dataSync() as Float32Array]),
      ) as unknown as MdnRnnWeights,
    );
    for (const t of Object.values(data)) t.dispose();
    return rnn;
  }
}
