import assert from "node:assert/strict";
import { initBackend } from "../../src/models/backend/mod.ts";
import {
  MdnRnn,
  type MdnRnnConfig,
  type MdnRnnSequences,
  type MdnRnnWeights,
} from "../../src/models/mdn_rnn.ts";
import { createRng } from "../../src/random/mod.ts";

const WEIGHT_NAMES = ["kernel", "recurrentKernel", "bias", "headKernel", "headBias"] as const;

/** Random sequences with a reward of gym's shape (-0.1 per step, a few tiles, one -100). */
function sequences(
  cfg: Partial<MdnRnnConfig>,
  batch: number,
  length: number,
  seed: number,
  rnn: MdnRnn,
): MdnRnnSequences {
  const rng = createRng(seed);
  const z = Float32Array.from({ length: batch * length * cfg.zSize! }, () => rng.normal());
  const action = Float32Array.from(
    { length: batch * length * cfg.actionSize! },
    () => rng.nextFloat() * 2 - 1,
  );
  const gym = Float32Array.from(
    { length: batch * length },
    () => rng.nextFloat() < 0.2 ? 3.3 : rng.nextFloat() < 0.02 ? -100 : -0.1,
  );
  const done = Float32Array.from({ length: batch * length }, () => rng.nextFloat() < 0.15 ? 1 : 0);
  const reward = gym.map((r, i) => rnn.encodeReward(r, done[i] !== 0));
  // Sequences 0 and 3 run to the end of an episode: their last frame is missing.
  const lastFrameMissing = Uint8Array.from({ length: batch }, (_, b) => b % 3 === 0 ? 1 : 0);
  return { z, action, reward, done, lastFrameMissing, batch, length };
}

function assertClose(a: Float32Array, b: Float32Array, what: string) {
  assert.equal(a.length, b.length);
  let d = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  assert.ok(scale > 1e-5, `${what} gradient is trivial`);
  assert.ok(d < 1e-5 + 2e-4 * scale, `${what} gradient differs by ${d} (scale ${scale})`);
}

const HEADS: [string, Partial<MdnRnnConfig>][] = [
  ["reward regression", { rewardHead: true, rewardRegression: true, rewardScale: 0.3 }],
  [
    "asymmetric regression + done",
    {
      rewardHead: true,
      rewardRegression: true,
      rewardScale: 0.3,
      rewardOverWeight: 4,
      doneHead: true,
      doneWeight: 10,
    },
  ],
  ["bit + done", { rewardHead: true, doneHead: true, doneWeight: 10 }],
  ["done only", { doneHead: true, doneWeight: 3 }],
];

for (const [name, heads] of HEADS) {
  for (const zSize of [4, 3]) {
    Deno.test(`MdnRnn ${name} (zSize ${zSize}): SIMD loss and gradients equal tfjs autodiff`, async () => {
      await initBackend({ backend: "wasm" });
      const cfg = { zSize, actionSize: 2, hidden: 8, mixtures: 2, ...heads };
      const simd = new MdnRnn(cfg, { seed: 1 });
      const ref = new MdnRnn(cfg, { seed: 1, engine: "tfjs" });
      // A head bias that makes the reward and done outputs non-trivial.
      const w = simd.weights;
      const hb = w.headBias.slice();
      hb[hb.length - 1] = -0.7;
      simd.setWeights({ ...w, headBias: hb });
      ref.setWeights({ ...w, headBias: hb });
      // Batch 5 is not a multiple of the kernels' 4-row block; batch 1 is the odd extreme.
      for (const B of [5, 1]) {
        const seqs = sequences(cfg, B, 9, 2 + B, simd);
        const a = simd.computeGradients(seqs);
        const b = ref.computeGradients(seqs);
        for (const k of ["loss", "nll", "bce", "mse", "doneBce"] as const) {
          assert.ok(
            Math.abs(a[k] - b[k]) < 1e-5 * Math.max(1, Math.abs(b[k])),
            `${k} ${a[k]} vs ${b[k]}`,
          );
        }
        if (heads.rewardRegression) assert.ok(a.mse > 0 && a.bce === 0);
        if (heads.doneHead) assert.ok(a.doneBce > 0);
        for (const k of WEIGHT_NAMES) assertClose(a.grads[k], b.grads[k], `batch ${B} ${k}`);
      }
    });
  }
}

