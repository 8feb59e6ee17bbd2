/**
 * Floating-point operations of ditto's models, to turn throughput into GFLOP/s: the
 * multiply-adds of the convolutions, transposed convolutions, dense layers and LSTM products,
 * two operations each. Element-wise work (activations, the loss, Adam) is left out, as usual.
 * A training step counts three times the forward pass (forward, input gradients, weight
 * gradients), the common convention, even where the first layer's input gradient is skipped.
 *
 * @example The ConvVAE's encoder, per frame
 * ```ts
 * import { ConvVAE } from "./vae.ts";
 * import { vaeFlops } from "./flops.ts";
 * console.log(vaeFlops(new ConvVAE()).encode); // 29,559,808
 * ```
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** Forward FLOPs per example of the conv2d, conv2dTranspose and dense layers of `model`. */
export function layersModelFlops(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind !== "Conv2D" && kind !== "Conv2DTranspose" && kind !== "Dense") continue;
    // Kernels: conv2d [kh, kw, in, out], conv2dTranspose [kh, kw, out, in], dense [in, out].
    const kernel = layer.getWeights()[0].shape;
    const taps = kernel.reduce((a, b) => a * b, 1);
    // Each output position of a conv2d and each input position of a conv2dTranspose meets
    // every kernel tap once.
    const positions = kind === "Dense"
      ? 1
      : spatial(kind === "Conv2D" ? layer.output : layer.input);
    flops += 2 * taps * positions;
  }
  return flops;
}

/** Height x width of a layer's (single) input or output, [batch, height, width, channels]. */
function spatial(tensor: tf.SymbolicTensor | tf.SymbolicTensor[]): number {
  const [, h, w] = (Array.isArray(tensor) ? tensor[0] : tensor).shape;
  return (h ?? 1) * (w ?? 1);
}

/** FLOPs per frame of the ConvVAE: encoding (encoder forward) and a training step. */
export function vaeFlops(
  vae: { encoder: tf.LayersModel; decoder: tf.LayersModel },
): { encode: number; train: number } {
  const encode = layersModelFlops(vae.encoder);
  return { encode, train: 3 * (encode + layersModelFlops(vae.decoder)) };
}

/** FLOPs per timestep of the MDN-RNN: one step (LSTM and head) and a training step. */
export function mdnRnnFlops(
  rnn: { inputSize: number; outputs: number; config: { hidden: number } },
): { step: number; train: number } {
  const h = rnn.config.hidden;
  const step = 2 * (4 * h * (rnn.inputSize + h) + h * rnn.outputs);
  return { step, train: 3 * step };
}
