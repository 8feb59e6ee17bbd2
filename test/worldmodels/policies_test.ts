import assert from "node:assert/strict";
import { Random } from "../../src/random/mod.ts";
import { createPolicy, type PolicyName } from "../../src/worldmodels/policies.ts";

function run(name: PolicyName, seed: number, steps: number, actionRefreshRate = 1) {
  const policy = createPolicy(name, new Random(seed), { actionRefreshRate });
  return Array.from({ length: steps }, () => policy.next());
}

function meanVar(xs: number[]): [number, number] {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [mean, xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length];
}

function inBounds(a: number[]): boolean {
  return a[0] >= -1 && a[0] <= 1 && a[1] >= 0 && a[1] <= 1 && a[2] >= 0 && a[2] <= 1;
}

/** |observed - expected| within 5 standard errors of a mean of n draws with variance v. */
function near(observed: number, expected: number, variance: number, n: number): boolean {
  return Math.abs(observed - expected) < 5 * Math.sqrt(variance / n);
}

Deno.test("createPolicy('random') holds uniform actions for action_refresh_rate steps", () => {
  const actions = run("random", 1, 4 * 5000, 4);
  const blocks = [];
  for (let t = 0; t < actions.length; t += 4) {
    for (let k = 1; k < 4; k++) assert.deepEqual(actions[t + k], actions[t]);
    if (t > 0) assert.notDeepEqual(actions[t], actions[t - 1]);
    blocks.push(actions[t]);
  }
  assert.ok(blocks.every(inBounds));
  const n = blocks.length;
  const [steerMean, steerVar] = meanVar(blocks.map((a) => a[0]));
  assert.ok(near(steerMean, 0, 1 / 3, n), `steer mean ${steerMean}`);
  assert.ok(Math.abs(steerVar - 1 / 3) < 0.02, `steer variance ${steerVar}`);
  for (const i of [1, 2]) {
    const [mean, variance] = meanVar(blocks.map((a) => a[i]));
    assert.ok(near(mean, 0.5, 1 / 12, n), `mean ${mean}`);
    assert.ok(Math.abs(variance - 1 / 12) < 0.005, `variance ${variance}`);
  }
  assert.deepEqual(run("random", 1, 50, 4), actions.slice(0, 50));
  assert.notDeepEqual(run("random", 2, 50, 4), actions.slice(0, 50));
});

Deno.test("createPolicy('brownian') takes clipped steps of variance 1/50 every step", () => {
  const increments: number[] = [];
  let clipped = 0;
  for (let seed = 0; seed < 200; seed++) {
    const actions = run("brownian", seed, 100, 20); // the refresh rate does not apply
    assert.ok(actions.every(inBounds));
    for (let t = 1; t < actions.length; t++) {
      // From |steer| <= 0.3 the bounds are 5 standard deviations away: the step is unclipped.
      const [a, b] = [actions[t - 1][0], actions[t][0]];
      if (Math.abs(a) <= 0.3) increments.push(b - a);
      if (actions[t][1] === 0 || actions[t][1] === 1) clipped++;
    }
  }
  const [mean, variance] = meanVar(increments);
  assert.ok(increments.length > 5000, `${increments.length} increments`);
  assert.ok(near(mean, 0, 1 / 50, increments.length), `mean ${mean}`);
  assert.ok(Math.abs(variance / (1 / 50) - 1) < 0.1, `variance ${variance}`);
  assert.ok(clipped > 0, "gas never reached its bounds");
});

Deno.test("createPolicy('book') pushes first, then mixes nothing/gas/left/right/brake 1:4:2:2:1", () => {
  const refresh = 5;
  const counts = { nothing: 0, gas: 0, left: 0, right: 0, brake: 0 };
  const magnitudes: number[] = [];
  let refreshes = 0;
  for (let seed = 0; seed < 40; seed++) {
    const actions = run("book", seed, 500, refresh);
    for (let t = 0; t < refresh; t++) {
      assert.deepEqual(actions[t], [Math.fround(-0.1), 1, 0]);
    }
    for (let t = refresh; t < actions.length; t += refresh) {
      for (let k = 1; k < refresh; k++) assert.deepEqual(actions[t + k], actions[t]);
      const [steer, gas, brake] = actions[t];
      refreshes++;
      if (steer === 0 && gas === 0 && brake === 0) counts.nothing++;
      else if (gas > 0) counts.gas++, magnitudes.push(gas);
      else if (steer < 0) counts.left++, magnitudes.push(-steer);
      else if (steer > 0) counts.right++, magnitudes.push(steer);
      else counts.brake++, magnitudes.push(brake);
      assert.ok([steer, gas, brake].filter((x) => x !== 0).length <= 1);
    }
  }
  const expected = { nothing: 0.1, gas: 0.4, left: 0.2, right: 0.2, brake: 0.1 };
  for (const [key, p] of Object.entries(expected)) {
    const observed = counts[key as keyof typeof counts] / refreshes;
    assert.ok(near(observed, p, p * (1 - p), refreshes), `${key}: ${observed} vs ${p}`);
  }
  const [mean] = meanVar(magnitudes);
  assert.ok(near(mean, 0.5, 1 / 12, magnitudes.length), `magnitude mean ${mean}`);
});

Deno.test("createPolicy() rejects an unknown name and a refresh rate below 1", () => {
  assert.throws(() => createPolicy("greedy" as PolicyName, new Random(1)), {
    name: "TypeError",
    message: /not one of random, brownian, book/,
  });
  assert.throws(() => createPolicy("random", new Random(1), { actionRefreshRate: 0 }), {
    name: "RangeError",
  });
});
