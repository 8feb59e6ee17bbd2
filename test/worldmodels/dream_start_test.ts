import assert from "node:assert/strict";
import { join } from "node:path";
import { SeriesWriter } from "../../src/data/series.ts";
import { initBackend } from "../../src/models/backend/mod.ts";
import { MdnRnn } from "../../src/models/mdn_rnn.ts";
import { controllerActions } from "../../src/models/controller.ts";
import { type DreamConfig, DreamEnv, type DreamStepView } from "../../src/worldmodels/dream_env.ts";

const Z = 3, H = 8, LENGTH = 10, W = 3;

/** mu of episode e, step t, dimension d: distinct everywhere, so a start can be recognised. */
const mu = (e: number, t: number, d: number) => 0.1 * e + 0.05 * t - 0.2 * d;
const reward = (e: number, t: number) => (t % 3 === 0 ? 3.2 : -0.1) + e;

/** An M with the reward regression head (its reward input matters) and a 2-episode series. */
async function writeWorld(dir: string): Promise<DreamConfig> {
  await initBackend({ backend: "wasm" });
  const rnn = new MdnRnn({
    zSize: Z,
    hidden: H,
    mixtures: 2,
    rewardHead: true,
    rewardRegression: true,
    rewardScale: 0.5,
  }, { seed: 4 });
  await rnn.save(join(dir, "rnn"));
  // logvar -40: sigma 2e-9, so the sampled z are the means and the warm-up can be replayed.
  const writer = await SeriesWriter.create(join(dir, "series"), { zSize: Z, actionSize: 3 });
  for (const e of [0, 1]) {
    const rows = (f: (t: number, d: number) => number, width: number) =>
      Float32Array.from({ length: LENGTH * width }, (_, i) => f(Math.floor(i / width), i % width));
    await writer.append({ seed: e }, {
      mu: rows((t, d) => mu(e, t, d), Z),
      logvar: rows(() => -40, Z),
      actions: rows((t, d) => Math.sin(t + 2 * d + e), 3),
      rewards: rows((t) => reward(e, t), 1),
      dones: new Uint8Array(LENGTH),
    });
  }
  await writer.close();
  return {
    rnn: join(dir, "rnn"),
    series: join(dir, "series"),
    inputs: "zh",
    maxSteps: 4,
    temperature: 1,
    reward: "threshold",
  };
}

Deno.test("DreamEnv with start real begins inside a recorded episode, after the LSTM is stepped over the warm-up's recorded z, actions and rewards", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_dream_start_" });
  try {
    const config = { ...await writeWorld(dir), start: "real" as const, warmup: W };
    const dream = await DreamEnv.create(config);
    const rnn = dream.rnn;
    const params = Float32Array.from(
      { length: dream.parameterCount },
      (_, i) => Math.cos(i) * 0.7,
    );
    const jobs = Array.from({ length: 8 }, (_, i) => ({ candidate: 0, seed: 100 + i }));
    const first: DreamStepView[] = [];
    const outcomes = await dream.run([params], jobs, {
      onStep: (v) => v.t === 0 && first.push(v),
    });
    const offsets = new Set<number>();
    for (const [i, o] of outcomes.entries()) {
      assert.ok(o.offset >= W && o.offset < LENGTH, `offset ${o.offset}`);
      offsets.add(o.offset);
      const view = first.find((v) => v.job === i)!;
      const e = o.start, t0 = o.offset;
      for (let d = 0; d < Z; d++) assert.ok(Math.abs(view.z[d] - mu(e, t0, d)) < 1e-6);
      assert.ok(Math.abs(view.reward - 0.5 * reward(e, t0 - 1)) < 1e-6, "reward input of t0");

      // Replay the warm-up by hand: the same h must choose the same first action.
      let state = rnn.initialState(1);
      for (let t = t0 - W; t < t0; t++) {
        const z = Float32Array.from({ length: Z }, (_, d) => mu(e, t, d));
        const action = Float32Array.from({ length: 3 }, (_, d) => Math.sin(t + 2 * d + e));
        const r = new Float32Array([t === 0 ? 0 : 0.5 * reward(e, t - 1)]);
        state = rnn.stepState(state, { z, action, reward: r }, { mixture: false }).state;
      }
      const expected = controllerActions(params, { z: view.z, h: state.h, rows: 1 }, {
        inputs: "zh",
        zSize: Z,
        hidden: H,
      });
      for (let a = 0; a < 3; a++) assert.ok(Math.abs(view.action[a] - expected[a]) < 1e-5);
    }
    assert.ok(offsets.size > 1, "the seeds pick different steps");
    assert.deepEqual(await dream.run([params], jobs), outcomes, "the same seeds, the same dreams");
    dream.close();

    await assert.rejects(
      () => DreamEnv.create({ ...config, warmup: LENGTH }),
      /no episode of .* is longer than the warm-up \(10 steps\)/,
    );
    await assert.rejects(() => DreamEnv.create({ ...config, warmup: 0 }), /warmup >= 1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
