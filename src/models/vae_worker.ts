/**
 * Helper Worker of `ParallelVAETrainer` (vae_parallel.ts): computes VAE gradients (or
 * encodings) for its share of each batch with the weights it is sent (methods:
 * {@linkcode VAEWorkerMethods}).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "./backend/mod.ts";
import { ConvVAE } from "./vae.ts";
import type { VAEWorkerMethods } from "./vae_parallel.ts";
import { serveWorker } from "../pool/mod.ts";

let vae: ConvVAE | undefined;

function model(): ConvVAE {
  if (vae === undefined) throw new Error("the Worker was not initialised");
  return vae;
}

function assign(target: ConvVAE, weights: Float32Array[]): void {
  const variables = target.trainableWeights;
  weights.forEach((w, i) => {
    tf.tidy(() => variables[i].assign(tf.tensor(w, variables[i].shape)));
  });
}

serveWorker<VAEWorkerMethods>({
  async init({ backend, zSize, klTolerance }) {
    await initBackend({ backend });
    vae = new ConvVAE({ zSize, klTolerance });
  },
  step(message, { transfer }) {
    const vae = model();
    assign(vae, message.weights);
    const x = tf.tensor4d(message.x, [message.batch, 64, 64, 3]);
    const eps = tf.tensor2d(message.eps, [message.batch, vae.zSize]);
    const { grads, losses } = vae.gradients(x, eps);
    const arrays = grads.map((g) => g.dataSync() as Float32Array);
    tf.dispose([x, eps, ...grads]);
    for (const a of arrays) transfer(a.buffer as ArrayBuffer);
    return { grads: arrays, losses };
  },
  encode(message, { transfer }) {
    const vae = model();
    if (message.weights !== undefined) assign(vae, message.weights);
    const x = tf.tensor4d(message.x, [message.batch, 64, 64, 3]);
    const { mu, logvar } = vae.encode(x);
    const arrays = [mu.dataSync() as Float32Array, logvar.dataSync() as Float32Array];
    tf.dispose([x, mu, logvar]);
    for (const a of arrays) transfer(a.buffer as ArrayBuffer);
    return { mu: arrays[0], logvar: arrays[1] };
  },
});
