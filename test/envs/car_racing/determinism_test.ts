import assert from "node:assert/strict";
import { CarRacing } from "../../../src/envs/car_racing/mod.ts";
import { rolloutDigest } from "./_rollout_digest.ts";

Deno.test("CarRacing gives byte-identical rollouts in this process and in a subprocess", async () => {
  const here = await rolloutDigest();
  assert.equal(await rolloutDigest(), here);
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_rollout_digest.ts", import.meta.url).pathname],
    cwd: new URL("../../../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(child.code, 0, new TextDecoder().decode(child.stderr));
  assert.equal(new TextDecoder().decode(child.stdout).trim(), here);
});

Deno.test("an episode does not depend on what the environment did before its reset", async () => {
  const fresh = await CarRacing.create();
  const used = await CarRacing.create();
  try {
    used.reset({ seed: 1 });
    for (let i = 0; i < 120; i++) used.step([0.5, 1, 0]);
    const a = fresh.reset({ seed: 21 });
    const b = used.reset({ seed: 21 });
    assert.deepEqual(a.observation, b.observation);
    for (let i = 0; i < 100; i++) {
      const action = [Math.sin(i / 7), 0.6, i % 10 === 0 ? 0.5 : 0];
      const ra = fresh.step(action);
      const rb = used.step(action);
      assert.deepEqual(ra.observation, rb.observation);
      assert.equal(ra.reward, rb.reward);
    }
    assert.deepEqual(fresh.state(), used.state());
    assert.deepEqual(fresh.track, used.track);
  } finally {
    fresh.close();
    used.close();
  }
});

Deno.test("different seeds give different tracks", async () => {
  const env = await CarRacing.create();
  try {
    env.reset({ seed: 1 });
    const a = env.track.map((p) => p.x);
    env.reset({ seed: 2 });
    assert.notDeepEqual(env.track.map((p) => p.x), a);
  } finally {
    env.close();
  }
});
