/**
 * The shapes the MDN-RNN engines exchange with their callers: weights in the Keras/tfjs layout,
 * network sizes, training batches and gradients, recurrent state and mixture parameters.
 *
 * @module
 */

/** Weights of the LSTM and the head, in the Keras/tfjs layout. */
export interface MdnRnnWeights {
  /** LSTM input kernel [inputSize, 4*hidden], gates i, f, c, o. */
  kernel: Float32Array;
  /** LSTM recurrent kernel [hidden, 4*hidden]. */
  recurrentKernel: Float32Array;
  /** LSTM bias [4*hidden]. */
  bias: Float32Array;
  /** Head kernel [hidden, outputs]. */
  headKernel: Float32Array;
  /** Head bias [outputs]. */
  headBias: Float32Array;
}

/** Sizes of the network. */
export interface MdnRnnDims {
  /** LSTM input size (z + action (+ reward)). */
  inputSize: number;
  /** LSTM units. */
  hidden: number;
  /** Latent size (dimensions of z predicted by the mixture). */
  zSize: number;
  /** Mixture components per latent dimension. */
  mixtures: number;
  /** Whether the head has a reward output after the mixture parameters. */
  rewardHead: boolean;
  /**
   * With the reward head: true when that output is a regression of the (scaled) reward,
   * trained with an asymmetric squared error; else it is the book's logit of a 0/1 tile bit,
   * trained with binary cross-entropy. Default false.
   */
  rewardRegression?: boolean;
  /** Weight of the squared error where the reward is over-predicted; default 1 (plain MSE). */
  rewardOverWeight?: number;
  /** Whether the head has a done logit (after the reward output); default false. */
  doneHead?: boolean;
  /** Weight of the positive class in the done head's cross-entropy; default 1. */
  doneWeight?: number;
  /**
   * Dropout rate on the LSTM output before the head (training buffers are sized for a
   * `dropMask` when > 0); default 0.
   */
  dropout?: number;
}

/** A training batch, batch-major like PyTorch's `batch_first`. */
export interface MdnRnnBatch {
  /** Inputs [batch, seq, inputSize]. */
  input: Float32Array;
  /** Targets z_{t+1} [batch, seq, zSize]. */
  targetZ: Float32Array;
  /**
   * Reward targets [batch, seq]: 0/1 bits, or the scaled reward with the regression head;
   * required when the reward head is on.
   */
  targetReward?: Float32Array;
  /** Done targets in {0, 1} [batch, seq]; required when the done head is on. */
  targetDone?: Float32Array;
  /**
   * 0 where step t has no next frame (the last action of an episode: its reward and done are
   * targets, z_{t+1} is not), else 1 [batch, seq]; default all 1. Masked steps add nothing to
   * the NLL sum, which is still divided by batch * seq * zSize.
   */
  zMask?: Float32Array;
  /**
   * Dropout multipliers of h before the head [batch, seq, hidden] (0, or 1 / (1 - rate));
   * only with `dims.dropout` > 0. The recurrence sees h undropped.
   */
  dropMask?: Float32Array;
  /** Batch size. */
  batch: number;
  /** Sequence length. */
  seq: number;
}

/** Loss terms and gradients of one batch. */
export interface MdnRnnGradients {
  /** Total loss = nll + bce + mse + doneBce. */
  loss: number;
  /** Mean mixture negative log-likelihood per latent dimension. */
  nll: number;
  /** Mean reward binary cross-entropy (0 without the bit reward head). */
  bce: number;
  /** Mean weighted squared error of the reward regression (0 without it). */
  mse: number;
  /** Mean weighted done cross-entropy (0 without the done head). */
  doneBce: number;
  /** Gradients, same layout as the weights. */
  grads: MdnRnnWeights;
}

/** Batched recurrent state: [batch, hidden] each. */
export interface MdnRnnState {
  /** Hidden state (the LSTM output, what the controller sees). */
  h: Float32Array;
  /** Cell state. */
  c: Float32Array;
  /** Rows. */
  batch: number;
}

/** Mixture parameters for one step of a batch: [batch, zSize, mixtures] each. */
export interface MixtureParams {
  /** Normalised log mixture weights. */
  logPi: Float32Array;
  /** Component means. */
  mu: Float32Array;
  /** Component log standard deviations. */
  logSigma: Float32Array;
  /** Reward logits [batch] (with the bit reward head). */
  rewardLogit?: Float32Array;
  /** Predicted scaled rewards [batch] (with the reward regression head). */
  rewardValue?: Float32Array;
  /** Done logits [batch] (with the done head). */
  doneLogit?: Float32Array;
  /** Rows. */
  batch: number;
  /** Components per latent dimension. */
  mixtures: number;
}

/** Head outputs of a network: zSize * mixtures * 3 (+ 1 reward output) (+ 1 done logit). */
export function headOutputs(dims: MdnRnnDims): number {
  return dims.zSize * dims.mixtures * 3 + (dims.rewardHead ? 1 : 0) + (dims.doneHead ? 1 : 0);
}

/** Columns of the reward output and the done logit in the head (-1 when absent). */
export function extraColumns(dims: MdnRnnDims): { reward: number; done: number } {
  const base = dims.zSize * dims.mixtures * 3;
  return {
    reward: dims.rewardHead ? base : -1,
    done: dims.doneHead ? base + (dims.rewardHead ? 1 : 0) : -1,
  };
}

/**
 * The loss terms of the reward and done outputs for one row, and their gradients (for one
 * row, before the 1 / rows mean): `out` is the head output (logit or value) and `target` the
 * target. The bit is binary cross-entropy, the regression `w (out - target)^2` with `w` the
 * over-prediction weight where out > target, the done a cross-entropy with positive weight.
 */
export function rewardTerm(
  dims: MdnRnnDims,
  out: number,
  target: number,
): { loss: number; grad: number } {
  if (dims.rewardRegression) {
    const e = out - target;
    const w = e > 0 ? dims.rewardOverWeight ?? 1 : 1;
    return { loss: w * e * e, grad: 2 * w * e };
  }
  return {
    loss: Math.max(out, 0) - out * target + Math.log1p(Math.exp(-Math.abs(out))),
    grad: 1 / (1 + Math.exp(-out)) - target,
  };
}

/** The done head's weighted cross-entropy of logit `l` for target `y` and its gradient. */
export function doneTerm(dims: MdnRnnDims, l: number, y: number): { loss: number; grad: number } {
  const w = dims.doneWeight ?? 1;
  const softplusNeg = Math.max(-l, 0) + Math.log1p(Math.exp(-Math.abs(l))); // -log sigmoid(l)
  const p = 1 / (1 + Math.exp(-l));
  return {
    loss: w * y * softplusNeg + (1 - y) * (softplusNeg + l),
    grad: p * (w * y + 1 - y) - w * y,
  };
}
