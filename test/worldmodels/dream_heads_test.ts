import assert from "node:assert/strict";
import { join } from "node:path";
import { writeNpy } from "../../src/data/npy/mod.ts";
import { initBackend } from "../../src/models/backend/mod.ts";
import { MdnRnn, type MdnRnnConfig } from "../../src/models/mdn_rnn.ts";
import {
  type DreamConfig,
  dreamDropoutMasks,
  DreamEnv,
  type DreamStepView,
} from "../../src/worldmodels/dream_env.ts";

const Z = 4, H = 16, K = 2;

/**
 * A dream on an M whose head ignores h (zero head kernel): every step predicts the same
 * mixture, reward output `reward` and done logit `done` (when given).
 */
async function writeDream(
  dir: string,
  heads: Partial<MdnRnnConfig>,
  outputs: { reward: number; done?: number; keepKernel?: boolean },
): Promise<DreamConfig> {
  await initBackend({ backend: "wasm" });
  const rnn = new MdnRnn({ zSize: Z, hidden: H, mixtures: K, rewardHead: true, ...heads }, {
    seed: 3,
  });
  const headBias = new Float32Array(rnn.outputs);
  const mixture = Z * K * 3;
  headBias[mixture] = outputs.reward;
  if (outputs.done !== undefined) headBias[mixture + 1] = outputs.done;
  rnn.setWeights({
    ...rnn.weights,
    headKernel: outputs.keepKernel
      ? rnn.weights.headKernel
      : new Float32Array(rnn.weights.headKernel.length),
    headBias,
  });
  await rnn.save(join(dir, "rnn"));
  await Deno.mkdir(join(dir, "series"));
  await writeNpy(join(dir, "series", "initial_z.npy"), {
    dtype: "f4",
    shape: [2, 2, Z],
    data: Float32Array.from({ length: 2 * 2 * Z }, (_, i) => (i % 8 < 4 ? 0.1 * i : -4)),
  });
  return {
    rnn: join(dir, "rnn"),
    series: join(dir, "series"),
    inputs: "zh",
    maxSteps: 12,
    temperature: 1,
  };
}

function candidate(size: number): Float32Array {
  return Float32Array.from({ length: size }, (_, i) => Math.sin(3 * i) * 0.5);
}

