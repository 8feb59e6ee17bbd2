import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/models/backend/mod.ts";
import { fileHandler } from "../../src/models/backend/layers_io.ts";
import { lstmSequence } from "../../src/models/lstm.ts";
import {
  MdnRnn,
  type MdnRnnConfig,
  type MdnRnnSequences,
  type MdnRnnWeights,
  type MixtureParams,
  sampleMixture,
} from "../../src/models/mdn_rnn.ts";
import { MdnRnnEngine } from "../../src/models/mdn_rnn_engine/mod.ts";
import { createRng } from "../../src/random/mod.ts";

// zSize 4: the SIMD mixture-loss kernel handles 4 latent dimensions per vector.
const SMALL: Partial<MdnRnnConfig> = {
  zSize: 4,
  actionSize: 2,
  hidden: 8,
  mixtures: 2,
  rewardHead: true,
};

function randomSequences(cfg: Partial<MdnRnnConfig>, batch: number, length: number, seed: number) {
  const rng = createRng(seed);
  const z = Float32Array.from({ length: batch * length * cfg.zSize! }, () => rng.normal());
  const action = Float32Array.from(
    { length: batch * length * cfg.actionSize! },
    () => rng.nextFloat() * 2 - 1,
  );
  const reward = Float32Array.from({ length: batch * length }, () => rng.nextFloat() < 0.3 ? 1 : 0);
  return { z, action, reward, batch, length } satisfies MdnRnnSequences;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("MdnRnn SIMD gradients equal tfjs autodiff on the wasm backend", async () => {
  await initBackend({ backend: "wasm" });
  const simd = new MdnRnn(SMALL, { seed: 1 });
  const ref = new MdnRnn(SMALL, { seed: 1, engine: "tfjs" });
  // Batch 5 is not a multiple of the kernels' 4-row block: the padding path is covered too.
  const seqs = randomSequences(SMALL, 5, 70, 2); // 5 x 69 steps: long-K products run in chunks
  const a = simd.computeGradients(seqs);
  const b = ref.computeGradients(seqs);
  assert.ok(Math.abs(a.nll - b.nll) < 1e-5, `nll ${a.nll} vs ${b.nll}`);
  assert.ok(Math.abs(a.bce - b.bce) < 1e-5, `bce ${a.bce} vs ${b.bce}`);
  for (const k of ["kernel", "recurrentKernel", "bias", "headKernel", "headBias"] as const) {
    const d = maxDiff(a.grads[k], b.grads[k]);
    const scale = Math.max(...b.grads[k].map(Math.abs));
    assert.ok(scale > 1e-4, `${k} gradient is trivial`);
    assert.ok(d < 1e-5 + 1e-4 * scale, `${k} gradient differs by ${d} (scale ${scale})`);
  }
});

Deno.test("MdnRnn NLL and BCE match a hand computation (JS and SIMD loss paths)", () => {
  // zSize 1 runs the plain-JS loss, zSize 4 the SIMD kernel; every dimension gets the same
  // mixture and target, so the mean NLL is the same.
  for (const zSize of [1, 4]) {
    const rnn = new MdnRnn({ zSize, actionSize: 1, hidden: 8, mixtures: 2, rewardHead: true });
    // A zero head kernel makes the head output its bias: a fixed, known mixture per dimension.
    const w = rnn.weights;
    const perDim = [0.3, -0.2, 0.5, -1.0, Math.log(0.8), Math.log(1.5)];
    const headBias = Float32Array.from([...Array(zSize).fill(perDim).flat(), 0.4]);
    rnn.setWeights({ ...w, headKernel: new Float32Array(w.headKernel.length), headBias });
    const zs = [0.1, 0.7, -0.4], rs = [0, 1, 1];
    const seqs = {
      z: Float32Array.from(zs.flatMap((v) => Array(zSize).fill(v))),
      action: Float32Array.from([0.5, -0.5, 0.2]),
      reward: Float32Array.from(rs),
      batch: 1,
      length: 3,
    };
    const pi = [Math.exp(0.3), Math.exp(-0.2)];
    const piSum = pi[0] + pi[1];
    const normal = (x: number, mu: number, s: number) =>
      Math.exp(-0.5 * ((x - mu) / s) ** 2) / (s * Math.sqrt(2 * Math.PI));
    let nll = 0, bce = 0;
    for (const t of [1, 2]) {
      const p = (pi[0] / piSum) * normal(zs[t], 0.5, 0.8) +
        (pi[1] / piSum) * normal(zs[t], -1, 1.5);
      nll -= Math.log(p) / 2;
      const q = 1 / (1 + Math.exp(-0.4));
      bce -= (rs[t] * Math.log(q) + (1 - rs[t]) * Math.log(1 - q)) / 2;
    }
    const got = rnn.computeGradients(seqs);
    assert.ok(Math.abs(got.nll - nll) < 1e-5, `zSize ${zSize}: nll ${got.nll} vs hand ${nll}`);
    assert.ok(Math.abs(got.bce - bce) < 1e-5, `zSize ${zSize}: bce ${got.bce} vs hand ${bce}`);
    assert.ok(Math.abs(got.loss - nll - bce) < 1e-5);
  }
});

Deno.test("MdnRnn.trainStep() lowers the loss on a small predictable sequence task", () => {
  const cfg = { zSize: 2, actionSize: 1, hidden: 16, mixtures: 3, learningRate: 0.01 };
  const rnn = new MdnRnn(cfg, { seed: 3 });
  // z_{t+1} = 0.9 * rotate(z_t) + 0.5 * a_t: deterministic given the inputs.
  const B = 8, L = 12, rng = createRng(4);
  const z = new Float32Array(B * L * 2), action = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    let z0 = rng.normal(), z1 = rng.normal();
    for (let t = 0; t < L; t++) {
      const a = rng.nextFloat() * 2 - 1;
      z[(b * L + t) * 2] = z0;
      z[(b * L + t) * 2 + 1] = z1;
      action[b * L + t] = a;
      [z0, z1] = [0.9 * z1 + 0.5 * a, -0.9 * z0];
    }
  }
  const seqs = { z, action, batch: B, length: L };
  const first = rnn.trainStep(seqs).loss;
  let last = first;
  for (let i = 0; i < 150; i++) last = rnn.trainStep(seqs).loss;
  assert.ok(last < first - 1, `loss went from ${first} to ${last}`);
  assert.equal(rnn.step, 151);
  // Resuming from the weights and the optimizer state continues exactly.
  const resumed = new MdnRnn(cfg);
  resumed.setWeights(rnn.weights);
  resumed.setOptimizerState(rnn.optimizerState());
  rnn.trainStep(seqs);
  resumed.trainStep(seqs);
  assert.deepEqual(resumed.weights, rnn.weights);
});