Deno.test("MdnRnn reward regression and done losses match finite differences of the head bias", () => {
  const cfg = {
    zSize: 4,
    actionSize: 1,
    hidden: 8,
    mixtures: 2,
    rewardHead: true,
    rewardRegression: true,
    rewardOverWeight: 5,
    doneHead: true,
    doneWeight: 10,
  };
  const rnn = new MdnRnn(cfg, { seed: 4 });
  const seqs = sequences(cfg, 3, 7, 5, rnn);
  const { grads } = rnn.computeGradients(seqs);
  const O = rnn.outputs;
  for (const [c, term] of [[O - 2, "mse"], [O - 1, "doneBce"]] as const) {
    const eps = 1e-2;
    const at = (delta: number) => {
      const hb = rnn.weights.headBias.slice();
      hb[c] += delta;
      const probe = new MdnRnn(cfg);
      probe.setWeights({ ...rnn.weights, headBias: hb });
      return probe.computeGradients(seqs)[term];
    };
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Math.abs(grads.headBias[c]) > 1e-3, `${term}: trivial gradient`);
    assert.ok(
      Math.abs(fd - grads.headBias[c]) < 2e-3 * Math.max(1, Math.abs(fd)),
      `${term}: finite difference ${fd} vs gradient ${grads.headBias[c]}`,
    );
  }
});

Deno.test("MdnRnn over-prediction weight: over-predicting costs w times under-predicting", () => {
  const cfg = {
    zSize: 4,
    actionSize: 1,
    hidden: 8,
    mixtures: 1,
    rewardHead: true,
    rewardRegression: true,
    rewardOverWeight: 5,
  };
  const rnn = new MdnRnn(cfg);
  const w = rnn.weights;
  const loss = (bias: number) => {
    const hb = new Float32Array(w.headBias.length);
    hb[hb.length - 1] = bias;
    rnn.setWeights({ ...w, headKernel: new Float32Array(w.headKernel.length), headBias: hb });
    return rnn.computeGradients({
      z: new Float32Array(2 * 4),
      action: new Float32Array(2),
      reward: Float32Array.from([0, 1]),
      batch: 1,
      length: 2,
    }).mse;
  };
  assert.ok(Math.abs(loss(1.5) - 5 * 0.25) < 1e-6, `over: ${loss(1.5)}`);
  assert.ok(Math.abs(loss(0.5) - 0.25) < 1e-6, `under: ${loss(0.5)}`);
});

Deno.test("MdnRnn training with the reward regression and done heads lowers their losses, and resumes exactly", () => {
  const cfg = {
    zSize: 4,
    actionSize: 1,
    hidden: 16,
    mixtures: 2,
    learningRate: 0.01,
    rewardHead: true,
    rewardRegression: true,
    rewardScale: 0.5,
    doneHead: true,
    doneWeight: 5,
  };
  const rnn = new MdnRnn(cfg, { seed: 3 });
  // A synthetic series: the reward of a step is 2 * a_t (gym units), and the episode ends
  // (done) when a_t > 0.8; z drifts with the action.
  const B = 8, L = 12, rng = createRng(4);
  const z = new Float32Array(B * L * 4), action = new Float32Array(B * L);
  const gym = new Float32Array(B * L), done = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    let v = rng.normal();
    for (let t = 0; t < L; t++) {
      const a = rng.nextFloat() * 2 - 1;
      z.fill(v, (b * L + t) * 4, (b * L + t + 1) * 4);
      action[b * L + t] = a;
      gym[b * L + t] = 2 * a;
      done[b * L + t] = a > 0.8 ? 1 : 0;
      v = 0.8 * v + 0.3 * a;
    }
  }
  // Input t carries the reward of the step that led to frame t.
  const reward = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    for (let t = 1; t < L; t++) reward[b * L + t] = rnn.encodeReward(gym[b * L + t - 1]);
  }
  const seqs = { z, action, reward, done, batch: B, length: L };
  const first = rnn.trainStep(seqs);
  let last = first;
  for (let i = 0; i < 200; i++) last = rnn.trainStep(seqs);
  assert.ok(last.mse < first.mse / 4, `reward mse went from ${first.mse} to ${last.mse}`);
  assert.ok(last.doneBce < first.doneBce / 2, `done loss ${first.doneBce} -> ${last.doneBce}`);
  const resumed = new MdnRnn(cfg);
  resumed.setWeights(rnn.weights);
  resumed.setOptimizerState(rnn.optimizerState());
  rnn.trainStep(seqs);
  resumed.trainStep(seqs);
  assert.deepEqual(resumed.weights, rnn.weights);
});

