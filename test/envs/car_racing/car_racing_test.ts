import assert from "node:assert/strict";
import { CarRacing } from "../../../src/envs/car_racing/mod.ts";
import { TrackFollower } from "../../../src/envs/car_racing/track_follower.ts";
import { PLAYFIELD } from "../../../src/envs/car_racing/constants.ts";
import { loadBox2D } from "../../../src/envs/car_racing/box2d.ts";

function speed(env: CarRacing): number {
  const { hull } = env.state();
  return Math.hypot(hull.vx, hull.vy);
}

Deno.test("CarRacing.reset() spawns the car on tile 0 and pays tiles touched during reset", async () => {
  const env = await CarRacing.create({ observation: "pixels96" });
  try {
    const { observation, info } = env.reset({ seed: 3 });
    assert.equal(observation.length, 96 * 96 * 3);
    assert.equal(info.tilesTotal, env.track.length);
    assert.equal(info.step, 0);
    assert.ok(info.trackAttempts >= 1);
    const s = env.state();
    const p0 = env.track[0];
    // The hull starts at track[0] facing along the road: (-sin beta, cos beta).
    assert.ok(Math.hypot(s.hull.x - p0.x, s.hull.y - p0.y) < 0.1);
    assert.ok(Math.abs(s.hull.angle - p0.beta) < 0.01);
    assert.ok(s.wheels.every((w) => w.tiles > 0), "all wheels start on the road");
    // gym's reset runs one physics step; the tiles under the wheels are already visited.
    assert.ok(info.tilesVisited > 0);
    assert.ok(Math.abs(info.episodeReward - info.tilesVisited * 1000 / info.tilesTotal) < 1e-9);
    // The first real step reports those tiles (and -0.1).
    const r = env.step([0, 0, 0]);
    assert.ok(Math.abs(r.reward - (info.episodeReward - 0.1)) < 1e-9);
  } finally {
    env.close();
  }
});

Deno.test("CarRacing.step() rewards -0.1 per step plus 1000/N per new tile and ends a full lap", async () => {
  const env = await CarRacing.create({ maxSteps: 2500 });
  try {
    const { info: first } = env.reset({ seed: 3 });
    const n = first.tilesTotal;
    const driver = new TrackFollower();
    let total = 0;
    let visited = first.tilesVisited;
    let steps = 0;
    let r;
    do {
      r = env.step(driver.act(env));
      steps++;
      total += r.reward;
      // Every step's reward is -0.1 plus a whole number of tiles (tiles seen during reset
      // are paid on the first step).
      const gained = r.info.tilesVisited - (steps === 1 ? 0 : visited);
      assert.ok(
        Math.abs(r.reward - (-0.1 + gained * 1000 / n)) < 1e-9,
        `step ${steps}: reward ${r.reward}, ${gained} tiles`,
      );
      visited = r.info.tilesVisited;
    } while (!r.terminated && !r.truncated);
    assert.equal(r.terminated, true);
    assert.equal(r.truncated, false);
    assert.equal(r.info.tilesVisited, n);
    assert.equal(r.info.step, steps);
    // A perfect lap returns 1000 - 0.1 * steps.
    assert.ok(Math.abs(total - (1000 - 0.1 * steps)) < 1e-6, `return ${total} in ${steps} steps`);
    assert.ok(Math.abs(r.info.episodeReward - total) < 1e-6);
    assert.throws(() => env.step([0, 0, 0]), /episode has ended/);
  } finally {
    env.close();
  }
});

Deno.test("CarRacing.step() terminates with -100 when the hull leaves the playfield", async () => {
  const env = await CarRacing.create({ maxSteps: 5000 });
  try {
    env.reset({ seed: 11 });
    let r;
    let steps = 0;
    // Steer towards the nearest edge of the field at a moderate speed (grass is slippery).
    do {
      const { hull } = env.state();
      const target = Math.abs(hull.x) > Math.abs(hull.y)
        ? [Math.sign(hull.x), 0]
        : [0, Math.sign(hull.y)];
      const hx = -Math.sin(hull.angle);
      const hy = Math.cos(hull.angle);
      const err = Math.atan2(hx * target[1] - hy * target[0], hx * target[0] + hy * target[1]);
      const v = Math.hypot(hull.vx, hull.vy);
      r = env.step([-2 * err, v < 25 ? 0.3 : 0, 0]);
      steps++;
    } while (!r.terminated && !r.truncated && steps < 5000);
    const { hull } = env.state();
    assert.equal(r.terminated, true);
    assert.equal(r.truncated, false);
    assert.equal(r.reward, -100);
    assert.ok(Math.abs(hull.x) > PLAYFIELD || Math.abs(hull.y) > PLAYFIELD);
    // gym's accumulated reward keeps the step's -0.1 and never sees the -100.
    const { tilesVisited, tilesTotal } = r.info;
    const expected = tilesVisited * 1000 / tilesTotal - 0.1 * steps;
    assert.ok(Math.abs(r.info.episodeReward - expected) < 1e-6);
  } finally {
    env.close();
  }
});

Deno.test("CarRacing.step() truncates at maxSteps", async () => {
  const env = await CarRacing.create({ maxSteps: 20 });
  try {
    env.reset({ seed: 1 });
    for (let i = 1; i < 20; i++) {
      const r = env.step([0, 0, 0]);
      assert.equal(r.truncated, false);
      assert.equal(r.terminated, false);
    }
    const last = env.step([0, 0, 0]);
    assert.equal(last.truncated, true);
    assert.equal(last.terminated, false);
    assert.equal(last.info.step, 20);
    assert.throws(() => env.step([0, 0, 0]), Error);
    // A new episode starts after reset.
    env.reset();
    assert.equal(env.step([0, 0, 0]).truncated, false);
  } finally {
    env.close();
  }
});

