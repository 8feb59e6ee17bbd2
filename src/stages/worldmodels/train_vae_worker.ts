/**
 * Helper Worker of `worldmodels/train_vae` with `workers` > 1: computes the gradients of its share
 * of each minibatch with the weights it is sent (see train_vae_parallel.ts).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../models/backend/mod.ts";
import { ConvVAE } from "../../models/vae.ts";
import {
  type HelperReply,
  type HelperRequest,
  shareGradients,
  vaeVariables,
} from "./train_vae_parallel.ts";

let vae: ConvVAE | undefined;
let variables: tf.Variable[] = [];

function reply(message: HelperReply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

self.onmessage = async (event: MessageEvent<HelperRequest>) => {
  const message = event.data;
  try {
    if (message.type === "init") {
      await initBackend({ backend: message.backend });
      vae = new ConvVAE({ zSize: message.zSize, klTolerance: message.klTolerance });
      variables = vaeVariables(vae);
      reply({ type: "ready" });
      return;
    }
    if (vae === undefined) throw new Error("the helper was not initialised");
    if (message.weights.length !== variables.length) {
      throw new RangeError(`got ${message.weights.length} weights for ${variables.length}`);
    }
    tf.tidy(() => {
      variables.forEach((v, i) => v.assign(tf.tensor(message.weights[i], v.shape)));
    });
    const { grads, losses } = shareGradients(vae, variables, message);
    // Copies: what dataSync returns may share memory with the backend.
    const arrays = grads.map((g) => (g.dataSync() as Float32Array).slice());
    tf.dispose(grads);
    reply({ type: "grads", grads: arrays, losses }, arrays.map((a) => a.buffer));
  } catch (error) {
    reply({ type: "error", message: error instanceof Error ? error.message : String(error) });
  }
};
