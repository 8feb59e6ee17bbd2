/**
 * The `webgpu` backend against the reference backends on small batches: VAE encoding and the
 * MDN-RNN's tfjs engine against `cpu`; the VAE's gradients and training step against `wasm`,
 * whose kernels are checked against `cpu` in wasm_kernels_test.ts (`cpu` itself takes minutes
 * for one VAE training step here). Skipped, saying why, where Deno finds no WebGPU adapter
 * (Mesa's llvmpipe software adapter counts as one; on it the VAE test takes about a minute).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, webGpuAdapter } from "../../../src/models/backend/mod.ts";
import { ConvVAE } from "../../../src/models/vae.ts";
import { MdnRnn } from "../../../src/models/mdn_rnn.ts";
import { WEIGHT_NAMES } from "../../../src/models/mdn_rnn_tfjs.ts";
import { createRng } from "../../../src/random/mod.ts";

let skip = "";
try {
  const adapter = await webGpuAdapter();
  console.log(`webgpu tests on adapter: ${adapter.description || adapter.device}`);
} catch (error) {
  skip = ` (skipped: ${(error as Error).message})`;
  console.log(`webgpu tests skipped: ${(error as Error).message}`);
}

/** ||a - b|| / ||b||. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / Math.max(n, 1e-30));
}

function closeTo(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)),
    `${what}: webgpu ${actual}, cpu ${expected}`,
  );
}

/** `batch` frames of seeded noise in [0, 1]. */
function frames(batch: number): tf.Tensor4D {
  const rng = createRng(3);
  const data = Float32Array.from({ length: batch * 64 * 64 * 3 }, () => rng.nextFloat());
  return tf.tensor4d(data, [batch, 64, 64, 3]);
}

/** On `backend`: the VAE's encoding of two frames. */
async function encodeOn(backend: "cpu" | "webgpu"): Promise<Float32Array[]> {
  await initBackend({ backend });
  const vae = new ConvVAE({ seed: 5 });
  const x = frames(2);
  const { mu, logvar } = vae.encode(x);
  const out = [await mu.data(), await logvar.data()] as Float32Array[];
  tf.dispose([x, mu, logvar]);
  vae.dispose();
  return out;
}

Deno.test({
  name: `webgpu: the VAE encodes like it does on cpu${skip}`,
  ignore: skip !== "",
  async fn() {
    const cpu = await encodeOn("cpu");
    const gpu = await encodeOn("webgpu");
    assert.ok(relativeError(gpu[0], cpu[0]) < 1e-4, "mu");
    assert.ok(relativeError(gpu[1], cpu[1]) < 1e-4, "logvar");
    await initBackend({ backend: "cpu" });
  },
});

/** On `backend`: the VAE's gradients for fixed noise, then one training step, on one frame. */
async function trainOn(backend: "wasm" | "webgpu") {
  await initBackend({ backend });
  const vae = new ConvVAE({ seed: 5 });
  const x = frames(1);
  const eps = tf.tensor2d(Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)), [1, 32]);
  const { grads } = tf.variableGrads(() => vae.lossTerms(x, eps).loss, vae.trainableWeights);
  const gradArrays = await Promise.all(
    vae.trainableWeights.map((v) => grads[v.name].data() as Promise<Float32Array>),
  );
  const losses = await vae.trainStepAsync(x);
  const weights = await Promise.all(
    vae.trainableWeights.map((v) => v.data() as Promise<Float32Array>),
  );
  tf.dispose([x, eps, ...Object.values(grads)]);
  vae.dispose();
  return { grads: gradArrays, losses, weights };
}

Deno.test({
  name: `webgpu: the VAE's gradients and training step match wasm's${skip}`,
  ignore: skip !== "",
  async fn() {
    const ref = await trainOn("wasm");
    const gpu = await trainOn("webgpu");
    assert.equal(gpu.grads.length, ref.grads.length);
    gpu.grads.forEach((g, i) => {
      const error = relativeError(g, ref.grads[i]);
      assert.ok(error < 1e-3, `gradient ${i}: relative error ${error}`);
    });
    for (const key of ["loss", "reconstruction", "kl"] as const) {
      closeTo(gpu.losses[key], ref.losses[key], 1e-4, key);
    }
    gpu.weights.forEach((w, i) => {
      const error = relativeError(w, ref.weights[i]);
      assert.ok(error < 1e-4, `weight ${i} after the step: relative error ${error}`);
    });
    await initBackend({ backend: "cpu" });
  },
});

/** On `backend`: two Adam steps of a small MDN-RNN on the tfjs engine; losses and weights. */
async function rnnOn(backend: "cpu" | "webgpu") {
  await initBackend({ backend });
  const config = { zSize: 4, hidden: 16, mixtures: 3, rewardHead: true };
  const rnn = new MdnRnn(config, { seed: 2, engine: "tfjs" });
  const rng = createRng(4);
  const B = 3, L = 9;
  const seqs = {
    z: Float32Array.from({ length: B * L * 4 }, () => rng.normal()),
    action: Float32Array.from({ length: B * L * 3 }, () => rng.nextFloat() * 2 - 1),
    reward: Float32Array.from({ length: B * L }, () => (rng.nextFloat() < 0.5 ? 1 : 0)),
    batch: B,
    length: L,
  };
  const losses = [await rnn.trainStepAsync(seqs), await rnn.trainStepAsync(seqs)];
  const weights = WEIGHT_NAMES.map((k) => Float32Array.from(rnn.weights[k]));
  await rnn.close();
  return { losses, weights };
}

Deno.test({
  name: `webgpu: the MDN-RNN's tfjs engine trains like it does on cpu${skip}`,
  ignore: skip !== "",
  async fn() {
    const cpu = await rnnOn("cpu");
    const gpu = await rnnOn("webgpu");
    cpu.losses.forEach((l, i) => {
      closeTo(gpu.losses[i].loss, l.loss, 1e-4, `loss ${i}`);
      closeTo(gpu.losses[i].nll, l.nll, 1e-4, `nll ${i}`);
      closeTo(gpu.losses[i].bce, l.bce, 1e-4, `bce ${i}`);
    });
    // The second loss differs from the first: the step moved the weights on the GPU too.
    assert.notEqual(gpu.losses[1].loss, gpu.losses[0].loss);
    gpu.weights.forEach((w, i) => {
      const error = relativeError(w, cpu.weights[i]);
      assert.ok(error < 1e-4, `${WEIGHT_NAMES[i]}: relative error ${error}`);
    });
    await initBackend({ backend: "cpu" });
  },
});

Deno.test("webgpu: initBackend records the adapter it runs on, or says why there is none", async () => {
  if (skip) {
    await assert.rejects(() => initBackend({ backend: "webgpu" }), /Cannot use the 'webgpu'/);
    return;
  }
  const info = await initBackend({ backend: "webgpu" });
  assert.equal(tf.getBackend(), "webgpu");
  assert.equal(info.package, "@tensorflow/tfjs-backend-webgpu");
  assert.equal(info.version, "4.22.0");
  assert.equal(typeof info.adapter?.description, "string");
  // The description goes into run.json.
  assert.deepEqual(JSON.parse(JSON.stringify(info)), info);
  await initBackend({ backend: "cpu" });
});
