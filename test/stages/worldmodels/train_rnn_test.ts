import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { Random } from "../../../src/random/mod.ts";
import { SeriesReader, SeriesWriter } from "../../../src/data/series.ts";
import { fileHandler } from "../../../src/models/backend/layers_io.ts";
import { initBackend } from "../../../src/models/backend/mod.ts";
import { MdnRnn } from "../../../src/models/mdn_rnn.ts";
import { runExperiment, type RunReport } from "../../../src/runner/mod.ts";
import { builtinStages } from "../../../src/stages/mod.ts";
import { rnnInitSeed } from "../../../src/stages/worldmodels/train_rnn.ts";

const Z = 4;
const SEED = 5;
const STEPS = 150;

/**
 * Writes a series whose latents follow z' = 0.8 z + 0.5 a (per dimension, a cycled) with little
 * noise, and whose reward is positive exactly when a[0] > 0: both learnable from the inputs.
 */
async function writeSeries(dir: string): Promise<void> {
  const rng = new Random(3);
  const writer = await SeriesWriter.create(dir, { zSize: Z, zDtype: "f2" });
  for (let e = 0; e < 3; e++) {
    const length = 40;
    const mu = new Float32Array(length * Z);
    const actions = Float32Array.from({ length: length * 3 }, () => rng.uniform(-1, 1));
    for (let j = 0; j < Z; j++) mu[j] = rng.normal();
    for (let t = 1; t < length; t++) {
      for (let j = 0; j < Z; j++) {
        mu[t * Z + j] = 0.8 * mu[(t - 1) * Z + j] + 0.5 * actions[(t - 1) * 3 + (j % 3)];
      }
    }
    await writer.append({ seed: e }, {
      mu,
      logvar: new Float32Array(length * Z).fill(-6),
      actions,
      rewards: Float32Array.from({ length }, (_, t) => actions[t * 3] > 0 ? 3.1 : -0.1),
      dones: new Uint8Array(length),
    });
  }
  await writer.close();
}

function experiment(series: string, extra = "", checkpointEvery = 10): string {
  return `name: rnn_test
seed: ${SEED}
stages:
  train_rnn:
    uses: worldmodels/train_rnn
    deps: { series: ${series} }
    inputs: { series: "\${deps.series}" }
    with: { steps: ${STEPS}, batch_size: 8, seq_len: 12, hidden: 16, mixtures: 2, learning_rate: 0.01, checkpoint_every: ${checkpointEvery}${extra} }
`;
}

