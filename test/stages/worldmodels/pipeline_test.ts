import assert from "node:assert/strict";
import { join } from "node:path";
import { runExperiment } from "../../../src/runner/mod.ts";
import { builtinStages } from "../../../src/stages/mod.ts";

const TINY = new URL("../../../experiments/car_racing_tiny.yaml", import.meta.url).pathname;
const STAGES = [
  "collect",
  "train_vae",
  "encode",
  "baseline",
  "train_rnn",
  "train_controller",
  "refine",
  "evaluate",
];

Deno.test("experiments/car_racing_tiny.yaml runs the whole World Models DAG; a rerun runs nothing; more generations of the refinement rerun only it and the evaluation", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "ditto_pipeline_" });
  try {
    const first = await runExperiment(TINY, { runsDir, builtins: builtinStages });
    assert.equal(first.status, "succeeded", JSON.stringify(first.stages, null, 1));
    assert.deepEqual(first.stages.map((s) => [s.name, s.status]), STAGES.map((s) => [s, "ran"]));
    const evaluation = JSON.parse(
      await Deno.readTextFile(join(first.dir!, "evaluate", "report", "returns.json")),
    );
    assert.equal(evaluation.episodes, 3);
    assert.equal(evaluation.inputs, "zh");
    const facts = first.stages.find((s) => s.name === "evaluate")!.facts;
    assert.deepEqual([facts.inputs, facts.mode, facts.dream_only], ["zh", "real", false]);
    // The baseline runs on evaluate's tracks.
    const floor = JSON.parse(
      await Deno.readTextFile(join(first.dir!, "baseline", "report", "returns.json")),
    );
    assert.deepEqual(
      floor.per_episode.map((e: { seed: number }) => e.seed),
      evaluation.per_episode.map((e: { seed: number }) => e.seed),
    );
    assert.ok((await Deno.stat(join(first.dir!, "evaluate", "report", "episode.gif"))).size > 0);

    const again = await runExperiment(TINY, { runsDir, builtins: builtinStages });
    assert.deepEqual(again.stages.map((s) => s.status), STAGES.map(() => "cached"));

    const longer = await runExperiment(TINY, {
      runsDir,
      builtins: builtinStages,
      sets: ["stages.refine.with.generations=2"],
    });
    assert.equal(longer.status, "succeeded", JSON.stringify(longer.stages, null, 1));
    assert.deepEqual(
      longer.stages.map((s) => s.status),
      ["cached", "cached", "cached", "cached", "cached", "cached", "ran", "ran"],
    );
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
});
