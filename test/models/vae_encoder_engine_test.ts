import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/models/backend/mod.ts";
import { ConvVAE, framesToTensor } from "../../src/models/vae.ts";
import { encodeFrames, encoderEngine, encoderWeights } from "../../src/models/vae_encode.ts";
import { EncoderEngine, ParallelEncoder } from "../../src/models/vae_encoder_engine.ts";

const FRAME = 64 * 64 * 3;

/** Deterministic pseudo-random bytes: noise, the hardest input for a rounding comparison. */
function noiseFrames(batch: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(batch * FRAME);
  let s = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    bytes[i] = s >>> 24;
  }
  return bytes;
}

/** A VAE whose biases are non-zero too, so that the bias epilogue is exercised. */
function vaeWithBiases(seed: number): ConvVAE {
  const vae = new ConvVAE({ seed });
  const weights = vae.encoder.getWeights().map((w, i) =>
    i % 2 === 1 ? tf.randomUniform(w.shape, -0.2, 0.2, "float32", seed + i) : w
  );
  vae.encoder.setWeights(weights);
  return vae;
}

function maxRelativeError(got: Float32Array, want: Float32Array): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / scale;
}

Deno.test("EncoderEngine.encode() equals the tfjs encoder on the cpu backend up to rounding", async () => {
  await initBackend({ backend: "cpu" });
  const vae = vaeWithBiases(4);
  try {
    // 5 frames: not a multiple of the 4-row panels, so padded rows are exercised too.
    const frames = noiseFrames(5, 1);
    const x = framesToTensor(frames, 5);
    const want = vae.encode(x);
    const got = encoderEngine(vae).encode(frames, 5);
    assert.equal(got.mu.length, 5 * 32);
    assert.ok(maxRelativeError(got.mu, want.mu.dataSync() as Float32Array) < 1e-5);
    assert.ok(maxRelativeError(got.logvar, want.logvar.dataSync() as Float32Array) < 1e-5);
    tf.dispose([x, want.mu, want.logvar]);
  } finally {
    vae.dispose();
  }
});

Deno.test("EncoderEngine handles a latent size that does not fill a register block", async () => {
  await initBackend({ backend: "wasm" });
  const vae = new ConvVAE({ zSize: 5, seed: 8 });
  try {
    const frames = noiseFrames(3, 5);
    const x = framesToTensor(frames, 3);
    const want = vae.encode(x);
    const got = encodeFrames(vae, frames, 3);
    assert.equal(got.logvar.length, 15);
    assert.ok(maxRelativeError(got.mu, want.mu.dataSync() as Float32Array) < 1e-5);
    assert.ok(maxRelativeError(got.logvar, want.logvar.dataSync() as Float32Array) < 1e-5);
    tf.dispose([x, want.mu, want.logvar]);
  } finally {
    vae.dispose();
  }
});

Deno.test("EncoderEngine gives each frame the same bytes whatever the batch it is in", async () => {
  await initBackend({ backend: "wasm" });
  const vae = vaeWithBiases(5);
  try {
    const engine = encoderEngine(vae);
    const frames = noiseFrames(7, 2);
    const batched = engine.encode(frames, 7);
    for (const i of [0, 3, 6]) {
      const single = engine.encode(frames.slice(i * FRAME, (i + 1) * FRAME), 1);
      assert.deepEqual(single.mu, batched.mu.slice(i * 32, (i + 1) * 32));
      assert.deepEqual(single.logvar, batched.logvar.slice(i * 32, (i + 1) * 32));
    }
    assert.deepEqual(engine.encode(new Uint8Array(0), 0).mu.length, 0);
    assert.throws(() => engine.encode(new Uint8Array(FRAME + 1), 1), {
      name: "RangeError",
      message: /Cannot encode frames: expected 12288 bytes for 1 frames of 64x64x3, got 12289/,
    });
  } finally {
    vae.dispose();
  }
});

Deno.test("EncoderEngine.fromWeights() rejects weights of the wrong shape", () => {
  const conv = (cin: number, cout: number) => ({
    kernel: new Float32Array(16 * cin * cout),
    bias: new Float32Array(cout),
  });
  const head = { kernel: new Float32Array(1024 * 32), bias: new Float32Array(32) };
  const convs = [conv(3, 32), conv(32, 64), conv(64, 128), conv(128, 256)];
  assert.throws(
    () =>
      EncoderEngine.fromWeights({
        convs: [conv(3, 32), ...convs.slice(1, 3)],
        mu: head,
        logvar: head,
      }),
    { name: "RangeError", message: /expected 4 convolutions/ },
  );
  assert.throws(
    () =>
      EncoderEngine.fromWeights({
        convs: [conv(3, 32), conv(16, 64), ...convs.slice(2)],
        mu: head,
        logvar: head,
      }),
    { name: "RangeError", message: /convolution 2 has 16384 weights, expected 4x4x32x64/ },
  );
  assert.equal(EncoderEngine.fromWeights({ convs, mu: head, logvar: head }).zSize, 32);
});

Deno.test("encodeFrames() follows the weights through a training step", async () => {
  await initBackend({ backend: "wasm" });
  const vae = vaeWithBiases(6);
  try {
    const frames = noiseFrames(4, 3);
    const before = encodeFrames(vae, frames, 4);
    const x = framesToTensor(frames, 4);
    vae.trainStep(x);
    const after = encodeFrames(vae, frames, 4);
    assert.notDeepEqual(after.mu, before.mu);
    const want = vae.encode(x);
    assert.ok(maxRelativeError(after.mu, want.mu.dataSync() as Float32Array) < 1e-5);
    tf.dispose([x, want.mu, want.logvar]);
  } finally {
    vae.dispose();
  }
});

Deno.test("ParallelEncoder with 2 workers equals one engine bit for bit, also for concurrent calls", async () => {
  await initBackend({ backend: "wasm" });
  const vae = vaeWithBiases(7);
  const weights = encoderWeights(vae);
  const parallel = await ParallelEncoder.create(weights, { workers: 2 });
  try {
    const frames = noiseFrames(9, 4);
    const want = EncoderEngine.fromWeights(weights).encode(frames, 9);
    const got = await parallel.encode(frames, 9);
    assert.deepEqual(got.mu, want.mu);
    assert.deepEqual(got.logvar, want.logvar);
    const one = await parallel.encode(frames.slice(0, FRAME), 1);
    assert.deepEqual(one.mu, want.mu.slice(0, 32));
    // Concurrent calls share the helper; each gets its own reply.
    const other = noiseFrames(5, 8);
    const [a, b] = await Promise.all([parallel.encode(frames, 9), parallel.encode(other, 5)]);
    assert.deepEqual(a.mu, want.mu);
    assert.deepEqual(b.mu, EncoderEngine.fromWeights(weights).encode(other, 5).mu);
  } finally {
    parallel.close();
    vae.dispose();
  }
});