async function readMetrics(report: RunReport): Promise<Record<string, number>[]> {
  const text = await Deno.readTextFile(join(report.dir!, "metrics", "train_rnn.jsonl"));
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

/** A fixed batch of the series, with z = mu and the book's reward bits. */
function fixedBatch(reader: SeriesReader) {
  const length = 13;
  const b = reader.sequenceBatch({ batchSize: 16, length, seed: 77, step: 0 });
  const reward = new Float32Array(16 * length);
  for (let i = 0; i < 16; i++) {
    const before = b.offsets[i] > 0
      ? reader.readEpisode(b.episodes[i], b.offsets[i] - 1, 1).rewards[0]
      : 0;
    reward[i * length] = before > 0 ? 1 : 0;
    for (let t = 1; t < length; t++) {
      reward[i * length + t] = b.rewards[i * length + t - 1] > 0 ? 1 : 0;
    }
  }
  return { z: b.mu, action: b.actions, reward, batch: 16, length };
}

Deno.test("worldmodels/train_rnn writes a layers model that tfjs loads and that fits the series better than its initialisation; an interrupted run resumes to the same weights", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_train_rnn_" });
  try {
    const series = join(dir, "series");
    await writeSeries(series);
    const file = join(dir, "rnn.yaml");
    await Deno.writeTextFile(file, experiment(series));
    const whole = await runExperiment(file, {
      runsDir: join(dir, "runs_a"),
      builtins: builtinStages,
    });
    assert.equal(whole.status, "succeeded", JSON.stringify(whole.stages));
    const metrics = await readMetrics(whole);
    assert.deepEqual(metrics.map((m) => m.step), [...Array(STEPS).keys()]);
    assert.deepEqual(Object.keys(metrics[0]), ["step", "loss"]);

    await initBackend({ backend: "wasm" });
    const modelDir = join(whole.dir!, "train_rnn", "model");
    const layers = await tf.loadLayersModel(fileHandler(modelDir));
    tf.tidy(() => {
      const y = layers.predict(tf.zeros([2, 12, Z + 3])) as tf.Tensor;
      assert.deepEqual(y.shape, [2, 12, Z * 2 * 3]);
    });
    layers.dispose();
    const trained = await MdnRnn.load(modelDir, { zSize: Z, hidden: 16, mixtures: 2 });
    const initial = new MdnRnn(trained.config, { seed: rnnInitSeed(SEED) });
    const reader = await SeriesReader.open(series);
    try {
      const batch = fixedBatch(reader);
      const after = trained.computeGradients(batch).loss;
      const before = initial.computeGradients(batch).loss;
      assert.ok(after < before - 0.5, `loss ${after} after training, ${before} before`);
    } finally {
      reader.close();
    }

    // The same run, interrupted after a few steps (SIGTERM to the stage), then run again.
    const controller = new AbortController();
    const runsDir = join(dir, "runs_b");
    const interrupted = await runExperiment(file, {
      runsDir,
      builtins: builtinStages,
      signal: controller.signal,
      observer: {
        stageProgress(_name, state) {
          if (state.done >= 3 && state.done < STEPS) controller.abort();
        },
      },
    });
    assert.equal(interrupted.stages[0].status, "interrupted");
    const resumed = await runExperiment(file, { runsDir, builtins: builtinStages });
    assert.equal(resumed.status, "succeeded", JSON.stringify(resumed.stages));
    const from = resumed.stages[0].facts.resumed_from_step as number;
    assert.ok(from >= 3 && from < STEPS, `resumed from step ${from}`);
    for (const name of ["model.json", "weights.bin"]) {
      assert.deepEqual(
        await Deno.readFile(join(resumed.dir!, "train_rnn", "model", name)),
        await Deno.readFile(join(modelDir, name)),
        name,
      );
    }
    assert.deepEqual(await readMetrics(resumed), metrics);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("worldmodels/train_rnn with reward_head (on two threads) takes the reward as input, predicts it and logs reward_loss", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_train_rnn_" });
  try {
    const series = join(dir, "series");
    await writeSeries(series);
    const file = join(dir, "rnn.yaml");
    await Deno.writeTextFile(file, experiment(series, ", reward_head: true, workers: 2", 0));
    const report = await runExperiment(file, {
      runsDir: join(dir, "runs"),
      builtins: builtinStages,
    });
    assert.equal(report.status, "succeeded", JSON.stringify(report.stages));
    assert.equal(report.stages[0].facts.workers, 2);
    const metrics = await readMetrics(report);
    assert.deepEqual(Object.keys(metrics[0]), ["step", "loss", "z_loss", "reward_loss"]);
    for (const m of metrics) assert.ok(Math.abs(m.loss - m.z_loss - m.reward_loss) < 1e-9);

    await initBackend({ backend: "wasm" });
    const modelDir = join(report.dir!, "train_rnn", "model");
    const trained = await MdnRnn.load(modelDir, { rewardHead: true });
    assert.equal(trained.inputSize, Z + 3 + 1);
    assert.equal(trained.outputs, Z * 2 * 3 + 1);
    const initial = new MdnRnn(trained.config, { seed: rnnInitSeed(SEED) });
    const reader = await SeriesReader.open(series);
    try {
      const batch = fixedBatch(reader);
      const after = trained.computeGradients(batch).bce;
      const before = initial.computeGradients(batch).bce;
      assert.ok(after < 0.7 * before, `reward loss ${after} after training, ${before} before`);
    } finally {
      reader.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
