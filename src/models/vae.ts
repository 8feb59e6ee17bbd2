/**
 * The World Models convolutional VAE ("V"), as in Ha & Schmidhuber's original code:
 *
 * - encoder: 64x64x3 in [0, 1] -> conv 32, 64, 128, 256 (4x4, stride 2, valid, ReLU) -> flatten
 *   1,024 -> mu, logvar (dense, linear, `zSize` each);
 * - decoder: z -> dense 1,024 (linear) -> 1x1x1,024 -> deconv 128 k5, 64 k5, 32 k6 (stride 2,
 *   ReLU) -> deconv 3 k6 stride 2 (sigmoid) -> 64x64x3;
 * - loss per example: summed squared error over the 12,288 pixel channels plus
 *   max(KL, klTolerance * zSize) (free bits), averaged over the batch; Adam.
 *
 * Encoder and decoder are standard tfjs layers models, saved in the TensorFlow.js layers format
 * (`<dir>/encoder/model.json`, `<dir>/decoder/model.json`, each with its `weights.bin`), which
 * `tf.loadLayersModel` reads in a browser.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fileHandler } from "./backend/layers_io.ts";

/** Side of the square input frame. */
export const VAE_IMAGE_SIZE = 64;
/** Channels of the input frame (RGB). */
export const VAE_CHANNELS = 3;

/** Options of {@linkcode ConvVAE}. */
export interface ConvVAEOptions {
  /** Latent size; default 32. */
  zSize?: number;
  /** Free bits per latent dimension: the KL term is max(KL, klTolerance * zSize). Default 0.5. */
  klTolerance?: number;
  /** Adam learning rate; default 1e-4. */
  learningRate?: number;
  /** Seed of the weight initialisation and of the reparameterisation noise; default 0. */
  seed?: number;
}

/** Losses of one training step, averaged over the batch. */
export interface VAELosses {
  /** Total loss that was minimised: reconstruction + clamped KL. */
  loss: number;
  /** Summed squared error per image. */
  reconstruction: number;
  /** KL per image after the free-bits clamp. */
  kl: number;
}

/** The latent distribution of a batch of frames. */
export interface VAEEncoding {
  /** Means, [batch, zSize]. */
  mu: tf.Tensor2D;
  /** Log variances, [batch, zSize]. */
  logvar: tf.Tensor2D;
}

const ENCODER_FILTERS = [32, 64, 128, 256];
const DECODER_LAYERS: { filters: number; kernel: number }[] = [
  { filters: 128, kernel: 5 },
  { filters: 64, kernel: 5 },
  { filters: 32, kernel: 6 },
  { filters: VAE_CHANNELS, kernel: 6 },
];

function buildEncoder(zSize: number, seed: number): tf.LayersModel {
  const input = tf.input({ shape: [VAE_IMAGE_SIZE, VAE_IMAGE_SIZE, VAE_CHANNELS], name: "frame" });
  let h: tf.SymbolicTensor = input;
  ENCODER_FILTERS.forEach((filters, i) => {
    h = tf.layers.conv2d({
      filters,
      kernelSize: 4,
      strides: 2,
      padding: "valid",
      activation: "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
      name: `enc_conv${i + 1}`,
    }).apply(h) as tf.SymbolicTensor;
  });
  h = tf.layers.flatten({ name: "enc_flatten" }).apply(h) as tf.SymbolicTensor;
  const dense = (name: string, offset: number) =>
    tf.layers.dense({
      units: zSize,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + offset }),
      name,
    }).apply(h) as tf.SymbolicTensor;
  return tf.model({
    inputs: input,
    outputs: [dense("enc_mu", 10), dense("enc_logvar", 11)],
    name: "vae_encoder",
  });
}

function buildDecoder(zSize: number, seed: number): tf.LayersModel {
  const input = tf.input({ shape: [zSize], name: "z" });
  let h = tf.layers.dense({
    units: 1024,
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 20 }),
    name: "dec_dense",
  }).apply(input) as tf.SymbolicTensor;
  h = tf.layers.reshape({ targetShape: [1, 1, 1024], name: "dec_reshape" }).apply(
    h,
  ) as tf.SymbolicTensor;
  DECODER_LAYERS.forEach(({ filters, kernel }, i) => {
    h = tf.layers.conv2dTranspose({
      filters,
      kernelSize: kernel,
      strides: 2,
      padding: "valid",
      activation: i === DECODER_LAYERS.length - 1 ? "sigmoid" : "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 21 + i }),
      name: `dec_deconv${i + 1}`,
    }).apply(h) as tf.SymbolicTensor;
  });
  return tf.model({ inputs: input, outputs: h, name: "vae_decoder" });
}