Deno.test("full gas accelerates as the spec's calibration; locked brakes stop at the friction limit", async () => {
  const env = await CarRacing.create({ maxSteps: 3000 });
  try {
    env.reset({ seed: 3 });
    const v: number[] = [];
    for (let i = 0; i < 50; i++) {
      env.step([0, 1, 0]);
      v.push(speed(env));
      assert.ok(env.state().wheels.every((w) => w.tiles > 0), "the first 50 steps stay on road");
    }
    // Spec §4.3: ~10 u/s after 10 steps, ~45 u/s after 50 on road.
    assert.ok(v[9] > 8.5 && v[9] < 12.5, `speed after 10 steps ${v[9]}`);
    assert.ok(v[49] > 41 && v[49] < 50, `speed after 50 steps ${v[49]}`);
    // Rear wheels spin faster than the road speed (traction-limited), fronts roll freely.
    const w = env.state().wheels;
    assert.ok(w[2].omega * 0.54 > v[49] && Math.abs(w[0].omega * 0.54 - v[49]) < 3);

    // Brake >= 0.9 locks the wheels: each of 4 tyres pushes at most 400, so the car loses
    // 4 * 400 * 0.02 / 7.30 = 4.38 u/s per step until it stops.
    let prev = v[49];
    let stoppedAt = -1;
    for (let i = 0; i < 30; i++) {
      env.step([0, 0, 1]);
      const s = speed(env);
      if (prev > 6) assert.ok(Math.abs(prev - s - 4.382) < 0.05, `brake step ${i}: ${prev - s}`);
      assert.ok(s <= prev + 1e-6);
      if (s < 0.01 && stoppedAt < 0) stoppedAt = i;
      prev = s;
    }
    assert.ok(stoppedAt >= 9 && stoppedAt <= 14, `stopped after ${stoppedAt} steps`);
    assert.ok(env.state().wheels.every((w) => w.omega === 0 || Math.abs(w.omega) < 0.01));
  } finally {
    env.close();
  }
});

Deno.test("the car never exceeds Box2D's 100 u/s translation cap", async () => {
  const env = await CarRacing.create({ maxSteps: 400 });
  try {
    env.reset({ seed: 3 });
    let top = 0;
    for (let i = 0; i < 130; i++) {
      env.step([0, 1, 0]);
      top = Math.max(top, speed(env));
    }
    assert.ok(top > 90 && top <= 100 + 1e-3, `top speed ${top}`);
  } finally {
    env.close();
  }
});

Deno.test("CarRacing.step() clips actions and rejects NaN, wrong lengths and non-numbers", async () => {
  const a = await CarRacing.create();
  const b = await CarRacing.create();
  try {
    a.reset({ seed: 5 });
    b.reset({ seed: 5 });
    for (let i = 0; i < 30; i++) {
      const ra = a.step([7, 3, -2]);
      const rb = b.step(new Float32Array([1, 1, 0]));
      assert.deepEqual(ra.observation, rb.observation);
      assert.equal(ra.reward, rb.reward);
    }
    assert.deepEqual(a.state(), b.state());
    assert.throws(() => a.step([0, NaN, 0]), RangeError);
    assert.throws(() => a.step([0, 1]), TypeError);
    assert.throws(() => a.step([0, 1, 0, 0]), TypeError);
    assert.throws(() => a.step(["0", 1, 0] as unknown as number[]), TypeError);
    assert.throws(() => a.step(null as unknown as number[]), TypeError);
    // A rejected action leaves the world untouched.
    a.step([0, 0, 0]);
    b.step([0, 0, 0]);
    assert.deepEqual(a.state(), b.state());
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("CarRacing rejects bad options, a seedless first reset and use after close", async () => {
  await assert.rejects(() => CarRacing.create({ maxSteps: 0 }), RangeError);
  await assert.rejects(
    () => CarRacing.create({ observation: "rgb" as unknown as "pixels64" }),
    TypeError,
  );
  const env = await CarRacing.create();
  assert.throws(() => env.step([0, 0, 0]), /reset/);
  assert.throws(() => env.reset(), RangeError);
  env.reset({ seed: 0 });
  env.close();
  assert.throws(() => env.step([0, 0, 0]), /closed/);
});

Deno.test("resets do not accumulate box2d-wasm wrapper objects", async () => {
  const b = await loadBox2D();
  const env = await CarRacing.create();
  try {
    for (let seed = 0; seed < 25; seed++) {
      env.reset({ seed });
      for (let i = 0; i < 30; i++) env.step([0.5, 1, 0]);
    }
    // Only the live world's wrappers remain: N tiles + hull + 4 wheels, no contacts.
    const bodies = Object.keys(b.getCache(b.b2Body)).length;
    const fixtures = Object.keys(b.getCache(b.b2Fixture)).length;
    assert.ok(bodies <= env.track.length + 5, `${bodies} body wrappers`);
    assert.ok(fixtures <= env.track.length + 8, `${fixtures} fixture wrappers`);
    assert.equal(Object.keys(b.getCache(b.b2Contact)).length, 0);
  } finally {
    env.close();
  }
});
