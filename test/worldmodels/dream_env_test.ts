import assert from "node:assert/strict";
import { join } from "node:path";
import { writeNpy } from "../../src/data/npy/mod.ts";
import { initBackend } from "../../src/models/backend/mod.ts";
import { MdnRnn } from "../../src/models/mdn_rnn.ts";
import {
  type DreamConfig,
  DreamEnv,
  DreamPool,
  dreamStart,
} from "../../src/worldmodels/dream_env.ts";

const Z = 4, H = 16, K = 2;

/** A small MDN-RNN with the reward head and three stored initial latents, on disk. */
async function writeDream(
  dir: string,
  options: { headBias?: Float32Array; rewardHead?: boolean } = {},
): Promise<DreamConfig> {
  await initBackend({ backend: "wasm" });
  const rnn = new MdnRnn({
    zSize: Z,
    hidden: H,
    mixtures: K,
    rewardHead: options.rewardHead ?? true,
  }, {
    seed: 3,
  });
  if (options.headBias) {
    // Constant mixture and reward logit: the head ignores h.
    rnn.setWeights({
      ...rnn.weights,
      headKernel: new Float32Array(rnn.weights.headKernel.length),
      headBias: options.headBias,
    });
  }
  await rnn.save(join(dir, "rnn"));
  await Deno.mkdir(join(dir, "series"));
  const initial = new Float32Array(3 * 2 * Z);
  for (let e = 0; e < 3; e++) {
    for (let d = 0; d < Z; d++) {
      initial[e * 2 * Z + d] = e - 1 + 0.1 * d; // mu
      initial[e * 2 * Z + Z + d] = -4; // logvar
    }
  }
  await writeNpy(join(dir, "series", "initial_z.npy"), {
    dtype: "f4",
    shape: [3, 2, Z],
    data: initial,
  });
  return {
    rnn: join(dir, "rnn"),
    series: join(dir, "series"),
    inputs: "zh",
    maxSteps: 20,
    temperature: 1,
  };
}

function candidates(count: number, size: number): Float32Array[] {
  return Array.from({ length: count }, (_, c) => {
    const p = new Float32Array(size);
    for (let i = 0; i < size; i++) p[i] = Math.sin(7 * c + 3 * i) * 0.5;
    return p;
  });
}

