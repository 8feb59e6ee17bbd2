import assert from "node:assert/strict";
import { join } from "node:path";
import { runExperiment } from "../../../src/runner/mod.ts";
import type { StageContext } from "../../../src/runner/stage.ts";
import { builtinStages } from "../../../src/stages/mod.ts";
import { initBackend } from "../../../src/models/backend/mod.ts";
import { ConvVAE } from "../../../src/models/vae.ts";
import { MdnRnn } from "../../../src/models/mdn_rnn.ts";
import {
  type ControllerFile,
  trainController,
  type TrainControllerParams,
} from "../../../src/stages/worldmodels/train_controller.ts";

// Real collect, encode and train_rnn (with the reward head) of two short episodes; the VAE is
// freshly initialised (a dep) to save its training. The controller is trained in the dream over
// a temperature matrix, and each variant's dream is filmed.
const EXPERIMENT = `name: dream_tiny
seed: 5
stages:
  collect:
    uses: worldmodels/collect
    with: { episodes: 2, max_steps: 12, policy: book, action_refresh_rate: 4, workers: 1 }
  encode:
    uses: worldmodels/encode
    deps: { vae: vae }
    inputs: { rollouts: "\${stages.collect.outs.rollouts}", vae: "\${deps.vae}" }
    with: { batch_size: 12 }
  train_rnn:
    uses: worldmodels/train_rnn
    inputs: { series: "\${stages.encode.outs.series}" }
    with: { steps: 2, batch_size: 2, seq_len: 6, hidden: 16, mixtures: 2, reward_head: true }
  train_controller:
    uses: worldmodels/train_controller
    matrix: { temperature: [1.0] }
    deps: { vae: vae }
    inputs:
      vae: "\${deps.vae}"
      rnn: "\${stages.train_rnn.outs.model}"
      series: "\${stages.encode.outs.series}"
    with:
      mode: dream
      inputs: zh
      popsize: 4
      episodes_per_candidate: 2
      generations: 2
      max_steps: 15
      eval_every: 1
      eval_episodes: 1
      workers: 1
      envs_per_worker: 2
  dream_video:
    uses: worldmodels/dream_video
    deps: { vae: vae }
    inputs:
      controller: "\${stages.train_controller.outs.controller}"
      vae: "\${deps.vae}"
      rnn: "\${stages.train_rnn.outs.model}"
      series: "\${stages.encode.outs.series}"
    with: { temperature: "\${matrix.temperature}", steps: 8, every: 2 }
`;

function readJsonLines(path: string): Record<string, number>[] {
  return Deno.readTextFileSync(path).trim().split("\n").map((line) => JSON.parse(line));
}