Deno.test("MdnRnn.stepState() reproduces the sequence forward pass and its mixtures", async () => {
  await initBackend({ backend: "cpu" });
  const rnn = new MdnRnn(SMALL, { seed: 5 });
  const seqs = randomSequences(SMALL, 3, 6, 6);
  const { zSize: Z, actionSize: A, hidden: H, mixtures: K } = rnn.config;
  const I = rnn.inputSize, T = seqs.length;
  const x = new Float32Array(3 * T * I);
  for (let i = 0; i < 3 * T; i++) {
    x.set(seqs.z.subarray(i * Z, i * Z + Z), i * I);
    x.set(seqs.action.subarray(i * A, i * A + A), i * I + Z);
    x[i * I + Z + A] = seqs.reward[i];
  }
  const shapes = rnn.weightShapes();
  const hs = tf.tidy(() =>
    lstmSequence(tf.tensor3d(x, [3, T, I]), {
      kernel: tf.tensor2d(rnn.weights.kernel, shapes.kernel as [number, number]),
      recurrentKernel: tf.tensor2d(
        rnn.weights.recurrentKernel,
        shapes.recurrentKernel as [number, number],
      ),
      bias: tf.tensor1d(rnn.weights.bias),
    }).arraySync()
  );
  let state = rnn.initialState(3);
  for (let t = 0; t < T; t++) {
    const pick = (arr: Float32Array, n: number) =>
      Float32Array.from(
        { length: 3 * n },
        (_, j) => arr[(Math.floor(j / n) * T + t) * n + (j % n)],
      );
    const out = rnn.stepState(state, {
      z: pick(seqs.z, Z),
      action: pick(seqs.action, A),
      reward: pick(seqs.reward, 1),
    });
    state = out.state;
    for (let b = 0; b < 3; b++) {
      const want = Float32Array.from(hs[b][t]);
      assert.ok(maxDiff(state.h.subarray(b * H, b * H + H), want) < 1e-5);
    }
    // The mixture is the head on h, with normalised log weights.
    const mix = out.mixture!;
    for (let b = 0; b < 3; b++) {
      for (let d = 0; d < Z; d++) {
        let total = 0;
        for (let k = 0; k < K; k++) total += Math.exp(mix.logPi[(b * Z + d) * K + k]);
        assert.ok(Math.abs(total - 1) < 1e-5);
        let mu0 = rnn.weights.headBias[d * 3 * K + K];
        for (let i = 0; i < H; i++) {
          mu0 += state.h[b * H + i] * rnn.weights.headKernel[i * rnn.outputs + d * 3 * K + K];
        }
        assert.ok(Math.abs(mix.mu[(b * Z + d) * K] - mu0) < 1e-5);
      }
    }
  }
});

