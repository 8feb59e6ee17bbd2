import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/models/backend/mod.ts";
import { ConvVAE } from "../../src/models/vae.ts";
import {
  SHARD_FRAMES,
  shardBounds,
  VaeEngine,
  VaeTrainer,
  type VaeTrainerOptions,
  vaeWeightShapes,
} from "../../src/models/vae_engine/mod.ts";

const FRAME = 64 * 64 * 3;

/** Deterministic values in [lo, hi). */
function noise(n: number, seed: number, lo = 0, hi = 1): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = lo + (s >>> 8) / (1 << 24) * (hi - lo);
  }
  return out;
}

/** A freshly initialised VAE with non-zero biases, its weights as arrays. */
function vaeWeights(zSize: number, seed: number): Float32Array[] {
  const vae = new ConvVAE({ seed, zSize });
  try {
    return vae.trainableWeights.map((v, i) =>
      v.shape.length === 1 ? noise(v.size, seed + i, -0.1, 0.1) : v.dataSync() as Float32Array
    );
  } finally {
    vae.dispose();
  }
}

/** ||got - want|| / ||want||. */
function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / den);
}

for (
  const { zSize, klTolerance, batch } of [
    { zSize: 32, klTolerance: 0.5, batch: 3 },
    // Latents that do not fill a register block, and a KL above its floor (its gradient flows).
    { zSize: 5, klTolerance: 0, batch: 5 },
  ]
) {
  Deno.test(`VaeEngine: loss and all 22 gradients equal tfjs autodiff (zSize ${zSize}, kl_tolerance ${klTolerance}, batch ${batch})`, async () => {
    await initBackend({ backend: "wasm" });
    const weights = vaeWeights(zSize, 3);
    const vae = new ConvVAE({ zSize, klTolerance });
    vae.trainableWeights.forEach((v, i) => v.assign(tf.tensor(weights[i], v.shape)));
    const xs = noise(batch * FRAME, 5), es = noise(batch * zSize, 7, -2, 2);
    const x = tf.tensor4d(xs, [batch, 64, 64, 3]), eps = tf.tensor2d(es, [batch, zSize]);
    try {
      const want = vae.gradients(x, eps);
      const engine = new VaeEngine(zSize, klTolerance);
      engine.setWeights(weights);
      const got = engine.gradients(xs, es, batch, 1 / batch);
      const rec = got.reconstruction / batch, kl = got.kl / batch;
      assert.ok(Math.abs(rec - want.losses.reconstruction) < 1e-5 * want.losses.reconstruction);
      assert.ok(Math.abs(kl - want.losses.kl) <= 1e-5 * Math.max(1, want.losses.kl));
      if (klTolerance === 0) assert.ok(want.losses.kl > 0);
      const shapes = vaeWeightShapes(zSize);
      assert.equal(got.grads.length, 22);
      want.grads.forEach((g, i) => {
        assert.deepEqual(g.shape, shapes[i]);
        const error = relativeError(got.grads[i], g.dataSync());
        assert.ok(error < 1e-4, `gradient ${i} [${shapes[i]}]: relative error ${error}`);
      });
      tf.dispose(want.grads);
    } finally {
      tf.dispose([x, eps]);
      vae.dispose();
    }
  });
}

Deno.test("VaeEngine rejects weights of another shape and frames of another size", () => {
  const engine = new VaeEngine(8, 0.5);
  const weights = vaeWeightShapes(8).map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
  assert.throws(
    () => engine.gradients(new Float32Array(FRAME), new Float32Array(8), 1, 1),
    /no weights/,
  );
  assert.throws(() => engine.setWeights(weights.slice(1)), /got 21 tensors, expected 22/);
  weights[3] = new Float32Array(3);
  assert.throws(() => engine.setWeights(weights), /tensor 3 has 3 values, expected 64 \[64\]/);
  weights[3] = new Float32Array(64);
  engine.setWeights(weights);
  assert.throws(
    () => engine.gradients(new Float32Array(FRAME), new Float32Array(8), 2, 1),
    /expected 24576 floats for 2 frames, got 12288/,
  );
});

const OPTIONS: VaeTrainerOptions = { zSize: 8, klTolerance: 0.5, learningRate: 1e-3 };

async function train(
  trainer: VaeTrainer,
  batch: number,
  steps: number[],
): Promise<number[]> {
  const losses: number[] = [];
  for (const step of steps) {
    const x = noise(batch * FRAME, 100 + step),
      eps = noise(batch * OPTIONS.zSize, 200 + step, -1, 1);
    losses.push((await trainer.trainStep(x, eps, batch)).loss);
  }
  return losses;
}

function stateBytes(trainer: VaeTrainer): Uint8Array[] {
  const { weights, m, v } = trainer.readState();
  return [...weights, ...m, ...v].map((a) => new Uint8Array(a.buffer));
}

Deno.test("VaeTrainer: a few Adam steps on one batch decrease the loss", async () => {
  await initBackend({ backend: "cpu" });
  const trainer = await VaeTrainer.create(vaeWeights(8, 1), OPTIONS);
  try {
    const x = noise(6 * FRAME, 9), eps = noise(6 * 8, 10, -1, 1);
    const losses: number[] = [];
    for (let i = 0; i < 6; i++) losses.push((await trainer.trainStep(x, eps, 6)).loss);
    assert.equal(trainer.step, 6);
    assert.ok(losses.every(Number.isFinite));
    // Noise frames: the loss falls slowly, but at every step.
    losses.slice(1).forEach((l, i) => assert.ok(l < losses[i], `losses ${losses}`));
  } finally {
    trainer.close();
  }
});

Deno.test("VaeTrainer resumed from its state continues with the same bytes as without a stop", async () => {
  await initBackend({ backend: "cpu" });
  const weights = vaeWeights(8, 2);
  const straight = await VaeTrainer.create(weights, OPTIONS);
  const first = await VaeTrainer.create(weights, OPTIONS);
  const second = await VaeTrainer.create(vaeWeights(8, 9), OPTIONS);
  try {
    const want = await train(straight, 5, [0, 1, 2, 3]);
    const before = await train(first, 5, [0, 1]);
    second.restore(first.readState(), first.step);
    const after = await train(second, 5, [2, 3]);
    assert.deepEqual([...before, ...after], want);
    assert.equal(second.step, 4);
    assert.deepEqual(stateBytes(second), stateBytes(straight));
    assert.throws(
      () => second.restore({ ...first.readState(), m: [] }, 1),
      /arrays do not fit the network/,
    );
  } finally {
    straight.close();
    first.close();
    second.close();
  }
});

Deno.test("VaeTrainer with 3 threads gives the same bytes as with 1 (fixed shards)", async () => {
  await initBackend({ backend: "cpu" });
  const batch = 2 * SHARD_FRAMES + 3;
  assert.deepEqual(shardBounds(batch), [0, 34, 69, 103]);
  const weights = vaeWeights(8, 4);
  const one = await VaeTrainer.create(weights, OPTIONS);
  const three = await VaeTrainer.create(weights, { ...OPTIONS, workers: 3 });
  try {
    assert.deepEqual(await train(three, batch, [0, 1]), await train(one, batch, [0, 1]));
    assert.deepEqual(stateBytes(three), stateBytes(one));
  } finally {
    one.close();
    three.close();
  }
});