function checkFrames(x: tf.Tensor, action: string): void {
  const [, h, w, c] = x.shape;
  if (x.rank !== 4 || h !== VAE_IMAGE_SIZE || w !== VAE_IMAGE_SIZE || c !== VAE_CHANNELS) {
    throw new RangeError(
      `Cannot ${action}: expected frames of shape [batch, 64, 64, 3], got [${x.shape}]`,
    );
  }
}

/**
 * The convolutional VAE of World Models.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { initBackend } from "./backend/mod.ts";
 * import { ConvVAE } from "./vae.ts";
 * await initBackend({ backend: "wasm" });
 * const vae = new ConvVAE({ seed: 1 });
 * const frames = tf.randomUniform([8, 64, 64, 3]) as tf.Tensor4D;
 * const losses = vae.trainStep(frames);
 * const { mu, logvar } = vae.encode(frames);
 * ```
 */
export class ConvVAE {
  /** Frames -> [mu, logvar]. */
  readonly encoder: tf.LayersModel;
  /** z -> frames. */
  readonly decoder: tf.LayersModel;
  /** Latent size. */
  readonly zSize: number;
  /** Free bits per latent dimension. */
  readonly klTolerance: number;
  /** Adam learning rate. */
  readonly learningRate: number;
  /** Seed of initialisation and noise. */
  readonly seed: number;
  #optimizer: tf.Optimizer;
  #step = 0;

  /** Builds a freshly initialised VAE (deterministic for a given seed). */
  constructor(options: ConvVAEOptions = {}) {
    this.zSize = options.zSize ?? 32;
    this.klTolerance = options.klTolerance ?? 0.5;
    this.learningRate = options.learningRate ?? 1e-4;
    this.seed = options.seed ?? 0;
    if (!Number.isInteger(this.zSize) || this.zSize < 1) {
      throw new RangeError(`Cannot build VAE: zSize must be a positive integer, got ${this.zSize}`);
    }
    this.encoder = buildEncoder(this.zSize, this.seed * 1000);
    this.decoder = buildDecoder(this.zSize, this.seed * 1000);
    this.#optimizer = tf.train.adam(this.learningRate);
  }

  /** Number of training steps taken so far. */
  get step(): number {
    return this.#step;
  }

  /** Number of trainable parameters (4,348,547 for zSize 32). */
  get parameterCount(): number {
    return this.encoder.countParams() + this.decoder.countParams();
  }

  /** Encodes frames (floats in [0, 1], [batch, 64, 64, 3]) to the latent mean and log variance. */
  encode(x: tf.Tensor4D): VAEEncoding {
    checkFrames(x, "encode frames");
    // apply() runs the whole batch eagerly; predict() would copy it into slices first.
    const [mu, logvar] = tf.tidy(() => this.encoder.apply(x) as tf.Tensor2D[]);
    return { mu, logvar };
  }

  /** Decodes latents ([batch, zSize]) to frames in [0, 1]. */
  decode(z: tf.Tensor2D): tf.Tensor4D {
    if (z.rank !== 2 || z.shape[1] !== this.zSize) {
      throw new RangeError(
        `Cannot decode: expected latents of shape [batch, ${this.zSize}], got [${z.shape}]`,
      );
    }
    return tf.tidy(() => this.decoder.apply(z) as tf.Tensor4D);
  }

