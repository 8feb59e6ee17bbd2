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
  /** Whether the head has a reward logit after the mixture parameters. */
  rewardHead: boolean;
}

/** A training batch, batch-major like PyTorch's `batch_first`. */
export interface MdnRnnBatch {
  /** Inputs [batch, seq, inputSize]. */
  input: Float32Array;
  /** Targets z_{t+1} [batch, seq, zSize]. */
  targetZ: Float32Array;
  /** Reward targets in {0, 1} [batch, seq]; required when the reward head is on. */
  targetReward?: Float32Array;
  /** Batch size. */
  batch: number;
  /** Sequence length. */
  seq: number;
}

/** Loss terms and gradients of one batch. */
export interface MdnRnnGradients {
  /** Total loss = nll + bce. */
  loss: number;
  /** Mean mixture negative log-likelihood per latent dimension. */
  nll: number;
  /** Mean reward binary cross-entropy (0 without the reward head). */
  bce: number;
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
  /** Reward logits [batch] (with the reward head). */
  rewardLogit?: Float32Array;
  /** Rows. */
  batch: number;
  /** Components per latent dimension. */
  mixtures: number;
}

/** Head outputs of a network: zSize * mixtures * 3 (+ 1 reward logit). */
export function headOutputs(dims: MdnRnnDims): number {
  return dims.zSize * dims.mixtures * 3 + (dims.rewardHead ? 1 : 0);
}