Deno.test("sampleMixture() approaches the mode as tau -> 0 and spreads with larger tau", () => {
  // One latent dimension, two components: 0.7 at mu 2 (sigma 0.5), 0.3 at mu -3 (sigma 1).
  const n = 2000;
  const mix: MixtureParams = {
    logPi: new Float32Array(2 * n).map((_, i) => Math.log(i % 2 === 0 ? 0.7 : 0.3)),
    mu: new Float32Array(2 * n).map((_, i) => i % 2 === 0 ? 2 : -3),
    logSigma: new Float32Array(2 * n).map((_, i) => Math.log(i % 2 === 0 ? 0.5 : 1)),
    batch: n,
    mixtures: 2,
  };
  const stats = (tau: number) => {
    const z = sampleMixture(mix, { tau, rng: createRng(7) });
    const mean = z.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
    const nearMode = z.filter((v) => Math.abs(v - 2) < 0.1).length / n;
    return { mean, sd, nearMode, z };
  };
  const cold = stats(1e-4), one = stats(1), hot = stats(2);
  assert.ok(cold.nearMode > 0.999, `tau 1e-4: ${cold.nearMode} of samples near the mode`);
  // At tau 1 the mixture mean is 0.7*2 + 0.3*(-3) = 0.5.
  assert.ok(Math.abs(one.mean - 0.5) < 0.15, `tau 1 mean ${one.mean}`);
  assert.ok(hot.sd > one.sd * 1.05 && one.sd > cold.sd, `sd ${cold.sd} ${one.sd} ${hot.sd}`);
  assert.deepEqual(stats(1).z, one.z, "same seed, same samples");
  assert.throws(() => sampleMixture(mix, { tau: 0, rng: createRng(1) }), RangeError);
});

