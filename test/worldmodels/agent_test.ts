import assert from "node:assert/strict";
import { join } from "node:path";
import { initBackend } from "../../src/models/backend/mod.ts";
import { ConvVAE } from "../../src/models/vae.ts";
import { MdnRnn } from "../../src/models/mdn_rnn.ts";
import { Random } from "../../src/random/mod.ts";
import { ControllerDriver } from "../../src/worldmodels/agent.ts";
import { DriverPool } from "../../src/worldmodels/agent_pool.ts";

Deno.test("ControllerDriver: an episode's outcome does not depend on the batch it runs in; a car that never moves is stopped by noProgressSteps", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_driver_" });
  try {
    await initBackend({ backend: "wasm" });
    const vae = new ConvVAE({ zSize: 8, seed: 3 });
    await vae.save(join(dir, "vae"));
    vae.dispose();
    await new MdnRnn({ zSize: 8, hidden: 8, mixtures: 2 }, { seed: 4 }).save(join(dir, "rnn"));
    const make = (slots: number) =>
      ControllerDriver.create({
        vae: join(dir, "vae"),
        rnn: join(dir, "rnn"),
        inputs: "zh",
        maxSteps: 40,
        slots,
      });
    const batched = await make(3);
    const alone = await make(1);
    try {
      assert.equal(batched.parameterCount, (8 + 8 + 1) * 3);
      const rng = new Random(9);
      const candidates = [0, 1].map(() =>
        Float32Array.from({ length: batched.parameterCount }, () => 0.5 * rng.normal())
      );
      const jobs = [
        { candidate: 0, seed: 101 },
        { candidate: 1, seed: 102 },
        { candidate: 1, seed: 103 },
        { candidate: 0, seed: 104 },
        { candidate: 1, seed: 101 },
      ];
      const together = await batched.run(candidates, jobs);
      assert.equal(together.length, 5);
      for (const [i, job] of jobs.entries()) {
        const [single] = await alone.run(candidates, [job]);
        assert.deepEqual(single, together[i], `job ${i}`);
      }

      // Full brake, no gas: no new tile is ever reached.
      const parked = new Float32Array(batched.parameterCount);
      parked[1] = -20;
      parked[2] = 20;
      const [stopped, full] = [
        (await batched.run([parked], [{ candidate: 0, seed: 5 }], { noProgressSteps: 12 }))[0],
        (await batched.run([parked], [{ candidate: 0, seed: 5 }]))[0],
      ];
      // 12 steps after the last positive reward (the first step may still pay for the tile
      // under the car at reset).
      assert.ok(stopped.length === 12 || stopped.length === 13, `stopped after ${stopped.length}`);
      assert.equal(stopped.terminated, false);
      assert.equal(full.length, 40);
      assert.ok(together[0].return > full.return, "a driving controller beats a parked one");
    } finally {
      batched.close();
      alone.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DriverPool reports every ended episode from its Workers and returns outcomes in job order", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_agent_pool_" });
  try {
    await initBackend({ backend: "wasm" });
    const vae = new ConvVAE({ zSize: 8, seed: 3 });
    await vae.save(join(dir, "vae"));
    vae.dispose();
    const config = { vae: join(dir, "vae"), inputs: "z" as const, maxSteps: 15, slots: 2 };
    const pool = await DriverPool.create(config, { workers: 2 });
    const alone = await ControllerDriver.create(config);
    try {
      const candidate = Float32Array.from({ length: alone.parameterCount }, (_, i) => (i % 5) - 2);
      const jobs = [201, 202, 203, 204, 205].map((seed) => ({ candidate: 0, seed }));
      const counts: number[] = [];
      const outcomes = await pool.run([candidate], jobs, { onEpisode: (n) => counts.push(n) });
      assert.deepEqual(counts, [1, 2, 3, 4, 5]);
      assert.deepEqual(outcomes, await alone.run([candidate], jobs));
    } finally {
      pool.close();
      alone.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
