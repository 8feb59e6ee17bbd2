/**
 * Fast inference of a {@linkcode ConvVAE}'s encoder on uint8 frames: the glue between the tfjs
 * model and {@linkcode EncoderEngine}. Kept out of vae.ts on purpose: the training stages'
 * code fingerprints follow vae.ts's imports, and the inference engine does not change what they
 * compute.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type ConvVAE, framesToTensor } from "./vae.ts";
import { type EncodedBatch, EncoderEngine, type EncoderWeights } from "./vae_encoder_engine.ts";

/** A copy of the VAE encoder's current weights, in the form {@linkcode EncoderEngine} takes. */
export function encoderWeights(vae: ConvVAE): EncoderWeights {
  const w = vae.encoder.getWeights().map((t) => t.dataSync() as Float32Array);
  const layer = (i: number) => ({ kernel: w[2 * i].slice(), bias: w[2 * i + 1].slice() });
  return { convs: [0, 1, 2, 3].map(layer), mu: layer(4), logvar: layer(5) };
}

/**
 * The VAE's encoder as a WebAssembly SIMD program, with a snapshot of its current weights: for
 * inference on uint8 frames, faster than `vae.encode` on the wasm backend. Build a new one after
 * training further (or use {@linkcode encodeFrames}, which does).
 */
export function encoderEngine(vae: ConvVAE): EncoderEngine {
  return EncoderEngine.fromWeights(encoderWeights(vae));
}

// Per VAE: its engine and the weight buffers it was built from.
const engines = new WeakMap<ConvVAE, { engine: EncoderEngine; data: unknown[] }>();

/**
 * Encodes `batch` uint8 RGB frames ([batch, 64, 64, 3] bytes) to latent means and log
 * variances. On the wasm and cpu backends this runs an {@linkcode EncoderEngine}, rebuilt
 * whenever the weights have changed (every write to a tfjs variable replaces its buffer); on
 * the native `tensorflow` backend it runs `vae.encode`.
 *
 * @example
 * ```ts
 * import { initBackend } from "./backend/mod.ts";
 * import { ConvVAE } from "./vae.ts";
 * import { encodeFrames } from "./vae_encode.ts";
 * await initBackend({ backend: "wasm" });
 * const vae = new ConvVAE({ seed: 1 });
 * const { mu, logvar } = encodeFrames(vae, new Uint8Array(2 * 64 * 64 * 3), 2);
 * ```
 */
export function encodeFrames(vae: ConvVAE, frames: Uint8Array, batch: number): EncodedBatch {
  if (tf.getBackend() === "tensorflow") {
    const [mu, logvar] = tf.tidy(() => {
      const out = vae.encode(framesToTensor(frames, batch));
      return [out.mu.dataSync(), out.logvar.dataSync()] as Float32Array<ArrayBuffer>[];
    });
    return { mu, logvar };
  }
  const data = vae.encoder.weights.map((w) => w.read().dataId);
  let cached = engines.get(vae);
  if (!cached || data.some((d, i) => d !== cached!.data[i])) {
    cached = { engine: encoderEngine(vae), data };
    engines.set(vae, cached);
  }
  return cached.engine.encode(frames, batch);
}