  /** Decodes the latent means of `x`: the deterministic reconstruction. */
  reconstruct(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.decode(this.encode(x).mu));
  }

  /**
   * The loss terms for a batch, with reparameterisation noise `eps` ([batch, zSize]).
   * Returns scalar tensors; differentiable with respect to the weights.
   */
  lossTerms(x: tf.Tensor4D, eps: tf.Tensor2D): { loss: tf.Scalar; rec: tf.Scalar; kl: tf.Scalar } {
    return tf.tidy(() => {
      const [mu, logvar] = this.encoder.apply(x, { training: true }) as tf.Tensor2D[];
      const z = tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), eps));
      const y = this.decoder.apply(z, { training: true }) as tf.Tensor4D;
      const rec = tf.mean(tf.sum(tf.squaredDifference(y, x), [1, 2, 3]));
      const klPerExample = tf.mul(
        -0.5,
        tf.sum(tf.sub(tf.add(1, logvar), tf.add(tf.square(mu), tf.exp(logvar))), 1),
      );
      const kl = tf.mean(tf.maximum(klPerExample, this.klTolerance * this.zSize));
      return { loss: tf.add(rec, kl) as tf.Scalar, rec: rec as tf.Scalar, kl: kl as tf.Scalar };
    });
  }

  /** One Adam step on a batch of frames (floats in [0, 1], [batch, 64, 64, 3]). */
  trainStep(x: tf.Tensor4D): VAELosses {
    const terms = this.#minimizeStep(x);
    const values = {
      loss: terms[0].dataSync()[0],
      reconstruction: terms[1].dataSync()[0],
      kl: terms[2].dataSync()[0],
    };
    tf.dispose(terms);
    return values;
  }

  /**
   * {@linkcode trainStep}, reading the losses asynchronously: the same step on any backend, and
   * the one that works on `webgpu` (which cannot read a tensor synchronously).
   */
  async trainStepAsync(x: tf.Tensor4D): Promise<VAELosses> {
    const terms = this.#minimizeStep(x);
    try {
      const [loss, reconstruction, kl] = await Promise.all(terms.map((t) => t.data()));
      return { loss: loss[0], reconstruction: reconstruction[0], kl: kl[0] };
    } finally {
      tf.dispose(terms);
    }
  }

  /** The Adam step of {@linkcode trainStep}; returns the loss, reconstruction and KL scalars. */
  #minimizeStep(x: tf.Tensor4D): tf.Scalar[] {
    checkFrames(x, "train VAE");
    const batch = x.shape[0];
    // A fresh, seeded draw per step keeps runs reproducible.
    const eps = this.nextNoise(batch);
    let rec: tf.Scalar | undefined;
    let kl: tf.Scalar | undefined;
    const loss = this.#optimizer.minimize(
      () => {
        const terms = this.lossTerms(x, eps);
        rec = tf.keep(terms.rec);
        kl = tf.keep(terms.kl);
        return terms.loss;
      },
      true,
      this.#trainableVariables(),
    ) as tf.Scalar;
    eps.dispose();
    this.#step++;
    return [loss, rec!, kl!];
  }

  /** The reparameterisation noise of the next training step, [batch, zSize] (seeded by step). */
  nextNoise(batch: number): tf.Tensor2D {
    return tf.randomNormal([batch, this.zSize], 0, 1, "float32", this.#noiseSeed()) as tf.Tensor2D;
  }

  /**
   * Gradients of the loss for a batch with noise `eps`, in the order of
   * {@linkcode ConvVAE.trainableWeights}, without updating anything (data-parallel training
   * computes these in Workers).
   */
  gradients(x: tf.Tensor4D, eps: tf.Tensor2D): { grads: tf.Tensor[]; losses: VAELosses } {
    const { grads, terms } = this.#gradientTensors(x, eps);
    const losses = {
      loss: terms[0].dataSync()[0],
      reconstruction: terms[1].dataSync()[0],
      kl: terms[2].dataSync()[0],
    };
    tf.dispose(terms);
    return { grads, losses };
  }

  /** {@linkcode gradients}, reading the losses asynchronously (the way that works on `webgpu`). */
  async gradientsAsync(
    x: tf.Tensor4D,
    eps: tf.Tensor2D,
  ): Promise<{ grads: tf.Tensor[]; losses: VAELosses }> {
    const { grads, terms } = this.#gradientTensors(x, eps);
    try {
      const [loss, reconstruction, kl] = await Promise.all(terms.map((t) => t.data()));
      return { grads, losses: { loss: loss[0], reconstruction: reconstruction[0], kl: kl[0] } };
    } finally {
      tf.dispose(terms);
    }
  }

  /** The gradients of {@linkcode gradients}, and the loss, reconstruction and KL scalars. */
  #gradientTensors(x: tf.Tensor4D, eps: tf.Tensor2D): { grads: tf.Tensor[]; terms: tf.Scalar[] } {
    checkFrames(x, "compute VAE gradients");
    const variables = this.#trainableVariables();
    let rec: tf.Scalar | undefined;
    let kl: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const terms = this.lossTerms(x, eps);
      rec = tf.keep(terms.rec);
      kl = tf.keep(terms.kl);
      return terms.loss;
    }, variables);
    return { grads: variables.map((v) => grads[v.name]), terms: [value, rec!, kl!] };
  }

  /** One Adam step with given gradients (order of {@linkcode ConvVAE.trainableWeights}). */
  applyGradients(grads: tf.Tensor[]): void {
    const variables = this.#trainableVariables();
    if (grads.length !== variables.length) {
      throw new RangeError(
        `Cannot apply VAE gradients: got ${grads.length} tensors, expected ${variables.length}`,
      );
    }
    const named: tf.NamedTensorMap = {};
    variables.forEach((v, i) => named[v.name] = grads[i]);
    this.#optimizer.applyGradients(named);
    this.#step++;
  }

  /** The trainable weights (encoder then decoder), as the optimizer sees them. */
  get trainableWeights(): tf.Variable[] {
    return this.#trainableVariables();
  }

  /** Saves the encoder and decoder to `dir/encoder/` and `dir/decoder/` (layers format). */
  async save(dir: string): Promise<void> {
    const metadata = {
      ditto: { kind: "ConvVAE", zSize: this.zSize, klTolerance: this.klTolerance },
    };
    await this.encoder.save(fileHandler(`${dir}/encoder`, { metadata }));
    await this.decoder.save(fileHandler(`${dir}/decoder`, { metadata }));
  }

  /**
   * Loads a VAE saved by {@linkcode ConvVAE.save}. The latent size is read from the files;
   * a file whose layers or weight shapes differ from the ConvVAE architecture is rejected
   * with a RangeError naming the first mismatch.
   */
  static async load(dir: string, options: ConvVAEOptions = {}): Promise<ConvVAE> {
    const encoder = await tf.loadLayersModel(fileHandler(`${dir}/encoder`));
    const decoder = await tf.loadLayersModel(fileHandler(`${dir}/decoder`));
    try {
      const outputs = encoder.outputs;
      const zSize = outputs.length === 2 ? outputs[0].shape[1] : null;
      if (typeof zSize !== "number") {
        throw new RangeError(
          `Cannot load VAE from ${dir}: the encoder must output [mu, logvar], got ${outputs.length} output(s) of shape ${
            outputs.map((o) => `[${o.shape}]`).join(", ")
          }`,
        );
      }
      if (options.zSize !== undefined && options.zSize !== zSize) {
        throw new RangeError(
          `Cannot load VAE from ${dir}: it has zSize ${zSize}, expected ${options.zSize}`,
        );
      }
      const vae = new ConvVAE({ ...options, zSize });
      copyWeights(encoder, vae.encoder, `${dir}/encoder`);
      copyWeights(decoder, vae.decoder, `${dir}/decoder`);
      return vae;
    } finally {
      encoder.dispose();
      decoder.dispose();
    }
  }

  /** Frees the weights and optimizer state. */
  dispose(): void {
    this.encoder.dispose();
    this.decoder.dispose();
    this.#optimizer.dispose();
  }

  #trainableVariables(): tf.Variable[] {
    return [...this.encoder.trainableWeights, ...this.decoder.trainableWeights].map(
      (w) => (w as unknown as { read(): tf.Variable }).read(),
    );
  }

  #noiseSeed(): number {
    return (this.seed * 1_000_003 + this.#step * 7_919 + 17) % 2_147_483_647;
  }
}

