/**
 * The MDN-RNN's loss and gradients through tfjs autodiff, on any backend: the reference the
 * WebAssembly engine (mdn_rnn_engine/) is tested against, and the path of the tfjs backends.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { lstmSequence } from "./lstm.ts";
import {
  extraColumns,
  type MdnRnnBatch,
  type MdnRnnDims,
  type MdnRnnWeights,
} from "./mdn_rnn_engine/mod.ts";

/** Losses of one training step. */
export interface MdnRnnLosses {
  /** nll + bce + mse + doneBce, what was minimised. */
  loss: number;
  /** Mixture negative log-likelihood per latent dimension. */
  nll: number;
  /** Reward binary cross-entropy (0 without the bit reward head). */
  bce: number;
  /** Weighted squared error of the scaled reward (0 without the regression head). */
  mse: number;
  /** Weighted done cross-entropy (0 without the done head). */
  doneBce: number;
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** The MDN-RNN's weights, in the order of the Keras layers (LSTM, then the head). */
export const WEIGHT_NAMES = [
  "kernel",
  "recurrentKernel",
  "bias",
  "headKernel",
  "headBias",
] as const;

/**
 * Loss and gradients of a batch through tfjs autodiff: the mixture NLL, and the reward (bit or
 * regression) and done terms that `dims` enables. Reads the tensors synchronously, which the
 * `webgpu` backend cannot do: there, use {@linkcode tfjsGradientsAsync}.
 *
 * @param weights Current weights.
 * @param shapes Each weight's shape.
 * @param dims Sizes and heads.
 * @param inputSize LSTM input size.
 * @param batch Inputs and targets.
 * @returns The losses and the gradient of each weight.
 */
export function tfjsGradients(
  weights: MdnRnnWeights,
  shapes: Record<keyof MdnRnnWeights, number[]>,
  dims: MdnRnnDims,
  inputSize: number,
  batch: MdnRnnBatch,
): MdnRnnLosses & { grads: MdnRnnWeights } {
  const tensors = lossAndGrads(weights, shapes, dims, inputSize, batch);
  try {
    return readResult(tensors.map((t) => t?.dataSync() as Float32Array | undefined));
  } finally {
    tf.dispose(tensors.filter((t) => t !== undefined));
  }
}

/** {@linkcode tfjsGradients}, reading the tensors asynchronously (any backend, `webgpu` too). */
export async function tfjsGradientsAsync(
  weights: MdnRnnWeights,
  shapes: Record<keyof MdnRnnWeights, number[]>,
  dims: MdnRnnDims,
  inputSize: number,
  batch: MdnRnnBatch,
): Promise<MdnRnnLosses & { grads: MdnRnnWeights }> {
  const tensors = lossAndGrads(weights, shapes, dims, inputSize, batch);
  try {
    const arrays = await Promise.all(tensors.map((t) => t?.data() as Promise<Float32Array>));
    return readResult(arrays);
  } finally {
    tf.dispose(tensors.filter((t) => t !== undefined));
  }
}

/** The values of {@linkcode lossAndGrads}'s tensors, in its order, as the result. */
function readResult(
  arrays: (Float32Array | undefined)[],
): MdnRnnLosses & { grads: MdnRnnWeights } {
  const grads = Object.fromEntries(
    WEIGHT_NAMES.map((k, i) => [k, arrays[i]!]),
  ) as unknown as MdnRnnWeights;
  const read = (i: number) => arrays[WEIGHT_NAMES.length + i]?.[0] ?? 0;
  return { loss: read(0), nll: read(1), bce: read(2), mse: read(3), doneBce: read(4), grads };
}

/**
 * The tensors of a training step: the gradient of each weight (order of
 * {@linkcode WEIGHT_NAMES}), then the loss, nll, bce, mse and done terms (undefined where the
 * head is off). The caller disposes them.
 */
function lossAndGrads(
  weights: MdnRnnWeights,
  shapes: Record<keyof MdnRnnWeights, number[]>,
  dims: MdnRnnDims,
  inputSize: number,
  batch: MdnRnnBatch,
): (tf.Tensor | undefined)[] {
  const { zSize: Z, mixtures: K, hidden: H, rewardHead } = dims;
  const { batch: B, seq: T } = batch;
  const col = extraColumns(dims);
  let result: (tf.Tensor | undefined)[] = [];
  tf.tidy(() => {
    const x = tf.tensor3d(batch.input, [B, T, inputSize]);
    const zt = tf.tensor3d(batch.targetZ, [B * T, Z, 1]);
    const rt = batch.targetReward ? tf.tensor1d(batch.targetReward) : undefined;
    const dt = batch.targetDone ? tf.tensor1d(batch.targetDone) : undefined;
    const mask = batch.zMask ? tf.tensor2d(batch.zMask, [B * T, 1]) : undefined;
    const drop = batch.dropMask ? tf.tensor2d(batch.dropMask, [B * T, H]) : undefined;
    const ws = WEIGHT_NAMES.map((k) => tf.tensor(weights[k], shapes[k]));
    let nllT: tf.Scalar | undefined, bceT: tf.Scalar | undefined;
    let mseT: tf.Scalar | undefined, doneT: tf.Scalar | undefined;
    const column = (y: tf.Tensor2D, c: number) =>
      tf.reshape(tf.slice(y, [0, c], [B * T, 1]), [B * T]);
    const f = (k: tf.Tensor, rk: tf.Tensor, b: tf.Tensor, hk: tf.Tensor, hb: tf.Tensor) => {
      const h = lstmSequence(x, {
        kernel: k as tf.Tensor2D,
        recurrentKernel: rk as tf.Tensor2D,
        bias: b as tf.Tensor1D,
      });
      const flat = tf.reshape(h, [B * T, H]);
      const hd = drop ? tf.mul(flat, drop) : flat;
      const y = tf.add(tf.matMul(hd, hk), hb) as tf.Tensor2D;
      const mix = tf.reshape(tf.slice(y, [0, 0], [B * T, Z * 3 * K]), [B * T, Z, 3 * K]);
      const [logits, mu, logSigma] = tf.split(mix, 3, 2);
      const logPi = tf.sub(logits, tf.logSumExp(logits, 2, true));
      const e = tf.div(tf.sub(zt, mu), tf.exp(logSigma));
      const logN = tf.sub(tf.sub(tf.mul(-0.5, tf.square(e)), logSigma), LOG_SQRT_2PI);
      const lse = tf.logSumExp(tf.add(logPi, logN), 2);
      nllT = tf.keep(
        mask ? tf.div(tf.neg(tf.sum(tf.mul(lse, mask))), B * T * Z) : tf.neg(tf.mean(lse)),
      );
      let total: tf.Scalar = nllT;
      if (rewardHead && rt && dims.rewardRegression) {
        const e = tf.sub(column(y, col.reward), rt);
        // w relu(e)^2 + relu(-e)^2: the over-prediction weighted.
        const over = tf.mul(dims.rewardOverWeight!, tf.square(tf.relu(e)));
        mseT = tf.keep(tf.mean(tf.add(over, tf.square(tf.relu(tf.neg(e))))));
        total = tf.add(total, mseT);
      } else if (rewardHead && rt) {
        const l = column(y, col.reward);
        bceT = tf.keep(
          tf.mean(
            tf.add(tf.sub(tf.relu(l), tf.mul(l, rt)), tf.log1p(tf.exp(tf.neg(tf.abs(l))))),
          ),
        );
        total = tf.add(total, bceT);
      }
      if (dims.doneHead && dt) {
        const l = column(y, col.done);
        // w y softplus(-l) + (1 - y) softplus(l)
        const pos = tf.mul(tf.mul(dims.doneWeight!, dt), tf.softplus(tf.neg(l)));
        doneT = tf.keep(tf.mean(tf.add(pos, tf.mul(tf.sub(1, dt), tf.softplus(l)))));
        total = tf.add(total, doneT);
      }
      return total;
    };
    const { value, grads } = tf.valueAndGrads(f)(ws);
    // Kept past the tidy; nllT and the others are kept already.
    result = [...grads, value, nllT, bceT, mseT, doneT].map((t) => t && tf.keep(t));
  });
  return result;
}
