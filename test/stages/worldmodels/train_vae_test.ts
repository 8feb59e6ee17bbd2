import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { decode as decodePng } from "fast-png";
import { mixSeed, Random } from "../../../src/random/mod.ts";
import { RolloutReader, shuffledRows } from "../../../src/data/rollouts.ts";
import { initBackend } from "../../../src/models/backend/mod.ts";
import { fileHandler } from "../../../src/models/backend/layers_io.ts";
import { ConvVAE, framesToTensor } from "../../../src/models/vae.ts";
import { gridRows, vaeInitSeed } from "../../../src/stages/worldmodels/train_vae.ts";

const CLI = new URL("../../../src/cli/main.ts", import.meta.url).pathname;
const EXPERIMENT = new URL("./testdata/tiny_pipeline.yaml", import.meta.url).pathname;

type Metric = { step: number; loss: number; reconstruction: number; kl: number };

function spawnRun(runsDir: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", CLI, "run", EXPERIMENT, "--runs", runsDir, "--json"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Files named `name` one level below `dir` (empty when `dir` does not exist yet). */
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

function parseMetrics(text: string): Metric[] {
  return text.trim().split("\n").filter((l) => l).map((line) => JSON.parse(line));
}

/** The metrics train_vae has logged so far in the store's temporary folders. */
function liveVaeMetrics(runsDir: string): Metric[] {
  for (const path of filesBelow(join(runsDir, ".store", "tmp"), "metrics.jsonl")) {
    try {
      const metrics = parseMetrics(Deno.readTextFileSync(path));
      if (metrics.length > 0 && "reconstruction" in metrics[0]) return metrics;
    } catch {
      // Removed meanwhile.
    }
  }
  return [];
}

/** Mean summed squared error per frame of `vae`'s mean reconstructions of `frames`. */
function reconstructionError(vae: ConvVAE, frames: Uint8Array, n: number): number {
  return tf.tidy(() => {
    const x = framesToTensor(frames, n);
    return tf.mean(tf.sum(tf.squaredDifference(vae.reconstruct(x), x), [1, 2, 3])).dataSync()[0];
  });
}

Deno.test("worldmodels/train_vae killed with SIGKILL resumes from its checkpoint, with the steps an uninterrupted run takes, and the pipeline finishes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_train_vae_" });
  try {
    const runsDir = join(dir, "runs");
    const child = spawnRun(runsDir);
    // Kill once a checkpoint exists and the step after it has been logged.
    const checkpoints = join(runsDir, ".store", "checkpoints");
    let before: Metric[] = [];
    const start = Date.now();
    while (true) {
      if (Date.now() - start > 180_000) throw new Error("Timed out waiting for a checkpoint");
      if (filesBelow(checkpoints, "train_vae.state").length > 0) {
        before = liveVaeMetrics(runsDir);
        if (before.length >= 3) break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
    // The orphaned stage host notices that its runner is gone and stops.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(filesBelow(checkpoints, "train_vae.state").length, 1);

    const rerun = await spawnRun(runsDir).output();
    const stderr = new TextDecoder().decode(rerun.stderr);
    assert.equal(rerun.code, 0, stderr);
    const report = JSON.parse(new TextDecoder().decode(rerun.stdout));
    assert.deepEqual(
      report.stages.map((s: { name: string; status: string }) => [s.name, s.status]),
      [["collect", "cached"], ["train_vae", "ran"], ["encode", "ran"], ["train_rnn", "ran"]],
    );
    const runDir: string = report.dir;
    const record = JSON.parse(await Deno.readTextFile(join(runDir, "run.json")));
    const vaeStage = record.stages.find((s: { name: string }) => s.name === "train_vae");
    const resumedFrom = vaeStage.facts.resumed_from_step as number;
    assert.ok(resumedFrom >= 2 && resumedFrom < 8, `resumed from step ${resumedFrom}`);
    assert.ok(resumedFrom < before.length, "the killed run got past the checkpoint");
    assert.equal(vaeStage.facts.backend.name, "wasm");
    assert.equal(vaeStage.facts.steps, 8);

    // The metrics cover every step once; the steps the killed run logged are identical,
    // both those replayed from the checkpoint and those recomputed after it.
    const after = parseMetrics(await Deno.readTextFile(join(runDir, "metrics", "train_vae.jsonl")));
    assert.deepEqual(after.map((m) => m.step), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(after.slice(0, before.length), before);
    for (const m of after) assert.ok(Number.isFinite(m.loss) && m.kl >= 4 - 1e-3, `step ${m.step}`);
    assert.deepEqual(
      [...Deno.readDirSync(checkpoints)],
      [],
      "checkpoints are dropped after success",
    );

    // The model loads (layers format) and reconstructs better than its initialisation.
    await initBackend({ backend: "wasm" });
    const model = join(runDir, "train_vae", "model");
    const encoder = await tf.loadLayersModel(fileHandler(join(model, "encoder")));
    const decoder = await tf.loadLayersModel(fileHandler(join(model, "decoder")));
    tf.tidy(() => {
      const [mu, logvar] = encoder.predict(tf.zeros([2, 64, 64, 3])) as tf.Tensor[];
      assert.deepEqual([mu.shape, logvar.shape], [[2, 8], [2, 8]]);
      assert.deepEqual((decoder.predict(mu) as tf.Tensor).shape, [2, 64, 64, 3]);
    });
    encoder.dispose();
    decoder.dispose();
    const trained = await ConvVAE.load(model);
    assert.equal(trained.zSize, 8);
    const initial = new ConvVAE({ zSize: 8, seed: vaeInitSeed(7) });
    const reader = await RolloutReader.open(join(runDir, "collect", "rollouts"));
    try {
      // Step 0 computed here in one piece (the first 6 rows of epoch 0's shuffle, the noise of
      // step 0, the initial weights) has the loss the stage got from its two threads.
      const label = "worldmodels/train_vae";
      const rows0 = shuffledRows(reader.frameCount, mixSeed(7, label, "shuffle"), 0).slice(0, 6);
      const frames0 = await reader.readFramesAt(rows0);
      const noise = new Random(mixSeed(7, label, "eps", 0));
      const eps0 = Float32Array.from({ length: 6 * 8 }, () => noise.normal());
      const loss0 = tf.tidy(() =>
        initial.lossTerms(framesToTensor(frames0, 6), tf.tensor2d(eps0, [6, 8])).loss.dataSync()[0]
      );
      assert.ok(Math.abs(loss0 - after[0].loss) <= 1e-5 * loss0, `${loss0} vs ${after[0].loss}`);
      const frames = await reader.readFrames(0, reader.frameCount);
      const trainedError = reconstructionError(trained, frames, reader.frameCount);
      const initialError = reconstructionError(initial, frames, reader.frameCount);
      assert.ok(
        trainedError < 0.9 * initialError,
        `reconstruction error ${trainedError} after training, ${initialError} before`,
      );
      // The grid: 8 frames spread over the dataset above their reconstructions.
      const png = decodePng(
        await Deno.readFile(join(runDir, "train_vae/reconstructions/grid.png")),
      );
      assert.deepEqual([png.width, png.height, png.channels, png.depth], [512, 128, 3, 8]);
      const rows = gridRows(reader.frameCount);
      const originals = await reader.readFramesAt(rows);
      const data = png.data as Uint8Array;
      for (let k = 0; k < rows.length; k++) {
        for (const y of [0, 31, 63]) {
          const from = (k * 64 * 64 + y * 64) * 3;
          const to = (y * 512 + k * 64) * 3;
          assert.deepEqual(data.subarray(to, to + 64 * 3), originals.subarray(from, from + 64 * 3));
        }
      }
    } finally {
      reader.close();
      trained.dispose();
      initial.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
