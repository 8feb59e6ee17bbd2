/**
 * Data-parallel gradients for `worldmodels/train_vae`: each minibatch is split between the stage
 * thread and helper Workers (one tfjs backend, one core each); every helper gets the current
 * weights with its share, returns the gradients of its share's mean loss, and the stage thread
 * averages them weighted by share size (the gradient of the whole batch's mean loss) before its
 * own Adam step. Helpers hold no state between steps, so checkpoints stay in the stage thread.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendName } from "../../models/backend/mod.ts";
import { type ConvVAE, framesToTensor, type VAELosses } from "../../models/vae.ts";

/** The trainable variables of a VAE, encoder first, in layer order. */
export function vaeVariables(vae: ConvVAE): tf.Variable[] {
  return [...vae.encoder.trainableWeights, ...vae.decoder.trainableWeights].map(
    (w) => w.read() as tf.Variable,
  );
}

/**
 * Loss values and gradients (in `variables` order; the caller disposes them) of the mean loss
 * of `n` uint8 frames with reparameterisation noise `eps` ([n, zSize]).
 */
export function shareGradients(
  vae: ConvVAE,
  variables: tf.Variable[],
  share: { frames: Uint8Array; eps: Float32Array; n: number },
): { grads: tf.Tensor[]; losses: VAELosses } {
  const x = framesToTensor(share.frames, share.n);
  const eps = tf.tensor2d(share.eps, [share.n, vae.zSize]);
  let rec: tf.Scalar | undefined, kl: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const terms = vae.lossTerms(x, eps);
    rec = tf.keep(terms.rec);
    kl = tf.keep(terms.kl);
    return terms.loss;
  }, variables);
  const losses = {
    loss: value.dataSync()[0],
    reconstruction: rec!.dataSync()[0],
    kl: kl!.dataSync()[0],
  };
  tf.dispose([x, eps, value, rec!, kl!]);
  return { grads: variables.map((v) => grads[v.name]), losses };
}

/** Messages a helper Worker accepts. */
export type HelperRequest =
  | { type: "init"; backend: BackendName; zSize: number; klTolerance: number }
  | { type: "step"; weights: Float32Array[]; frames: Uint8Array; eps: Float32Array; n: number };

/** Messages a helper Worker sends. */
export type HelperReply =
  | { type: "ready" }
  | { type: "grads"; grads: Float32Array[]; losses: VAELosses }
  | { type: "error"; message: string };

function request(worker: Worker, message: HelperRequest): Promise<HelperReply> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<HelperReply>) => {
      if (event.data.type === "error") {
        reject(new Error(`Cannot train the VAE in parallel: ${event.data.message}`));
      } else resolve(event.data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`Cannot train the VAE in parallel: a helper failed: ${event.message}`));
    };
    worker.postMessage(message);
  });
}

/** The stage thread plus `workers - 1` helper Workers sharing each minibatch. */
export class GradientPool {
  readonly #helpers: Worker[];

  private constructor(helpers: Worker[]) {
    this.#helpers = helpers;
  }

  /** Starts the helpers (each loads tfjs and builds a VAE of the same shape). */
  static async start(
    workers: number,
    options: { backend: BackendName; zSize: number; klTolerance: number },
  ): Promise<GradientPool> {
    const helpers: Worker[] = [];
    try {
      const url = new URL("./train_vae_worker.ts", import.meta.url).href;
      for (let i = 1; i < workers; i++) helpers.push(new Worker(url, { type: "module" }));
      await Promise.all(helpers.map((w) => request(w, { type: "init", ...options })));
    } catch (error) {
      for (const worker of helpers) worker.terminate();
      throw error;
    }
    return new GradientPool(helpers);
  }

  /**
   * The gradients of the mean loss of a minibatch (`n` uint8 frames, noise `eps`), computed in
   * shares; returned in `variables` order (the caller disposes them) with the batch's losses.
   */
  async gradients(
    vae: ConvVAE,
    variables: tf.Variable[],
    batch: { frames: Uint8Array; eps: Float32Array; n: number },
  ): Promise<{ grads: tf.Tensor[]; losses: VAELosses }> {
    const { n } = batch;
    const shares = Math.min(n, this.#helpers.length + 1);
    const bounds = Array.from({ length: shares + 1 }, (_, i) => Math.round((i * n) / shares));
    const frameSize = batch.frames.length / n;
    const z = vae.zSize;
    const part = (i: number) => ({
      frames: batch.frames.slice(bounds[i] * frameSize, bounds[i + 1] * frameSize),
      eps: batch.eps.slice(bounds[i] * z, bounds[i + 1] * z),
      n: bounds[i + 1] - bounds[i],
    });
    const weights = shares > 1 ? variables.map((v) => v.dataSync() as Float32Array) : [];
    const pending = this.#helpers.slice(0, shares - 1).map((worker, i) =>
      request(worker, { type: "step", weights, ...part(i + 1) })
    );
    const own = shareGradients(vae, variables, part(0));
    const replies = await Promise.all(pending);
    const fraction = (i: number) => (bounds[i + 1] - bounds[i]) / n;
    const grads = tf.tidy(() =>
      own.grads.map((g, k) => {
        let sum = tf.mul(g, fraction(0));
        replies.forEach((reply, i) => {
          if (reply.type !== "grads") throw new Error("Cannot train the VAE: unexpected reply");
          sum = tf.add(sum, tf.mul(tf.tensor(reply.grads[k], g.shape), fraction(i + 1)));
        });
        return sum;
      })
    );
    tf.dispose(own.grads);
    const all = [own.losses, ...replies.map((r) => (r as { losses: VAELosses }).losses)];
    const mean = (key: keyof VAELosses) => all.reduce((s, l, i) => s + l[key] * fraction(i), 0);
    return {
      grads,
      losses: { loss: mean("loss"), reconstruction: mean("reconstruction"), kl: mean("kl") },
    };
  }

  /** Stops the helpers. */
  close(): void {
    for (const worker of this.#helpers) worker.terminate();
  }
}
