import assert from "node:assert/strict";
import { join } from "node:path";
import { runExperiment } from "../../../src/runner/mod.ts";
import { builtinStages } from "../../../src/stages/mod.ts";
import { initBackend } from "../../../src/models/backend/mod.ts";
import { ConvVAE } from "../../../src/models/vae.ts";
import type { ControllerFile } from "../../../src/stages/worldmodels/train_controller.ts";
import {
  LINEAGE_FILE,
  mergeLineage,
  readLineage,
  writeLineage,
} from "../../../src/worldmodels/lineage.ts";

// Random rollouts -> M -> a dream-trained controller (dream_only), refined in reality from it
// (dream then real), whose rollouts train a second M, in whose dream a third controller learns:
// trained only in a dream, but not dream_only, since reality reached it through M's data.
const DREAM = `      mode: dream
      inputs: z
      popsize: 4
      episodes_per_candidate: 1
      generations: 1
      max_steps: 8
      eval_every: 0
      eval_episodes: 1
      envs_per_worker: 2`;
const EXPERIMENT = `name: lineage
seed: 3
stages:
  collect:
    uses: worldmodels/collect
    with: { episodes: 2, max_steps: 10, policy: book, action_refresh_rate: 4 }
  encode:
    uses: worldmodels/encode
    deps: { vae: vae }
    inputs: { rollouts: "\${stages.collect.outs.rollouts}", vae: "\${deps.vae}" }
    with: { batch_size: 10 }
  train_rnn:
    uses: worldmodels/train_rnn
    inputs: { series: "\${stages.encode.outs.series}" }
    with: { steps: 1, batch_size: 2, seq_len: 5, hidden: 8, mixtures: 2, reward: regression }
  dream:
    uses: worldmodels/train_controller
    deps: { vae: vae }
    inputs:
      vae: "\${deps.vae}"
      rnn: "\${stages.train_rnn.outs.model}"
      series: "\${stages.encode.outs.series}"
    with:
${DREAM}
  refine:
    uses: worldmodels/train_controller
    deps: { vae: vae }
    inputs: { vae: "\${deps.vae}", init: "\${stages.dream.outs.controller}" }
    with:
${DREAM.replace("mode: dream", "mode: real")}
  drive:
    uses: worldmodels/collect_controller
    deps: { vae: vae }
    inputs: { controller: "\${stages.refine.outs.controller}", vae: "\${deps.vae}" }
    with: { episodes: 2, max_steps: 10, envs: 2 }
  encode_drive:
    uses: worldmodels/encode
    deps: { vae: vae }
    inputs: { rollouts: "\${stages.drive.outs.rollouts}", vae: "\${deps.vae}" }
    with: { batch_size: 10 }
  train_rnn_drive:
    uses: worldmodels/train_rnn
    inputs: { series: "\${stages.encode_drive.outs.series}" }
    with: { steps: 1, batch_size: 2, seq_len: 5, hidden: 8, mixtures: 2, reward: regression }
  dream_drive:
    uses: worldmodels/train_controller
    deps: { vae: vae }
    inputs:
      vae: "\${deps.vae}"
      rnn: "\${stages.train_rnn_drive.outs.model}"
      series: "\${stages.encode_drive.outs.series}"
    with:
${DREAM}
${
  ["dream", "refine", "dream_drive"].map((s) =>
    `  evaluate_${s}:
    uses: worldmodels/evaluate
    deps: { vae: vae }
    inputs: { controller: "\${stages.${s}.outs.controller}", vae: "\${deps.vae}" }
    with: { episodes: 1, max_steps: 5, gif_steps: 0, solution: mean }
`
  ).join("")
}`;

Deno.test("evaluate's lineage facts: dream_only only when no controller trained in reality reached it through data or parameters; init continues the chain", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_lineage_" });
  try {
    await initBackend({ backend: "wasm" });
    const vae = new ConvVAE({ zSize: 4, seed: 1 });
    await vae.save(join(dir, "vae"));
    vae.dispose();
    const file = join(dir, "lineage.yaml");
    await Deno.writeTextFile(file, EXPERIMENT);
    const report = await runExperiment(file, {
      runsDir: join(dir, "runs"),
      builtins: builtinStages,
    });
    assert.equal(report.status, "succeeded", JSON.stringify(report.stages, null, 1));
    const facts = (name: string) => report.stages.find((s) => s.name === name)!.facts;
    assert.deepEqual(
      [facts("evaluate_dream").mode, facts("evaluate_dream").dream_only],
      ["dream", true],
    );
    assert.deepEqual(
      [facts("evaluate_refine").mode, facts("evaluate_refine").dream_only],
      ["dream then real", false],
    );
    assert.deepEqual(
      [facts("evaluate_dream_drive").mode, facts("evaluate_dream_drive").dream_only],
      ["dream", false],
    );
    assert.deepEqual(facts("evaluate_dream_drive").real_trained_upstream, [
      "worldmodels/collect_controller: a controller trained dream then real",
    ]);
    assert.equal(facts("evaluate_dream").inputs, "z");

    const run = report.dir!;
    const read = (stage: string): ControllerFile =>
      JSON.parse(Deno.readTextFileSync(join(run, stage, "controller", "controller.json")));
    const dream = read("dream"), refined = read("refine");
    assert.equal(refined.mode, "real");
    assert.deepEqual(refined.training, ["dream", "real"]);
    assert.deepEqual(refined.init, { solution: "mean", generation: 1, training: ["dream"] });
    assert.equal(dream.training, undefined, "a controller without init keeps its old format");
    // Random data carries no lineage file; everything downstream of the refined controller does.
    for (const [stage, out] of [["collect", "rollouts"], ["encode", "series"], ["dream", ""]]) {
      assert.deepEqual(await readLineage(join(run, stage, out || "controller")), [], stage);
    }
    for (const [stage, out] of [["drive", "rollouts"], ["train_rnn_drive", "model"]]) {
      assert.equal((await readLineage(join(run, stage, out))).length, 1, stage);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lineage records: none is written for an empty lineage, a union is sorted and unique, a damaged record is an error naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_lineage_unit_" });
  try {
    const a = join(dir, "a"), b = join(dir, "b"), c = join(dir, "c");
    await writeLineage(a, []);
    assert.equal(await Deno.stat(join(a, LINEAGE_FILE)).catch(() => null), null);
    await writeLineage(a, ["y"]);
    await writeLineage(b, ["x", "y"]);
    assert.deepEqual(await mergeLineage([a, b, undefined, join(dir, "none")], ["z"]), [
      "x",
      "y",
      "z",
    ]);
    await Deno.mkdir(c);
    await Deno.writeTextFile(join(c, LINEAGE_FILE), '{"format":"other"}');
    await assert.rejects(() => readLineage(c), new RegExp(`${LINEAGE_FILE}: not a ditto.lineage`));
    const plain = join(dir, "file.txt");
    await Deno.writeTextFile(plain, "x");
    assert.deepEqual(await readLineage(plain), [], "a file input has no lineage");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