Deno.test("DreamEnv gives the same outcomes and latents for the same seeds, whatever the batch or the worker count", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_dream_" });
  try {
    const config = await writeDream(dir);
    const env = await DreamEnv.create(config);
    const cands = candidates(3, env.parameterCount);
    const jobs = Array.from({ length: 6 }, (_, i) => ({ candidate: i % 3, seed: 100 + i }));
    const trace = (log: Float32Array[][]) => (v: { job: number; z: Float32Array }) =>
      (log[v.job] ??= []).push(v.z);
    const zA: Float32Array[][] = [], zB: Float32Array[][] = [];
    const a = await env.run(cands, jobs, { onStep: trace(zA) });
    const b = await env.run(cands, jobs, { onStep: trace(zB) });
    assert.deepEqual(a, b);
    assert.deepEqual(zA, zB);
    for (const [i, o] of a.entries()) {
      assert.equal(o.length, 20);
      assert.equal(o.start, dreamStart(jobs[i].seed, 3));
    }
    // Job 4 alone: the same episode as inside the batch.
    const zC: Float32Array[][] = [];
    const [alone] = await env.run(cands, [jobs[4]], { onStep: trace(zC) });
    assert.deepEqual(alone, a[4]);
    assert.deepEqual(zC[0], zA[4]);
    // Another seed dreams another episode.
    const other: Float32Array[][] = [];
    await env.run(cands, [{ candidate: 1, seed: 999 }], { onStep: trace(other) });
    assert.notDeepEqual(other[0].slice(1), zA[4].slice(1));

    const pool = await DreamPool.create(config, { workers: 2 });
    try {
      assert.deepEqual(await pool.run(cands, jobs), a);
    } finally {
      pool.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DreamEnv samples each latent dimension from the mixture with logits / tau and sigma * sqrt(tau)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_dream_tau_" });
  try {
    const logits = [1.5, 0], mus = [-1, 2], logSigmas = [Math.log(0.3), Math.log(0.6)];
    const bias = new Float32Array(Z * K * 3 + 1);
    for (let d = 0; d < Z; d++) {
      for (let k = 0; k < K; k++) {
        bias[d * 3 * K + k] = logits[k];
        bias[d * 3 * K + K + k] = mus[k];
        bias[d * 3 * K + 2 * K + k] = logSigmas[k];
      }
    }
    const config = await writeDream(dir, { headBias: bias });
    const variances: number[] = [];
    for (const tau of [0.3, 1, 1.5]) {
      const env = await DreamEnv.create({ ...config, temperature: tau, maxSteps: 40 });
      const cands = candidates(2, env.parameterCount);
      const jobs = Array.from({ length: 64 }, (_, i) => ({ candidate: i % 2, seed: i }));
      const samples: number[] = [];
      await env.run(cands, jobs, {
        onStep(v) {
          if (v.t > 0) samples.push(...v.z);
        },
      });
      const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
      const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length;
      // The mixture's variance at this temperature.
      const w = logits.map((l) => Math.exp(l / tau));
      const sw = w[0] + w[1];
      const m = (w[0] * mus[0] + w[1] * mus[1]) / sw;
      const expected = w.reduce(
        (a, wk, k) => a + wk / sw * (mus[k] ** 2 + tau * Math.exp(2 * logSigmas[k])),
        0,
      ) - m * m;
      assert.ok(Math.abs(mean - m) < 0.1, `tau ${tau}: mean ${mean}, expected ${m}`);
      assert.ok(
        Math.abs(variance - expected) < 0.08 * expected,
        `tau ${tau}: variance ${variance}, expected ${expected}`,
      );
      variances.push(variance);
    }
    assert.ok(variances[0] < variances[1] && variances[1] < variances[2], `${variances}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DreamEnv rewards a step when the reward logit is positive (or with probability sigmoid(logit)) and feeds the reward back; an RNN without the reward head is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_dream_reward_" });
  try {
    for (const [logit, expected] of [[4, 20], [-4, 0]]) {
      const bias = new Float32Array(Z * K * 3 + 1);
      bias[bias.length - 1] = logit;
      const sub = join(dir, `r${logit}`);
      await Deno.mkdir(sub);
      const env = await DreamEnv.create(await writeDream(sub, { headBias: bias }));
      const fed: number[] = [];
      const [outcome] = await env.run(candidates(1, env.parameterCount), [{
        candidate: 0,
        seed: 5,
      }], { onStep: (v) => fed.push(v.reward) });
      assert.equal(outcome.return, expected);
      assert.deepEqual(fed, [0, ...new Array(19).fill(expected > 0 ? 1 : 0)]);
    }
    // A random head: replaying the dream's (z, a, r) through the RNN, each next reward input is
    // whether the reward logit was positive, and the return counts them.
    const random = join(dir, "random");
    await Deno.mkdir(random);
    const config0 = await writeDream(random);
    const env = await DreamEnv.create(config0);
    const views: { z: Float32Array; action: Float32Array; reward: number }[] = [];
    const [outcome] = await env.run(candidates(1, env.parameterCount), [{
      candidate: 0,
      seed: 8,
    }], { onStep: (v) => views.push(v) });
    const rnn = await MdnRnn.load(config0.rnn);
    let state = rnn.initialState(1);
    const bits: number[] = [];
    for (const v of views) {
      const out = rnn.stepState(state, {
        z: v.z,
        action: v.action,
        reward: Float32Array.of(v.reward),
      });
      state = out.state;
      bits.push(out.mixture!.rewardLogit![0] > 0 ? 1 : 0);
    }
    assert.deepEqual(views.slice(1).map((v) => v.reward), bits.slice(0, -1));
    assert.equal(outcome.return, bits.reduce((a, b) => a + b, 0));
    assert.ok(bits.includes(0) && bits.includes(1), `both rewards occur: ${bits}`);

    // reward "bernoulli": 1 with probability sigmoid(logit), from the job's own generator.
    for (const logit of [0, -1.5]) {
      const bias = new Float32Array(Z * K * 3 + 1);
      bias[bias.length - 1] = logit;
      const sub = join(dir, `b${logit}`);
      await Deno.mkdir(sub);
      const sampled = await DreamEnv.create({
        ...await writeDream(sub, { headBias: bias }),
        reward: "bernoulli",
        maxSteps: 40,
      });
      const cands = candidates(1, sampled.parameterCount);
      const jobs = Array.from({ length: 64 }, (_, i) => ({ candidate: 0, seed: i }));
      const outcomes = await sampled.run(cands, jobs);
      assert.deepEqual(await sampled.run(cands, jobs), outcomes);
      const rate = outcomes.reduce((a, o) => a + o.return, 0) / (64 * 40);
      const p = 1 / (1 + Math.exp(-logit));
      assert.ok(Math.abs(rate - p) < 0.04, `logit ${logit}: reward rate ${rate}, expected ${p}`);
    }

    const plain = join(dir, "plain");
    await Deno.mkdir(plain);
    const config = await writeDream(plain, { rewardHead: false });
    await assert.rejects(() => DreamEnv.create(config), /has no reward head/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
