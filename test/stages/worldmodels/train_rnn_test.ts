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

/**
 * A series whose reward is 3.1 when a[0] > 0 else -0.1, and whose odd episodes end (done, -100)
 * when the car "leaves the field": the first step with a[1] > 0.9 after step 20.
 */
async function writeEndingSeries(dir: string): Promise<void> {
  const rng = new Random(8);
  const writer = await SeriesWriter.create(dir, { zSize: Z, zDtype: "f2" });
  for (let e = 0; e < 6; e++) {
    let length = 40;
    const actions = Float32Array.from({ length: length * 3 }, () => rng.uniform(-1, 1));
    if (e % 2 === 1) {
      for (let t = 20; t < length; t++) {
        if (actions[t * 3 + 1] > 0.9) {
          length = t + 1;
          break;
        }
      }
    }
    const mu = new Float32Array(length * Z);
    for (let j = 0; j < Z; j++) mu[j] = rng.normal();
    for (let t = 1; t < length; t++) {
      for (let j = 0; j < Z; j++) {
        mu[t * Z + j] = 0.8 * mu[(t - 1) * Z + j] + 0.5 * actions[(t - 1) * 3 + (j % 3)];
      }
    }
    const dones = new Uint8Array(length);
    const rewards = Float32Array.from({ length }, (_, t) => actions[t * 3] > 0 ? 3.1 : -0.1);
    if (e % 2 === 1 && length < 40) {
      dones[length - 1] = 1;
      rewards[length - 1] = -100;
    }
    await writer.append({ seed: e }, {
      mu,
      logvar: new Float32Array(length * Z).fill(-6),
      actions: actions.slice(0, length * 3),
      rewards,
      dones,
    });
  }
  await writer.close();
}

Deno.test("worldmodels/train_rnn with reward: regression, done_head and dropout (two threads) learns both, measures held-out episodes and resumes to the same weights", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_train_rnn_" });
  try {
    const series = join(dir, "series");
    await writeEndingSeries(series);
    const reader = await SeriesReader.open(series);
    const terminated = reader.episodes.filter((e) => e.terminated).length;
    reader.close();
    assert.ok(terminated >= 2, `only ${terminated} terminated episodes`);
    const file = join(dir, "rnn.yaml");
    const extra = ", reward: regression, reward_over_weight: 2, done_head: true, " +
      "done_weight: 5, holdout_episodes: 2, dropout: 0.05, workers: 2";
    await Deno.writeTextFile(file, experiment(series, extra, 10));
    const whole = await runExperiment(file, {
      runsDir: join(dir, "runs_a"),
      builtins: builtinStages,
    });
    assert.equal(whole.status, "succeeded", JSON.stringify(whole.stages));
    const metrics = await readMetrics(whole);
    assert.deepEqual(Object.keys(metrics[0]), [
      "step",
      "loss",
      "z_loss",
      "reward_loss",
      "done_loss",
    ]);
    const first = metrics[0], lastTen = metrics.slice(STEPS - 10, STEPS);
    const mean = (k: string) => lastTen.reduce((s, m) => s + m[k], 0) / lastTen.length;
    assert.ok(
      mean("reward_loss") < first.reward_loss / 2,
      `reward ${first.reward_loss} -> ${mean("reward_loss")}`,
    );
    assert.ok(
      mean("done_loss") < first.done_loss / 2,
      `done ${first.done_loss} -> ${mean("done_loss")}`,
    );
    const held = metrics[STEPS];
    assert.equal(held.step, STEPS);
    for (
      const k of [
        "holdout_transitions",
        "holdout_z_nll",
        "holdout_reward_mae",
        "holdout_reward_rmse",
        "holdout_done_actual",
        "holdout_done_predicted",
        "holdout_real_return",
        "holdout_dream_return",
        "holdout_dream_gap",
        "holdout_dream_gap_abs",
      ]
    ) {
      assert.ok(Number.isFinite(held[k]), `${k}: ${held[k]}`);
    }
    assert.ok(held.holdout_reward_rmse >= held.holdout_reward_mae);
    const facts = whole.stages[0].facts;
    assert.equal(facts.holdout_episodes, 2);
    assert.equal(facts.holdout_z_nll, held.holdout_z_nll);

    await initBackend({ backend: "wasm" });
    const modelDir = join(whole.dir!, "train_rnn", "model");
    const trained = await MdnRnn.load(modelDir, { rewardRegression: true, doneHead: true });
    assert.equal(trained.config.rewardScale, 0.3);
    assert.equal(trained.config.doneWeight, 5);
    assert.equal(trained.config.dropout, 0.05);
    assert.equal(trained.outputs, Z * 2 * 3 + 2);

    // Interrupted after a few steps, then run again: the same weights and metrics.
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

Deno.test("worldmodels/train_rnn rejects reward_head: true with reward: regression, a holdout of every episode and a zero reward_scale", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_train_rnn_" });
  try {
    const series = join(dir, "series");
    await writeSeries(series);
    for (
      const [extra, message] of [
        [", reward_head: true, reward: regression", /reward_head: true is reward: bit/],
        [", holdout_episodes: 3", /holdout_episodes 3 leaves none/],
        [", reward: regression, reward_scale: 0", /reward_scale must be > 0, got 0/],
      ] as const
    ) {
      const file = join(dir, "rnn.yaml");
      await Deno.writeTextFile(file, experiment(series, extra, 0));
      const report = await runExperiment(file, {
        runsDir: join(dir, "runs"),
        builtins: builtinStages,
      });
      assert.equal(report.status, "failed");
      assert.match(JSON.stringify(report.stages), message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("worldmodels/train_rnn with seq_len longer than every episode fails with its message alone; frames only with DITTO_DEBUG=1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_train_rnn_" });
  try {
    const series = join(dir, "series");
    await writeSeries(series);
    const file = join(dir, "rnn.yaml");
    await Deno.writeTextFile(
      file,
      experiment(series, "", 0).replace("seq_len: 12", "seq_len: 100"),
    );
    const cli = new URL("../../../src/cli/main.ts", import.meta.url).pathname;
    const run = async (env: Record<string, string>) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-prompt", cli, "run", file, "--runs", join(dir, "runs"), "--json"],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 1, stderr);
      return { stage: JSON.parse(new TextDecoder().decode(out.stdout)).stages[0], stderr };
    };
    const message = "Cannot train the MDN-RNN: seq_len 100 needs episodes of 101 steps, the " +
      "longest in the series has 40; lower seq_len or collect longer episodes";
    const plain = await run({});
    assert.equal(plain.stage.error, message);
    assert.doesNotMatch(plain.stderr, /^\s+at /m);
    assert.match(plain.stderr, /✗ train_rnn +failed .*\n {6}Cannot train the MDN-RNN: seq_len 100/);
    // The log keeps the frames for whoever debugs the stage.
    const log = await Deno.readTextFile(
      join(dir, "runs", "rnn_test", "0001", "logs", "train_rnn.log"),
    );
    assert.match(log, /RangeError: Cannot train the MDN-RNN: seq_len 100[^\n]*\n\s+at /);
    const debug = await run({ DITTO_DEBUG: "1" });
    assert.match(debug.stage.error, /^RangeError: Cannot train the MDN-RNN[^\n]*\n\s+at /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