Deno.test("worldmodels/train_controller with mode dream trains over a temperature matrix; a new temperature reruns only its variant; dream_video films dream and reality", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_dream_tc_" });
  try {
    await initBackend({ backend: "wasm" });
    const vae = new ConvVAE({ zSize: 8, seed: 1 });
    await vae.save(join(dir, "vae"));
    vae.dispose();
    const file = join(dir, "dream.yaml");
    await Deno.writeTextFile(file, EXPERIMENT);
    const runsDir = join(dir, "runs");

    const first = await runExperiment(file, { runsDir, builtins: builtinStages });
    assert.equal(first.status, "succeeded", JSON.stringify(first.stages, null, 1));
    const run = first.dir!;
    const metrics = readJsonLines(join(run, "metrics", "train_controller@temperature=1.jsonl"));
    assert.deepEqual(metrics.map((m) => m.step), [1, 2]);
    for (const m of metrics) {
      assert.equal(m.mean_episode_steps, 15, "dream episodes last max_steps");
      // Fitness: the mean over 2 dreams of predicted new tiles (0..15 each).
      assert.ok(m.fitness_min >= 0 && m.fitness_max <= 15, JSON.stringify(m));
      assert.ok(Number.isInteger(m.fitness_max * 2));
      assert.ok(Number.isFinite(m.eval_mean_return), "the mean is evaluated in the real env");
      assert.ok(
        m.eval_dream_mean_return >= 0 && m.eval_dream_mean_return <= 15,
        "and in the dream",
      );
    }
    const controller: ControllerFile = JSON.parse(
      Deno.readTextFileSync(
        join(run, "train_controller@temperature=1", "controller", "controller.json"),
      ),
    );
    assert.equal(controller.mode, "dream");
    assert.equal(controller.temperature, 1);
    assert.equal(controller.generation, 2);
    assert.equal(controller.evaluations.length, 2);
    assert.deepEqual(
      controller.evaluations.map((e) => e.dream_mean_return),
      metrics.map((m) => m.eval_dream_mean_return),
    );

    const video = join(run, "dream_video@temperature=1", "video");
    const summary = JSON.parse(Deno.readTextFileSync(join(video, "dream.json")));
    assert.equal(summary.frames, 4);
    assert.equal(summary.temperature, 1);
    assert.ok(Number.isInteger(summary.dream_return) && summary.dream_return <= 8);
    assert.ok(Number.isFinite(summary.real_return));
    assert.equal(summary.dream_return_unit, "predicted new tiles (reward logit > 0)");
    const gif = Deno.readFileSync(join(video, "dream.gif"));
    assert.equal(new TextDecoder().decode(gif.subarray(0, 6)), "GIF89a");
    const view = new DataView(gif.buffer, gif.byteOffset);
    assert.deepEqual([view.getUint16(6, true), view.getUint16(8, true)], [64 * 3 * 3, 64 * 3]);

    const wider = await runExperiment(file, {
      runsDir,
      builtins: builtinStages,
      sets: ["stages.train_controller.matrix.temperature=[1.0,1.3]"],
    });
    assert.equal(wider.status, "succeeded", JSON.stringify(wider.stages, null, 1));
    assert.deepEqual(
      Object.fromEntries(wider.stages.map((s) => [s.name, s.status])),
      {
        collect: "cached",
        encode: "cached",
        train_rnn: "cached",
        "train_controller@temperature=1": "cached",
        "train_controller@temperature=1.3": "ran",
        "dream_video@temperature=1": "cached",
        "dream_video@temperature=1.3": "ran",
      },
    );
    const hot: ControllerFile = JSON.parse(
      Deno.readTextFileSync(
        join(wider.dir!, "train_controller@temperature=1.3", "controller", "controller.json"),
      ),
    );
    assert.equal(hot.temperature, 1.3);
    assert.notDeepEqual(hot.mean, controller.mean);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("worldmodels/train_controller dreams in an M with reward regression, done head and dropout: dreams end on the done, and the result does not depend on the worker count", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_dream_heads_tc_" });
  try {
    await initBackend({ backend: "wasm" });
    const vae = new ConvVAE({ zSize: 8, seed: 1 });
    await vae.save(join(dir, "vae"));
    vae.dispose();
    const experiment = EXPERIMENT
      .replace(
        "reward_head: true }",
        "reward: regression, done_head: true, dropout: 0.05, holdout_episodes: 1 }",
      )
      .replace(
        "      workers: 1\n",
        "      workers: 2\n      dream_done: sampled\n      dream_dropout: 0.1\n",
      )
      .replace(/ {2}dream_video:[\s\S]*$/, "");
    assert.match(experiment, /dream_dropout: 0.1/);
    const file = join(dir, "dream.yaml");
    await Deno.writeTextFile(file, experiment);
    const runsDir = join(dir, "runs");
    const two = await runExperiment(file, { runsDir, builtins: builtinStages });
    assert.equal(two.status, "succeeded", JSON.stringify(two.stages, null, 1));
    const tc = two.stages.find((s) => s.name.startsWith("train_controller"))!;
    assert.equal(tc.facts.dream_done, "sampled");
    assert.equal(tc.facts.dream_dropout, 0.1);
    const rnnFacts = two.stages.find((s) => s.name === "train_rnn")!.facts;
    assert.equal(rnnFacts.holdout_episodes, 1);
    assert.ok(Number.isFinite(rnnFacts.holdout_reward_mae));
    const metrics = readJsonLines(
      join(two.dir!, "metrics", "train_controller@temperature=1.jsonl"),
    );
    for (const m of metrics) {
      // An untrained done head fires with probability near 0.5: dreams end early.
      assert.ok(m.mean_episode_steps < 15, JSON.stringify(m));
      assert.ok(Number.isFinite(m.fitness_max) && Number.isFinite(m.eval_dream_mean_return));
    }
    const one = await runExperiment(file, {
      runsDir,
      builtins: builtinStages,
      sets: ["stages.train_controller.with.workers=1"],
    });
    assert.equal(one.status, "succeeded", JSON.stringify(one.stages, null, 1));
    const read = (run: string) =>
      JSON.parse(
        Deno.readTextFileSync(
          join(run, "train_controller@temperature=1", "controller", "controller.json"),
        ),
      ) as ControllerFile;
    assert.deepEqual(read(one.dir!).mean, read(two.dir!).mean);
    assert.deepEqual(
      readJsonLines(join(one.dir!, "metrics", "train_controller@temperature=1.jsonl"))
        .map((m) => m.fitness_max),
      metrics.map((m) => m.fitness_max),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("worldmodels/train_controller refuses mode dream without an MDN-RNN with the reward head or without the series", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_dream_refuse_" });
  try {
    await initBackend({ backend: "wasm" });
    await new MdnRnn({ zSize: 8, hidden: 16, mixtures: 2 }, { seed: 2 }).save(join(dir, "plain"));
    await new MdnRnn({ zSize: 8, hidden: 16, mixtures: 2, rewardHead: true }, { seed: 2 })
      .save(join(dir, "reward"));
    const context = (inputs: Record<string, string>) =>
      ({
        params: { mode: "dream", inputs: "z", temperature: 1 },
        inputs: { vae: join(dir, "no_vae"), ...inputs },
      }) as unknown as StageContext<TrainControllerParams>;
    await assert.rejects(
      () => trainController(context({ series: dir })),
      /needs the `rnn` input, an MDN-RNN with the reward head/,
    );
    await assert.rejects(
      () => trainController(context({ rnn: join(dir, "plain"), series: dir })),
      /needs the `rnn` input, an MDN-RNN with the reward head/,
    );
    await assert.rejects(
      () => trainController(context({ rnn: join(dir, "reward") })),
      /needs the `series` input/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
