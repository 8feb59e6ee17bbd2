import assert from "node:assert/strict";
import type { SeriesEpisode } from "../../src/data/series.ts";
import { MdnRnn } from "../../src/models/mdn_rnn.ts";
import { measureDreamGap, measureRnn } from "../../src/worldmodels/rnn_quality.ts";

const Z = 4;

/** An M whose head ignores h: one fixed Gaussian N(0, 1) per dimension, fixed reward and done. */
function fixedRnn(reward: number, done: number): MdnRnn {
  const rnn = new MdnRnn({
    zSize: Z,
    actionSize: 3,
    hidden: 8,
    mixtures: 1,
    rewardHead: true,
    rewardRegression: true,
    rewardScale: 0.5,
    doneHead: true,
  }, { seed: 1 });
  const headBias = new Float32Array(rnn.outputs); // logit 0, mean 0, log-std 0 per dimension
  headBias[Z * 3] = reward;
  headBias[Z * 3 + 1] = done;
  rnn.setWeights({
    ...rnn.weights,
    headKernel: new Float32Array(rnn.weights.headKernel.length),
    headBias,
  });
  return rnn;
}

/** An episode of `length` steps with z exactly `value` (logvar -inf-like), rewards given. */
function episode(rewards: number[], done: boolean, value: number): SeriesEpisode {
  const length = rewards.length;
  const dones = new Uint8Array(length);
  if (done) dones[length - 1] = 1;
  return {
    mu: new Float32Array(length * Z).fill(value),
    logvar: new Float32Array(length * Z).fill(-80),
    actions: new Float32Array(length * 3),
    rewards: Float32Array.from(rewards),
    dones,
  };
}

Deno.test("measureRnn() gives the next-z NLL, the reward error in gym's units and done precision/recall", () => {
  const episodes = [episode([1, 1, -3], true, 0), episode([1, 1], false, 2)];
  // Predicted reward 0.5 / 0.5 = 1 gym unit; done logit 1 fires at every step.
  const q = measureRnn(fixedRnn(0.5, 1), episodes, 3);
  const half = 0.5 * Math.log(2 * Math.PI);
  // Transitions: 2 with z = 0 (NLL log sqrt(2 pi)) and 1 with z = 2 (plus 2^2 / 2).
  assert.equal(q.transitions, 3);
  assert.ok(Math.abs(q.z_nll - (3 * half + 2) / 3) < 1e-4, `z_nll ${q.z_nll}`);
  // Errors: 0, 0, 4 (the -3), 0, 0 over 5 steps.
  assert.ok(Math.abs(q.reward_mae! - 4 / 5) < 1e-6, `mae ${q.reward_mae}`);
  assert.ok(Math.abs(q.reward_rmse! - Math.sqrt(16 / 5)) < 1e-6, `rmse ${q.reward_rmse}`);
  assert.deepEqual(
    [q.done_actual, q.done_predicted, q.done_precision, q.done_recall],
    [1, 5, 1 / 5, 1],
  );
  // Never fires: no precision, recall 0.
  const quiet = measureRnn(fixedRnn(0.5, -1), episodes, 3);
  assert.deepEqual([quiet.done_predicted, quiet.done_precision, quiet.done_recall], [
    0,
    undefined,
    0,
  ]);
  assert.deepEqual(measureRnn(fixedRnn(0.5, 1), episodes, 3), q);
});

Deno.test("measureDreamGap() replays the held-out actions in the dream from the warmed-up state and compares returns", () => {
  // The fixed M pays its reward bias / rewardScale every dream step and never fires done.
  const rnn = fixedRnn(0.5, -1);
  const paid = rnn.decodeReward(0.5);
  const a = episode(new Array(30).fill(0).map((_, t) => t === 25 ? 4 : -0.1), false, 0);
  const b = episode(new Array(25).fill(-0.1), true, 0);
  const short = episode(new Array(10).fill(-0.1), false, 0); // not longer than the warm-up
  const gap = measureDreamGap(rnn, [a, short, b], 7, { warmup: 20 })!;
  assert.equal(gap.dream_episodes, 2);
  const realA = 9 * -0.1 + 4, realB = 5 * -0.1;
  assert.ok(Math.abs(gap.real_return - (realA + realB) / 2) < 1e-5, `${gap.real_return}`);
  assert.ok(Math.abs(gap.dream_return - (10 * paid + 5 * paid) / 2) < 1e-4, `${gap.dream_return}`);
  assert.ok(Math.abs(gap.dream_gap - (gap.dream_return - gap.real_return)) < 1e-9);
  const absExpected = (Math.abs(10 * paid - realA) + Math.abs(5 * paid - realB)) / 2;
  assert.ok(Math.abs(gap.dream_gap_abs - absExpected) < 1e-4);
  // A done head that fires at once ends each dream after its first step.
  const ends = measureDreamGap(fixedRnn(0.5, 1), [a, b], 7, { warmup: 20 })!;
  assert.ok(Math.abs(ends.dream_return - paid) < 1e-5, `${ends.dream_return}`);
  assert.deepEqual(
    measureDreamGap(rnn, [a, b], 7, { warmup: 20 }),
    measureDreamGap(rnn, [a, b], 7, { warmup: 20 }),
  );
  assert.equal(measureDreamGap(rnn, [short], 7, { warmup: 20 }), undefined);
});