Deno.test("MdnRnn new heads: save/load keeps them, defaults add nothing to the metadata", async () => {
  await initBackend({ backend: "cpu" });
  const dir = await Deno.makeTempDir();
  try {
    const plain = new MdnRnn({
      zSize: 4,
      hidden: 8,
      mixtures: 2,
      rewardHead: true,
      rewardRegression: false,
      doneHead: false,
      doneWeight: 1,
    });
    assert.deepEqual(Object.keys(plain.config).sort(), [
      "actionSize",
      "gradClip",
      "hidden",
      "learningRate",
      "mixtures",
      "rewardHead",
      "zSize",
    ]);
    const cfg = {
      zSize: 4,
      hidden: 8,
      mixtures: 2,
      rewardHead: true,
      rewardRegression: true,
      rewardScale: 0.3,
      doneHead: true,
      doneWeight: 10,
    };
    const rnn = new MdnRnn(cfg, { seed: 2 });
    assert.equal(rnn.outputs, 4 * 2 * 3 + 2);
    await rnn.save(dir);
    const back = await MdnRnn.load(dir, { doneHead: true, rewardRegression: true });
    assert.equal(back.config.rewardScale, 0.3);
    assert.deepEqual(back.weights, rnn.weights as MdnRnnWeights);
    // One step: the head outputs are the bias when the head kernel is zero.
    const hb = new Float32Array(rnn.outputs);
    hb[rnn.outputs - 2] = 0.6;
    hb[rnn.outputs - 1] = -1.25;
    back.setWeights({
      ...back.weights,
      headKernel: new Float32Array(back.weights.headKernel.length),
      headBias: hb,
    });
    const out = back.stepState(back.initialState(2), {
      z: new Float32Array(8),
      action: new Float32Array(6),
      reward: new Float32Array(2),
    });
    assert.deepEqual([...out.mixture!.rewardValue!], [0.6, 0.6].map(Math.fround));
    assert.deepEqual([...out.mixture!.doneLogit!], [-1.25, -1.25]);
    assert.equal(out.mixture!.rewardLogit, undefined);
    assert.ok(Math.abs(back.decodeReward(0.6) - 2) < 1e-12);
    assert.ok(Math.abs(back.encodeReward(-100) + 30) < 1e-9);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MdnRnn rejects a regression without the reward head and non-positive weights", () => {
  assert.throws(() => new MdnRnn({ rewardRegression: true }), /rewardRegression needs rewardHead/);
  assert.throws(
    () => new MdnRnn({ doneHead: true, doneWeight: 0 }),
    /doneWeight must be a positive number/,
  );
});

Deno.test("MdnRnn data-parallel gradients (2 threads) with the new heads and masked targets equal the single-thread ones", async () => {
  const cfg = {
    zSize: 4,
    actionSize: 2,
    hidden: 8,
    mixtures: 2,
    rewardHead: true,
    rewardRegression: true,
    rewardOverWeight: 3,
    doneHead: true,
    doneWeight: 10,
  };
  const one = new MdnRnn(cfg, { seed: 11 });
  const two = new MdnRnn(cfg, { seed: 11, workers: 2 });
  try {
    const seqs = sequences(cfg, 7, 6, 12, one); // uneven shards: 4 + 3 sequences
    const a = one.computeGradients(seqs);
    const b = await two.computeGradientsAsync(seqs);
    for (const k of ["loss", "nll", "mse", "doneBce"] as const) {
      assert.ok(
        Math.abs(a[k] - b[k]) < 1e-6 * Math.max(1, Math.abs(a[k])),
        `${k} ${a[k]} vs ${b[k]}`,
      );
    }
    for (const k of WEIGHT_NAMES) {
      let d = 0;
      for (let i = 0; i < a.grads[k].length; i++) {
        d = Math.max(d, Math.abs(a.grads[k][i] - b.grads[k][i]));
      }
      assert.ok(d < 1e-6, `${k} differs by ${d}`);
    }
  } finally {
    await two.close();
  }
});

Deno.test("MdnRnn dropout: SIMD gradients with the mask equal tfjs autodiff, on one and two threads", async () => {
  await initBackend({ backend: "wasm" });
  const cfg = { zSize: 4, actionSize: 2, hidden: 8, mixtures: 2, dropout: 0.3, ...HEADS[1][1] };
  const simd = new MdnRnn(cfg, { seed: 1 });
  const ref = new MdnRnn(cfg, { seed: 1, engine: "tfjs" });
  const two = new MdnRnn(cfg, { seed: 1, workers: 2 });
  try {
    for (const B of [5, 1]) {
      const seqs = { ...sequences(cfg, B, 9, 2 + B, simd), dropoutSeed: 7 };
      const a = simd.computeGradients(seqs);
      const b = ref.computeGradients(seqs);
      assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss ${a.loss} vs ${b.loss}`);
      for (const k of WEIGHT_NAMES) assertClose(a.grads[k], b.grads[k], `batch ${B} ${k}`);
      const c = await two.computeGradientsAsync(seqs);
      assert.ok(Math.abs(a.loss - c.loss) < 1e-6);
      for (const k of WEIGHT_NAMES) assertClose(c.grads[k], a.grads[k], `2 threads ${k}`);
      // Another seed, other masks: other gradients.
      const d = simd.computeGradients({ ...seqs, dropoutSeed: 8 });
      assert.notDeepEqual(d.grads.headKernel, a.grads.headKernel);
    }
  } finally {
    await two.close();
  }
});

Deno.test("MdnRnn dropout 0 is the model without dropout, byte for byte", () => {
  const cfg = { zSize: 4, actionSize: 2, hidden: 8, mixtures: 2, rewardHead: true };
  const plain = new MdnRnn(cfg, { seed: 1 });
  const zero = new MdnRnn({ ...cfg, dropout: 0 }, { seed: 1 });
  assert.deepEqual(zero.config, plain.config);
  const seqs = { ...sequences(cfg, 3, 6, 4, plain), dropoutSeed: 5 };
  for (let i = 0; i < 3; i++) assert.deepEqual(zero.trainStep(seqs), plain.trainStep(seqs));
  assert.deepEqual(zero.weights, plain.weights);
  assert.throws(() => new MdnRnn({ ...cfg, dropout: 1 }), /dropout must be in \[0, 1\)/);
});

Deno.test("MdnRnn.stepState() with a dropout mask feeds the head h times the mask and returns h itself", () => {
  const cfg = {
    zSize: 4,
    actionSize: 2,
    hidden: 8,
    mixtures: 2,
    rewardHead: true,
    rewardRegression: true,
    doneHead: true,
  };
  const rnn = new MdnRnn(cfg, { seed: 9 });
  const input = {
    z: Float32Array.from({ length: 4 }, (_, i) => 0.3 * i - 0.5),
    action: Float32Array.from([0.2, -0.7]),
    reward: Float32Array.from([0.4]),
  };
  const mask = Float32Array.from([0, 2, 2, 0, 2, 2, 2, 0]);
  const dropped = rnn.stepState(rnn.initialState(1), input, { dropMask: mask });
  const plain = rnn.stepState(rnn.initialState(1), input);
  assert.deepEqual(dropped.state, plain.state);
  // The same as scaling the rows of the head kernel by the mask.
  const scaled = new MdnRnn(cfg);
  const hk = rnn.weights.headKernel.slice(), O = rnn.outputs;
  for (let i = 0; i < 8; i++) for (let j = 0; j < O; j++) hk[i * O + j] *= mask[i];
  scaled.setWeights({ ...rnn.weights, headKernel: hk });
  const want = scaled.stepState(scaled.initialState(1), input).mixture!;
  const got = dropped.mixture!;
  for (const k of ["mu", "logSigma", "rewardValue", "doneLogit"] as const) {
    assertClose(got[k]!, want[k]!, k);
  }
  assert.notDeepEqual(got.rewardValue, plain.mixture!.rewardValue);
});
