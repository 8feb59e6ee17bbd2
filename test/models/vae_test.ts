import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/models/backend/mod.ts";
import { ConvVAE, framesToTensor } from "../../src/models/vae.ts";

/** Frames with structure a VAE can learn: coloured stripes whose position varies by image. */
function stripeFrames(batch: number): tf.Tensor4D {
  const bytes = new Uint8Array(batch * 64 * 64 * 3);
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const road = Math.abs(x - 16 - 8 * n) < 10;
        const i = ((n * 64 + y) * 64 + x) * 3;
        bytes.set(road ? [101, 104, 106] : [101, 203, 228], i);
      }
    }
  }
  return framesToTensor(bytes, batch);
}

Deno.test("ConvVAE has the paper's 4,348,547 parameters and the documented shapes", async () => {
  await initBackend({ backend: "wasm" });
  const vae = new ConvVAE();
  try {
    assert.equal(vae.parameterCount, 4_348_547);
    const x = stripeFrames(2);
    const { mu, logvar } = vae.encode(x);
    assert.deepEqual(mu.shape, [2, 32]);
    assert.deepEqual(logvar.shape, [2, 32]);
    const y = vae.decode(mu);
    assert.deepEqual(y.shape, [2, 64, 64, 3]);
    const values = y.dataSync();
    assert.ok(values.every((v) => v >= 0 && v <= 1), "sigmoid output stays in [0, 1]");
    assert.throws(() => vae.encode(tf.zeros([1, 32, 32, 3]) as tf.Tensor4D), {
      name: "RangeError",
      message: /Cannot encode frames: expected frames of shape \[batch, 64, 64, 3\]/,
    });
    tf.dispose([x, mu, logvar, y]);
  } finally {
    vae.dispose();
  }
});

Deno.test("ConvVAE.trainStep() lowers the loss on a tiny batch", async () => {
  await initBackend({ backend: "wasm" });
  const vae = new ConvVAE({ seed: 3, learningRate: 1e-3 });
  const x = stripeFrames(4);
  try {
    const first = vae.trainStep(x);
    let last = first;
    for (let i = 0; i < 14; i++) last = vae.trainStep(x);
    assert.equal(vae.step, 15);
    assert.ok(Number.isFinite(last.loss));
    assert.ok(
      last.reconstruction < 0.7 * first.reconstruction,
      `reconstruction ${first.reconstruction} -> ${last.reconstruction}`,
    );
    assert.ok(Math.abs(last.loss - (last.reconstruction + last.kl)) < 1e-2 * last.loss);
  } finally {
    x.dispose();
    vae.dispose();
  }
});

Deno.test("ConvVAE clamps the KL term at klTolerance * zSize (free bits)", async () => {
  await initBackend({ backend: "wasm" });
  const vae = new ConvVAE({ zSize: 8, klTolerance: 0.5 });
  const x = stripeFrames(2);
  const eps = tf.zeros([2, 8]) as tf.Tensor2D;
  try {
    // A fresh encoder gives a KL near 0, under the 0.5 * 8 = 4 nats of free bits.
    const small = vae.lossTerms(x, eps);
    assert.equal(small.kl.dataSync()[0], 4);
    // Shift every mean by 3 (and zero the kernel): KL = 0.5 * 8 * 9 = 36 per image.
    const muLayer = vae.encoder.getLayer("enc_mu");
    const [kernel] = muLayer.getWeights();
    muLayer.setWeights([tf.zerosLike(kernel), tf.fill([8], 3)]);
    const logvarLayer = vae.encoder.getLayer("enc_logvar");
    const [lvKernel] = logvarLayer.getWeights();
    logvarLayer.setWeights([tf.zerosLike(lvKernel), tf.zeros([8])]);
    const large = vae.lossTerms(x, eps);
    assert.ok(Math.abs(large.kl.dataSync()[0] - 36) < 1e-4);
    tf.dispose([small.loss, small.rec, small.kl, large.loss, large.rec, large.kl]);
  } finally {
    tf.dispose([x, eps]);
    vae.dispose();
  }
});

