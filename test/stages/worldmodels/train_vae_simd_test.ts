import assert from "node:assert/strict";
import { join } from "node:path";
import { runExperiment } from "../../../src/runner/mod.ts";
import { builtinStages } from "../../../src/stages/mod.ts";

// Two short episodes and a small VAE trained on the SIMD engine for two epochs, with a
// checkpoint after every step.
const EXPERIMENT = `name: train_vae_simd
seed: 11
stages:
  collect:
    uses: worldmodels/collect
    with: { episodes: 2, max_steps: 12, policy: book, action_refresh_rate: 4, workers: 1 }
  train_vae:
    uses: worldmodels/train_vae
    inputs: { rollouts: "\${stages.collect.outs.rollouts}" }
    with:
      engine: simd
      epochs: 2
      batch_size: 6
      learning_rate: 0.001
      z_size: 8
      checkpoint_every: 1
      workers: 1
`;

/** Files named `name` one level below `dir` (none while `dir` does not exist). */
function filesBelow(dir: string, name: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => join(dir, e.name, name)).filter((path) => {
      try {
        return Deno.statSync(path).isFile;
      } catch {
        return false;
      }
    });
  } catch {
    return [];
  }
}

/** The bytes of the trained model's two weight files. */
function modelBytes(runDir: string): Uint8Array[] {
  return ["encoder", "decoder"].map((part) =>
    Deno.readFileSync(join(runDir, "train_vae", "model", part, "weights.bin"))
  );
}

Deno.test("train_vae with engine: simd gives the same model with 2 workers as with 1, and resumes from its checkpoint to the same bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_train_vae_simd_" });
  try {
    const file = join(dir, "experiment.yaml");
    await Deno.writeTextFile(file, EXPERIMENT);
    const run = (runs: string, sets: string[] = [], signal?: AbortSignal) =>
      runExperiment(file, { runsDir: join(dir, runs), builtins: builtinStages, sets, signal });

    const straight = await run("straight");
    assert.equal(straight.status, "succeeded", JSON.stringify(straight.stages, null, 1));
    const want = modelBytes(straight.dir!);
    const metrics = Deno.readTextFileSync(join(straight.dir!, "metrics", "train_vae.jsonl"));

    const two = await run("two", ["stages.train_vae.with.workers=2"]);
    assert.equal(two.status, "succeeded", JSON.stringify(two.stages, null, 1));
    assert.deepEqual(modelBytes(two.dir!), want);

    // Interrupt once a checkpoint exists, then run again: it continues from the checkpoint.
    const abort = new AbortController();
    const checkpoints = join(dir, "resumed", ".store", "checkpoints");
    const watch = setInterval(() => {
      if (filesBelow(checkpoints, "train_vae.state").length > 0) abort.abort();
    }, 10);
    const interrupted = await run("resumed", [], abort.signal).finally(() => clearInterval(watch));
    assert.notEqual(interrupted.status, "succeeded");
    assert.equal(filesBelow(checkpoints, "train_vae.state").length, 1);
    const resumed = await run("resumed");
    assert.equal(resumed.status, "succeeded", JSON.stringify(resumed.stages, null, 1));
    const facts = JSON.parse(Deno.readTextFileSync(join(resumed.dir!, "run.json")));
    assert.ok(JSON.stringify(facts).includes("resumed_from_step"));
    assert.ok(JSON.stringify(facts).includes(`"engine":"simd"`));
    assert.deepEqual(modelBytes(resumed.dir!), want);
    assert.equal(
      Deno.readTextFileSync(join(resumed.dir!, "metrics", "train_vae.jsonl")),
      metrics,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
