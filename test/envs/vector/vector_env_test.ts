import assert from "node:assert/strict";
import { CarRacing } from "../../../src/envs/car_racing/mod.ts";
import { VectorEnv } from "../../../src/envs/vector/mod.ts";

function actionFor(i: number, step: number): [number, number, number] {
  return [Math.sin(step / 9 + i), 0.4 + 0.1 * (i % 3), step % 17 === 0 ? 0.3 : 0];
}

Deno.test("VectorEnv across 2 Workers matches sequential envs and freezes ended episodes", async () => {
  const n = 3;
  const maxSteps = [40, 40, 40];
  const seeds = [4, 9, 16];
  const venv = await VectorEnv.create({ n, workers: 2, observation: "pixels64", maxSteps: 40 });
  const envs = await Promise.all(seeds.map(() => CarRacing.create({ maxSteps: 40 })));
  try {
    assert.equal(venv.workers, 2);
    const size = venv.observationSize;
    const r0 = await venv.reset(seeds);
    envs.forEach((env, i) => {
      const r = env.reset({ seed: seeds[i] });
      assert.deepEqual(r0.observations.subarray(i * size, (i + 1) * size), r.observation);
      assert.equal(r0.info.tilesTotal[i], r.info.tilesTotal);
    });
    const finalObs: Uint8Array[] = [];
    for (let step = 0; step < 50; step++) {
      const actions = seeds.map((_, i) => actionFor(i, step));
      const v = await venv.step(actions.flat());
      for (let i = 0; i < n; i++) {
        const obs = v.observations.subarray(i * size, (i + 1) * size);
        if (step < maxSteps[i]) {
          const r = envs[i].step(actions[i]);
          assert.deepEqual(obs, r.observation, `env ${i} step ${step}`);
          assert.equal(v.rewards[i], r.reward);
          assert.equal(v.terminated[i], r.terminated ? 1 : 0);
          assert.equal(v.truncated[i], r.truncated ? 1 : 0);
          assert.equal(v.info.steps[i], r.info.step);
          assert.equal(v.info.episodeReward[i], r.info.episodeReward);
          if (step === maxSteps[i] - 1) finalObs[i] = obs.slice();
        } else {
          // Ended: frozen until reset.
          assert.equal(v.rewards[i], 0);
          assert.equal(v.done[i], 1);
          assert.equal(v.truncated[i], 1);
          assert.deepEqual(obs, finalObs[i]);
        }
      }
    }
    // A new reset continues each env's stream like a sequential seedless reset.
    const r1 = await venv.reset([undefined, 5, undefined]);
    const again = [envs[0].reset(), envs[1].reset({ seed: 5 }), envs[2].reset()];
    again.forEach((r, i) => {
      assert.deepEqual(r1.observations.subarray(i * size, (i + 1) * size), r.observation);
    });
    const after = await venv.step(seeds.map((_, i) => actionFor(i, 0)));
    assert.deepEqual([...after.done], [0, 0, 0]);
  } finally {
    await venv.close();
    envs.forEach((env) => env.close());
  }
});

Deno.test("VectorEnv rejects malformed actions and seeds without stepping", async () => {
  const venv = await VectorEnv.create({ n: 2, workers: 1 });
  try {
    await assert.rejects(() => venv.step([0, 0, 0, 0, 0, 0]), /reset/);
    await venv.reset([1, 2]);
    await assert.rejects(() => venv.step([0, 0, 0]), TypeError);
    await assert.rejects(() => venv.step([0, 0, 0, 0, NaN, 0]), RangeError);
    await assert.rejects(() => venv.reset([1]), RangeError);
    const r = await venv.step([[0, 0, 0], [0, 0, 0]]);
    assert.deepEqual([...r.info.steps], [1, 1]);
  } finally {
    await venv.close();
  }
  await assert.rejects(() => VectorEnv.create({ n: 0 }), RangeError);
});