Deno.test("ConvVAE with the same seed trains to the same bytes", async () => {
  await initBackend({ backend: "wasm" });
  const x = stripeFrames(2);
  const runs = [0, 1].map(() => {
    const vae = new ConvVAE({ seed: 7 });
    vae.trainStep(x);
    const losses = vae.trainStep(x);
    const weights = vae.decoder.getLayer("dec_deconv4").getWeights()[0].dataSync().slice();
    vae.dispose();
    return { losses, weights };
  });
  assert.deepEqual(runs[0].losses, runs[1].losses);
  assert.deepEqual(runs[0].weights, runs[1].weights);
  x.dispose();
});

Deno.test("ConvVAE.save() writes layers-format files that ConvVAE.load() restores exactly", async () => {
  await initBackend({ backend: "wasm" });
  const dir = await Deno.makeTempDir({ prefix: "vae_test_" });
  const vae = new ConvVAE({ seed: 5, zSize: 16 });
  const x = stripeFrames(2);
  try {
    vae.trainStep(x);
    await vae.save(dir);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/encoder/model.json`));
    assert.equal(json.format, "layers-model");
    assert.deepEqual(json.weightsManifest[0].paths, ["weights.bin"]);
    // Plain tfjs can read the files (what a browser's tf.loadLayersModel does over HTTP).
    const plain = await tf.loadLayersModel(
      tf.io.fromMemory(
        json.modelTopology,
        json.weightsManifest[0].weights,
        (await Deno.readFile(`${dir}/encoder/weights.bin`)).buffer,
      ),
    );
    assert.equal(plain.outputs.length, 2);
    plain.dispose();
    const loaded = await ConvVAE.load(dir);
    assert.equal(loaded.zSize, 16);
    const a = vae.reconstruct(x).dataSync();
    const b = loaded.reconstruct(x).dataSync();
    assert.deepEqual(b, a);
    loaded.dispose();
  } finally {
    x.dispose();
    vae.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ConvVAE.load() rejects files of the wrong shape with a clear error", async () => {
  await initBackend({ backend: "wasm" });
  const dir = await Deno.makeTempDir({ prefix: "vae_test_" });
  const vae = new ConvVAE({ zSize: 16 });
  try {
    await vae.save(dir);
    await assert.rejects(() => ConvVAE.load(dir, { zSize: 32 }), {
      name: "RangeError",
      message: /Cannot load VAE from .*: it has zSize 16, expected 32/,
    });
    // An encoder with 16 filters in its first layer instead of 32.
    const input = tf.input({ shape: [64, 64, 3] });
    let h = tf.layers.conv2d({ filters: 16, kernelSize: 4, strides: 2, name: "enc_conv1" })
      .apply(input) as tf.SymbolicTensor;
    for (const [i, filters] of [64, 128, 256].entries()) {
      h = tf.layers.conv2d({ filters, kernelSize: 4, strides: 2, name: `enc_conv${i + 2}` })
        .apply(h) as tf.SymbolicTensor;
    }
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    const outputs = ["enc_mu", "enc_logvar"].map((name) =>
      tf.layers.dense({ units: 16, name }).apply(h) as tf.SymbolicTensor
    );
    const wrong = tf.model({ inputs: input, outputs });
    const { fileHandler } = await import("../../src/models/backend/layers_io.ts");
    await wrong.save(fileHandler(`${dir}/encoder`));
    wrong.dispose();
    await assert.rejects(() => ConvVAE.load(dir), {
      name: "RangeError",
      message:
        /Cannot load VAE from .*encoder: weight enc_conv1\/kernel has shape \[4,4,3,16\], expected \[4,4,3,32\]/,
    });
    await assert.rejects(() => ConvVAE.load(`${dir}/missing`), /Cannot load model from/);
  } finally {
    vae.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});