Deno.test("MdnRnn save/load round-trips through the TensorFlow.js layers format", async () => {
  await initBackend({ backend: "cpu" });
  const dir = await Deno.makeTempDir();
  try {
    const rnn = new MdnRnn(SMALL, { seed: 8 });
    rnn.trainStep(randomSequences(SMALL, 2, 5, 9));
    await rnn.save(dir);
    const back = await MdnRnn.load(dir, { zSize: 4, rewardHead: true });
    assert.deepEqual(back.config, rnn.config);
    for (const k of ["kernel", "recurrentKernel", "bias", "headKernel", "headBias"] as const) {
      assert.deepEqual(back.weights[k], rnn.weights[k]);
    }
    // tfjs itself reads the files as a standard lstm + dense model with the same forward pass.
    const model = await tf.loadLayersModel(fileHandler(dir));
    const seqs = randomSequences(SMALL, 1, 4, 10);
    const x = new Float32Array(4 * rnn.inputSize);
    for (let t = 0; t < 4; t++) {
      x.set(seqs.z.subarray(t * 4, t * 4 + 4), t * rnn.inputSize);
      x.set(seqs.action.subarray(t * 2, t * 2 + 2), t * rnn.inputSize + 4);
      x[t * rnn.inputSize + 6] = seqs.reward[t];
    }
    const y = tf.tidy(() =>
      (model.predict(tf.tensor3d(x, [1, 4, rnn.inputSize])) as tf.Tensor).dataSync()
    );
    let state = back.initialState(1);
    for (let t = 0; t < 4; t++) {
      const out = back.stepState(state, {
        z: seqs.z.slice(t * 4, t * 4 + 4),
        action: seqs.action.slice(t * 2, t * 2 + 2),
        reward: seqs.reward.slice(t, t + 1),
      });
      state = out.state;
      const reward = y[(t + 1) * rnn.outputs - 1];
      assert.ok(Math.abs(out.mixture!.rewardLogit![0] - reward) < 1e-5);
    }
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MdnRnn.load() rejects a file of the wrong shape with a clear error", async () => {
  await initBackend({ backend: "cpu" });
  const dir = await Deno.makeTempDir();
  try {
    await new MdnRnn(SMALL).save(dir);
    await assert.rejects(
      () => MdnRnn.load(dir, { hidden: 16 }),
      (e: Error) => e instanceof RangeError && /hidden is 8, expected 16/.test(e.message),
    );
    // A weight whose stored shape disagrees with the configuration.
    const path = `${dir}/model.json`;
    const json = JSON.parse(await Deno.readTextFile(path));
    json.userDefinedMetadata.mdnRnn.zSize = 5;
    await Deno.writeTextFile(path, JSON.stringify(json));
    await assert.rejects(
      () => MdnRnn.load(dir),
      (e: Error) => e instanceof RangeError && /lstm\/kernel has shape \[7,32\]/.test(e.message),
    );
    await assert.rejects(() => MdnRnn.load(`${dir}/missing`), /Cannot load model/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MdnRnn data-parallel gradients (2 threads) equal the single-thread ones", async () => {
  const one = new MdnRnn(SMALL, { seed: 11 });
  const two = new MdnRnn(SMALL, { seed: 11, workers: 2 });
  try {
    const seqs = randomSequences(SMALL, 7, 6, 12); // uneven shards: 4 + 3 sequences
    const a = one.computeGradients(seqs);
    const b = await two.computeGradientsAsync(seqs);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-6, `loss ${a.loss} vs ${b.loss}`);
    for (const k of ["kernel", "recurrentKernel", "bias", "headKernel", "headBias"] as const) {
      assert.ok(maxDiff(a.grads[k], b.grads[k]) < 1e-6, `${k} differs`);
    }
    await two.trainStepAsync(seqs);
    assert.equal(two.step, 1);
  } finally {
    await two.close();
  }
});

Deno.test("MdnRnn has the paper's 422,368 parameters and the book's 1 + 36-input variant", () => {
  assert.equal(new MdnRnn().parameterCount, 422_368);
  const book = new MdnRnn({ rewardHead: true });
  assert.equal(book.inputSize, 36);
  assert.equal(book.outputs, 481);
  assert.equal(book.parameterCount, 422_368 + 1024 + 257);
});

Deno.test("MdnRnn gradients of one-step sequences have no recurrent-weight part", () => {
  const rnn = new MdnRnn(SMALL, { seed: 13 });
  rnn.computeGradients(randomSequences(SMALL, 3, 6, 14)); // leaves buffers non-zero
  const { grads } = rnn.computeGradients(randomSequences(SMALL, 3, 2, 15));
  assert.ok(grads.recurrentKernel.every((v) => v === 0), "h_{-1} = 0: dWr must be exactly 0");
  assert.ok(grads.kernel.some((v) => v !== 0));
});

Deno.test("MdnRnnEngine reproduces PyTorch's loss and gradients of the anchor's MDNRNN", async () => {
  // Written by fixtures/make_mdn_rnn_torch.py from ../shared/bench/torch_reference.py's MDNRNN.
  const fx = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/mdn_rnn_torch.json", import.meta.url)),
  );
  const f32 = (a: number[]) => Float32Array.from(a);
  const names = ["kernel", "recurrentKernel", "bias", "headKernel", "headBias"] as const;
  const engine = new MdnRnnEngine({ ...fx.config, inputSize: 7 });
  const out = engine.compute(
    Object.fromEntries(names.map((k) => [k, f32(fx[k])])) as unknown as MdnRnnWeights,
    {
      input: f32(fx.input),
      targetZ: f32(fx.targetZ),
      targetReward: f32(fx.targetReward),
      batch: fx.batch,
      seq: fx.seq,
    },
  );
  assert.ok(Math.abs(out.loss - fx.loss) < 1e-5, `loss ${out.loss} vs PyTorch ${fx.loss}`);
  for (const k of names) {
    const d = maxDiff(out.grads[k], f32(fx.grads[k]));
    assert.ok(d < 1e-6, `${k} gradient differs from PyTorch's by ${d}`);
  }
});
