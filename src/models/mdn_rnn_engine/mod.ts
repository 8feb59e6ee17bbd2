/**
 * The MDN-RNN (LSTM + mixture-density head) on its own WebAssembly SIMD kernels: training
 * ({@linkcode MdnRnnEngine}: loss and gradients of a batch of sequences) and stepping
 * ({@linkcode MdnRnnStepper}: one step for many parallel sequences), both in the Keras weight
 * layout.
 *
 * @example One training step's gradients
 * ```ts
 * import { MdnRnnEngine } from "./mod.ts";
 * const dims = { inputSize: 5, hidden: 8, zSize: 4, mixtures: 2, rewardHead: false };
 * const engine = new MdnRnnEngine(dims);
 * const O = engine.outputs;
 * const weights = {
 *   kernel: new Float32Array(5 * 32).fill(0.01),
 *   recurrentKernel: new Float32Array(8 * 32).fill(0.01),
 *   bias: new Float32Array(32),
 *   headKernel: new Float32Array(8 * O).fill(0.01),
 *   headBias: new Float32Array(O),
 * };
 * const batch = { input: new Float32Array(2 * 3 * 5), targetZ: new Float32Array(2 * 3 * 4) };
 * const { loss } = engine.compute(weights, { ...batch, batch: 2, seq: 3 });
 * ```
 *
 * @module
 */
export { headPermutation, MdnRnnEngine } from "./train.ts";
export { MdnRnnStepper } from "./step.ts";
export {
  doneTerm,
  extraColumns,
  headOutputs,
  type MdnRnnBatch,
  type MdnRnnDims,
  type MdnRnnGradients,
  type MdnRnnState,
  type MdnRnnWeights,
  type MixtureParams,
  rewardTerm,
} from "./types.ts";
