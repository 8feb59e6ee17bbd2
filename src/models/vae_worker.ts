/**
 * Helper Worker of {@linkcode ParallelVAETrainer}: computes VAE gradients (or encodings) for its
 * share of each batch with the weights it is sent.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BackendName, initBackend } from "./backend/mod.ts";
import { ConvVAE } from "./vae.ts";

const scope = self as unknown as {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
};
let vae: ConvVAE | undefined;

scope.onmessage = async (event: MessageEvent) => {
  const message = event.data;
  try {
    if (message.type === "init") {
      await initBackend({ backend: message.backend as BackendName });
      vae = new ConvVAE({ zSize: message.zSize, klTolerance: message.klTolerance });
      scope.postMessage({ type: "ready" });
      return;
    }
    if (message.type === "step" && vae !== undefined) {
      const model = vae;
      const variables = model.trainableWeights;
      (message.weights as Float32Array[]).forEach((w, i) => {
        tf.tidy(() => variables[i].assign(tf.tensor(w, variables[i].shape)));
      });
      const x = tf.tensor4d(message.x, [message.batch, 64, 64, 3]);
      const eps = tf.tensor2d(message.eps, [message.batch, model.zSize]);
      const { grads, losses } = model.gradients(x, eps);
      const arrays = grads.map((g) => g.dataSync() as Float32Array);
      tf.dispose([x, eps, ...grads]);
      scope.postMessage(
        { type: "grads", grads: arrays, losses },
        arrays.map((a) => a.buffer as ArrayBuffer),
      );
      return;
    }
    if (message.type === "encode" && vae !== undefined) {
      const model = vae;
      if (message.weights !== undefined) {
        const variables = model.trainableWeights;
        (message.weights as Float32Array[]).forEach((w, i) => {
          tf.tidy(() => variables[i].assign(tf.tensor(w, variables[i].shape)));
        });
      }
      const x = tf.tensor4d(message.x, [message.batch, 64, 64, 3]);
      const { mu, logvar } = model.encode(x);
      const arrays = [mu.dataSync() as Float32Array, logvar.dataSync() as Float32Array];
      tf.dispose([x, mu, logvar]);
      scope.postMessage(
        { type: "encoded", mu: arrays[0], logvar: arrays[1] },
        arrays.map((a) => a.buffer as ArrayBuffer),
      );
      return;
    }
    throw new Error(`unexpected message ${message.type}`);
  } catch (error) {
    scope.postMessage({ type: "error", message: String(error) });
  }
};
