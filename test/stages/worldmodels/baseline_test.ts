import assert from "node:assert/strict";
import { join } from "node:path";
import { CarRacing } from "../../../src/envs/car_racing/mod.ts";
import { runExperiment } from "../../../src/runner/mod.ts";
import { builtinStages } from "../../../src/stages/mod.ts";
import { runBaselineEpisode } from "../../../src/stages/worldmodels/baseline.ts";
import { evaluateEpisodeSeed } from "../../../src/worldmodels/held_out.ts";

const EXPERIMENT = `
name: baseline_test
seed: 5
stages:
  baseline:
    uses: worldmodels/baseline
    with: { policy: random, episodes: 3, max_steps: 60 }
`;

Deno.test("worldmodels/baseline scores the policy on evaluate's held-out tracks, the same returns on a rerun", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "baseline.yaml");
    await Deno.writeTextFile(file, EXPERIMENT);
    const runsDir = join(dir, "runs");
    const run = await runExperiment(file, { runsDir, builtins: builtinStages });
    assert.equal(run.status, "succeeded", JSON.stringify(run.stages));
    const report = JSON.parse(
      await Deno.readTextFile(join(run.dir!, "baseline", "report", "returns.json")),
    );
    assert.equal(report.format, "ditto.evaluation");
    assert.equal(report.policy, "random");
    assert.deepEqual(
      report.per_episode.map((e: { seed: number }) => e.seed),
      [0, 1, 2].map((i) => evaluateEpisodeSeed(5, i)),
    );
    const returns = report.per_episode.map((e: { return: number }) => e.return);
    assert.ok(Math.abs(report.mean_return - (returns[0] + returns[1] + returns[2]) / 3) < 1e-9);
    // 60 steps of random actions: -0.1 per step, plus whatever tiles the car happens to reach.
    for (const e of report.per_episode) assert.equal(e.length, 60);

    // The same episode replayed outside the runner gives the same return.
    const env = await CarRacing.create({ maxSteps: 60 });
    try {
      const again = runBaselineEpisode(env, { seed: evaluateEpisodeSeed(5, 1), episode: 1 }, {
        policy: "random",
        action_refresh_rate: 1,
      });
      assert.equal(again.return, returns[1]);
      const parked = runBaselineEpisode(env, { seed: evaluateEpisodeSeed(5, 1), episode: 1 }, {
        policy: "book",
        action_refresh_rate: 1000,
      });
      assert.notEqual(parked.return, again.return);
    } finally {
      env.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