Deno.test("DreamEnv with M's reward regression pays the predicted reward in gym's units and feeds the scaled value back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_dream_heads_" });
  try {
    // rewardScale 0.25: an output of 0.5 is 2 of gym's reward.
    const config = await writeDream(dir, { rewardRegression: true, rewardScale: 0.25 }, {
      reward: 0.5,
    });
    // The bit rules do not apply to a regression head: bernoulli changes nothing.
    for (const reward of [undefined, "bernoulli"] as const) {
      const env = await DreamEnv.create({ ...config, reward });
      const inputs: number[] = [];
      const [outcome] = await env.run(
        [candidate(env.parameterCount)],
        [{ candidate: 0, seed: 7 }],
        {
          onStep: (v) => inputs.push(v.reward),
        },
      );
      assert.ok(Math.abs(outcome.return - 2 * 12) < 1e-5, `return ${outcome.return}`);
      assert.equal(outcome.length, 12);
      assert.equal(outcome.terminated, false);
      assert.deepEqual(inputs, [0, ...Array(11).fill(0.5)]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DreamEnv with M's done head ends an episode when sigmoid(logit) >= 0.5 (threshold)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_dream_heads_" });
  try {
    const heads = { rewardRegression: true, doneHead: true };
    for (const [done, length] of [[0.05, 1], [-0.05, 12]] as const) {
      const config = await writeDream(dir, heads, { reward: -0.1, done });
      const env = await DreamEnv.create(config);
      const jobs = [{ candidate: 0, seed: 1 }, { candidate: 0, seed: 2 }];
      const steps = [0, 0];
      const outcomes = await env.run([candidate(env.parameterCount)], jobs, {
        onStep: (v) => steps[v.job]++,
      });
      for (const o of outcomes) {
        assert.equal(o.length, length, `done logit ${done}`);
        assert.equal(o.terminated, length === 1);
        // The ending step is paid: -0.1 per step, the last one included.
        assert.ok(Math.abs(o.return + 0.1 * length) < 1e-6, `return ${o.return}`);
      }
      assert.deepEqual(steps, [length, length]);
      await Deno.remove(join(dir, "rnn"), { recursive: true });
      await Deno.remove(join(dir, "series"), { recursive: true });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DreamEnv with done: sampled ends each episode with probability sigmoid(logit) per step, reproducibly per seed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_dream_heads_" });
  try {
    // p = sigmoid(-1) = 0.269: a geometric episode length of mean 1 / p = 3.7 (cut at 40).
    const config = await writeDream(dir, { doneHead: true }, { reward: 3, done: -1 });
    const env = await DreamEnv.create({ ...config, done: "sampled", maxSteps: 40 });
    const jobs = Array.from({ length: 400 }, (_, i) => ({ candidate: 0, seed: 1000 + i }));
    const cands = [candidate(env.parameterCount)];
    const a = await env.run(cands, jobs);
    const b = await env.run(cands, jobs.slice(0, 50));
    assert.deepEqual(b, a.slice(0, 50));
    const p = 1 / (1 + Math.exp(1));
    const mean = a.reduce((s, o) => s + o.length, 0) / a.length;
    // Standard deviation of the mean: sqrt(1 - p) / p / sqrt(400) = 0.16.
    assert.ok(Math.abs(mean - 1 / p) < 0.6, `mean length ${mean}, expected ${1 / p}`);
    assert.ok(new Set(a.map((o) => o.length)).size > 5);
    // Bit reward logit 3 > 0 (threshold): one tile per step, the ending step included.
    for (const o of a) {
      assert.equal(o.return, o.length);
      if (o.length < 40) assert.ok(o.terminated);
    }
    // The threshold rule on the same M never ends (p < 0.5).
    const threshold = await DreamEnv.create({ ...config, maxSteps: 40 });
    const [never] = await threshold.run(cands, jobs.slice(0, 1));
    assert.equal(never.length, 40);
    assert.equal(never.terminated, false);
    await assert.rejects(
      DreamEnv.create({ ...config, done: "maybe" as "sampled" }),
      /unknown done 'maybe'/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DreamEnv dream dropout: one mask per episode, fixed for all its steps, another for another episode; dropout 0 is no dropout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_dream_heads_" });
  try {
    // A head that reads h: the regressed reward fed back shows which mask the head saw.
    const config = await writeDream(dir, { rewardRegression: true }, {
      reward: 0.1,
      keepKernel: true,
    });
    const jobs = [{ candidate: 0, seed: 21 }, { candidate: 0, seed: 22 }];
    const run = async (dropout?: number) => {
      const env = await DreamEnv.create({ ...config, dropout });
      const views: DreamStepView[][] = [[], []];
      const outcomes = await env.run([candidate(env.parameterCount)], jobs, {
        onStep: (v) => views[v.job].push(v),
      });
      return { env, outcomes, views };
    };
    const none = await run(), zero = await run(0), dropped = await run(0.5);
    assert.deepEqual(zero.outcomes, none.outcomes);
    assert.deepEqual(zero.views, none.views);
    assert.notDeepEqual(dropped.outcomes, none.outcomes);

    const H = dropped.env.rnn.config.hidden;
    const masks = dreamDropoutMasks(jobs, H, 0.5)!;
    assert.notDeepEqual(masks.subarray(0, H), masks.subarray(H));
    assert.deepEqual(dreamDropoutMasks(jobs, H, 0.5), masks);
    assert.equal(dreamDropoutMasks(jobs, H, 0), undefined);
    // Replaying each episode's inputs with one fixed mask reproduces every fed-back reward;
    // the other episode's mask does not.
    const rnn = dropped.env.rnn;
    const replay = (views: DreamStepView[], mask: Float32Array) => {
      let state = rnn.initialState(1);
      const fed: number[] = [];
      for (const v of views) {
        const out = rnn.stepState(state, {
          z: v.z,
          action: v.action,
          reward: Float32Array.of(v.reward),
        }, { dropMask: mask });
        state = out.state;
        fed.push(out.mixture!.rewardValue![0]);
      }
      return fed.slice(0, -1);
    };
    for (const job of [0, 1]) {
      const views = dropped.views[job];
      const want = views.slice(1).map((v) => v.reward);
      const own = masks.slice(job * H, (job + 1) * H);
      const other = masks.slice((1 - job) * H, (2 - job) * H);
      assert.deepEqual(replay(views, own), want.map(Math.fround));
      assert.notDeepEqual(replay(views, other), want.map(Math.fround));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
