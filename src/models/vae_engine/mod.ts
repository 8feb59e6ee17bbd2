/**
 * ConvVAE training on ditto's own WebAssembly SIMD kernels (the `engine: simd` of
 * `worldmodels/train_vae`): {@linkcode VaeEngine} computes one shard's loss and gradients
 * (every convolution and transposed convolution as patch moves plus fused multiply-add
 * products), {@linkcode VaeTrainer} holds the flat parameters and Adam moments and shares each
 * batch's fixed shards between threads. Weights and gradients keep the tfjs model's order and
 * layouts, so the trained parameters go back into the tfjs layers model unchanged.
 *
 * @example One training step on 2 frames
 * ```ts
 * import { initBackend } from "../backend/mod.ts";
 * import { ConvVAE } from "../vae.ts";
 * import { VaeTrainer } from "./mod.ts";
 * await initBackend({ backend: "wasm" });
 * const vae = new ConvVAE({ seed: 1, zSize: 8 });
 * const weights = vae.trainableWeights.map((v) => v.dataSync() as Float32Array);
 * const trainer = await VaeTrainer.create(weights, {
 *   zSize: 8,
 *   klTolerance: 0.5,
 *   learningRate: 1e-4,
 * });
 * const x = new Float32Array(2 * 64 * 64 * 3).fill(0.5);
 * const losses = await trainer.trainStep(x, new Float32Array(2 * 8), 2);
 * trainer.close();
 * ```
 *
 * @module
 */
export { DECODER_DECONVS, ENCODER_CONVS, vaeWeightShapes } from "./geometry.ts";
export { VaeEngine, type VaeShardGradients } from "./train.ts";
export {
  SHARD_FRAMES,
  shardBounds,
  type VaeEngineWorkerMethods,
  VaeTrainer,
  type VaeTrainerLosses,
  type VaeTrainerOptions,
} from "./trainer.ts";
