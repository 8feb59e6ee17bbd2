import assert from "node:assert/strict";
import { join } from "node:path";
import { mixSeed } from "../../../src/random/mod.ts";
import { RolloutReader } from "../../../src/data/rollouts.ts";
import { runExperiment } from "../../../src/runner/mod.ts";
import { builtinStages } from "../../../src/stages/mod.ts";
import { COLLECT_CONTROLLER_LABEL } from "../../../src/stages/worldmodels/collect_controller.ts";

const TINY = new URL("../../../experiments/car_racing_tiny.yaml", import.meta.url).pathname;

Deno.test("worldmodels/collect_controller records a trained controller's noisy rollouts in collect's format, the same bytes for any batch of envs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_collect_controller_" });
  try {
    const file = join(dir, "iter.yaml");
    await Deno.writeTextFile(
      file,
      `extends: ${TINY}
name: collect_controller_test
stages:
  collect_controller:
    uses: worldmodels/collect_controller
    inputs:
      controller: "\${stages.train_controller.outs.controller}"
      vae: "\${stages.train_vae.outs.model}"
      rnn: "\${stages.train_rnn.outs.model}"
    with: { episodes: 3, max_steps: 25, action_noise: 0.3, envs: 3 }
`,
    );
    const runsDir = join(dir, "runs");
    const first = await runExperiment(file, { runsDir, builtins: builtinStages });
    assert.equal(first.status, "succeeded", JSON.stringify(first.stages, null, 1));
    const stage = first.stages.find((s) => s.name === "collect_controller")!;
    const reader = await RolloutReader.open(join(first.dir!, "collect_controller", "rollouts"));
    try {
      assert.deepEqual(
        reader.episodes.map((e) => [e.seed, e.length]),
        [0, 1, 2].map((i) => [mixSeed(1, COLLECT_CONTROLLER_LABEL, i), 25]),
      );
      const policy = reader.index.policy as Record<string, unknown>;
      assert.equal(policy.name, "controller");
      assert.equal(policy.action_noise, 0.3);
      const steps = await reader.readEpisode(0);
      // Noise reaches every dimension, and every action stays in the action space.
      const steer = Array.from({ length: 25 }, (_, t) => steps.actions[t * 3]);
      assert.ok(new Set(steer).size > 20, "noisy steering varies from step to step");
      for (let k = 0; k < steps.actions.length; k++) {
        const low = k % 3 === 0 ? -1 : 0;
        assert.ok(steps.actions[k] >= low && steps.actions[k] <= 1, `action ${k} in bounds`);
      }
    } finally {
      reader.close();
    }

    // One environment at a time gives the same episodes, byte for byte.
    const single = await runExperiment(file, {
      runsDir,
      builtins: builtinStages,
      sets: ["stages.collect_controller.with.envs=1"],
    });
    const again = single.stages.find((s) => s.name === "collect_controller")!;
    assert.equal(again.status, "ran");
    assert.deepEqual(again.outputs, stage.outputs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