function weightName(weight: tf.LayerVariable): string {
  // Variable names get a uniquifying suffix; the original name is the one in model.json.
  return (weight as unknown as { originalName?: string }).originalName ?? weight.name;
}

function copyWeights(from: tf.LayersModel, to: tf.LayersModel, where: string): void {
  const source = from.weights;
  const target = to.weights;
  if (source.length !== target.length) {
    throw new RangeError(
      `Cannot load VAE from ${where}: it has ${source.length} weight tensors, expected ${target.length}`,
    );
  }
  for (let i = 0; i < target.length; i++) {
    const got = source[i].shape;
    const want = target[i].shape;
    if (got.length !== want.length || got.some((d, j) => d !== want[j])) {
      throw new RangeError(
        `Cannot load VAE from ${where}: weight ${
          weightName(source[i])
        } has shape [${got}], expected [${want}]`,
      );
    }
  }
  to.setWeights(from.getWeights());
}

/**
 * Converts uint8 RGB frames ([batch, 64, 64, 3] bytes, row-major) to VAE input floats in [0, 1].
 */
export function framesToTensor(frames: Uint8Array, batch: number): tf.Tensor4D {
  return tf.tensor4d(framesToFloats(frames, batch), [
    batch,
    VAE_IMAGE_SIZE,
    VAE_IMAGE_SIZE,
    VAE_CHANNELS,
  ]);
}

/** The floats of {@linkcode framesToTensor}, as a plain array. */
export function framesToFloats(frames: Uint8Array, batch: number): Float32Array<ArrayBuffer> {
  const expected = batch * VAE_IMAGE_SIZE * VAE_IMAGE_SIZE * VAE_CHANNELS;
  if (frames.length !== expected) {
    throw new RangeError(
      `Cannot convert frames: expected ${expected} bytes for ${batch} frames, got ${frames.length}`,
    );
  }
  const floats = new Float32Array(expected);
  for (let i = 0; i < expected; i++) floats[i] = frames[i] / 255;
  return floats;
}
