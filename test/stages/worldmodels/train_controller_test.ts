import assert from "node:assert/strict";
import { join } from "node:path";
import { runExperiment } from "../../../src/runner/mod.ts";
import { builtinStages } from "../../../src/stages/mod.ts";
import { initBackend } from "../../../src/models/backend/mod.ts";
import { ConvVAE } from "../../../src/models/vae.ts";
import { MdnRnn } from "../../../src/models/mdn_rnn.ts";
import type { ControllerFile } from "../../../src/stages/worldmodels/train_controller.ts";
import { evaluateEpisodeSeed } from "../../../src/worldmodels/held_out.ts";

const CLI = new URL("../../../src/cli/main.ts", import.meta.url).pathname;

/** Freshly initialised small models, saved where the experiment's deps point. */
async function writeModels(dir: string): Promise<void> {
  await initBackend({ backend: "wasm" });
  const vae = new ConvVAE({ zSize: 8, seed: 1 });
  await vae.save(join(dir, "vae"));
  vae.dispose();
  await new MdnRnn({ zSize: 8, hidden: 16, mixtures: 2 }, { seed: 2 }).save(join(dir, "rnn"));
}

function experiment(controllerWith: string, evaluate = ""): string {
  return `name: tc
seed: 11
stages:
  train_controller:
    uses: worldmodels/train_controller
    deps: { vae: vae, rnn: rnn }
    inputs: { vae: "\${deps.vae}", rnn: "\${deps.rnn}" }
    with: ${controllerWith}
${evaluate}`;
}

function readJsonLines(path: string): Record<string, number>[] {
  return Deno.readTextFileSync(path).trim().split("\n").map((line) => JSON.parse(line));
}

Deno.test("worldmodels/train_controller runs CMA-ES generations through the runner and evaluate scores its controller with a GIF", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_tc_" });
  try {
    await writeModels(dir);
    const file = join(dir, "tc.yaml");
    await Deno.writeTextFile(
      file,
      experiment(
        "{ popsize: 4, episodes_per_candidate: 2, generations: 2, max_steps: 25, eval_every: 1, eval_episodes: 2, workers: 2, envs_per_worker: 3, inputs: zh }",
        `  evaluate:
    uses: worldmodels/evaluate
    deps: { vae: vae, rnn: rnn }
    inputs: { controller: "\${stages.train_controller.outs.controller}", vae: "\${deps.vae}", rnn: "\${deps.rnn}" }
    with: { episodes: 3, max_steps: 20, workers: 1, envs_per_worker: 2, gif_steps: 10, gif_every: 2 }
`,
      ),
    );
    const report = await runExperiment(file, {
      runsDir: join(dir, "runs"),
      builtins: builtinStages,
    });
    assert.equal(report.status, "succeeded", JSON.stringify(report.stages));
    const run = report.dir!;

    const metrics = readJsonLines(join(run, "metrics", "train_controller.jsonl"));
    assert.deepEqual(metrics.map((m) => m.step), [1, 2]);
    for (const m of metrics) {
      for (const key of ["fitness_mean", "fitness_max", "fitness_min", "fitness_std", "sigma"]) {
        assert.ok(Number.isFinite(m[key]), `${key} in ${JSON.stringify(m)}`);
      }
      assert.ok(m.fitness_min <= m.fitness_mean && m.fitness_mean <= m.fitness_max);
      assert.ok(Number.isFinite(m.eval_mean_return), "the mean is evaluated every generation");
      assert.equal(m.mean_episode_steps, 25, "25-step episodes (a random controller stays on)");
    }
    const controller: ControllerFile = JSON.parse(
      Deno.readTextFileSync(join(run, "train_controller", "controller", "controller.json")),
    );
    assert.equal(controller.generation, 2);
    assert.equal(controller.inputs, "zh");
    assert.equal(controller.input_size, 8 + 16);
    assert.equal(controller.mean.length, (8 + 16 + 1) * 3);
    assert.notDeepEqual(controller.mean, new Array(75).fill(0), "CMA-ES moved the mean");
    assert.equal(controller.evaluations.length, 2);
    assert.ok(controller.best_eval !== null);
    assert.ok(
      Math.abs(controller.best.fitness - Math.max(...metrics.map((m) => m.fitness_max))) < 1e-9,
    );

    const evaluation = JSON.parse(
      Deno.readTextFileSync(join(run, "evaluate", "report", "returns.json")),
    );
    assert.equal(evaluation.solution, "best_eval");
    assert.deepEqual(
      evaluation.per_episode.map((e: { seed: number }) => e.seed),
      [0, 1, 2].map((i) => evaluateEpisodeSeed(11, i)),
    );
    const returns = evaluation.per_episode.map((e: { return: number }) => e.return);
    const mean = returns.reduce((a: number, b: number) => a + b, 0) / 3;
    assert.ok(Math.abs(evaluation.mean_return - mean) < 1e-9);
    const final = readJsonLines(join(run, "metrics", "evaluate.jsonl")).at(-1)!;
    assert.equal(final.episodes, 3);
    assert.ok(Math.abs(final.mean_return - mean) < 1e-9);
    assert.equal(final.max_return, Math.max(...returns));
    // The GIF replays episode 0 alone in the stage thread: the same return as in the batch.
    assert.ok(Math.abs(evaluation.gif.episode_return - returns[0]) < 1e-9);
    assert.equal(evaluation.gif.frames, 5);
    const gif = Deno.readFileSync(join(run, "evaluate", "report", "episode.gif"));
    assert.equal(new TextDecoder().decode(gif.subarray(0, 6)), "GIF89a");
    const view = new DataView(gif.buffer, gif.byteOffset);
    assert.deepEqual([view.getUint16(6, true), view.getUint16(8, true)], [64 * 3 * 2 + 288, 192]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("worldmodels/train_controller killed with SIGKILL after a generation checkpoint continues at that generation, with the uninterrupted result", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_tc_kill_" });
  try {
    await writeModels(dir);
    const file = join(dir, "tc.yaml");
    await Deno.writeTextFile(
      file,
      experiment(
        "{ popsize: 4, episodes_per_candidate: 1, generations: 6, max_steps: 30, eval_every: 3, eval_episodes: 1, workers: 1, envs_per_worker: 4, inputs: z }",
      ),
    );
    const runsDir = join(dir, "runs");
    const args = ["run", "-A", "--no-prompt", CLI, "run", file, "--runs", runsDir, "--json"];
    const child = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "null" })
      .spawn();
    const checkpoints = join(runsDir, ".store", "checkpoints");
    const reached = () => {
      try {
        for (const key of Deno.readDirSync(checkpoints)) {
          const saved = JSON.parse(Deno.readTextFileSync(join(checkpoints, key.name, "cma_es")));
          return saved.es.generation as number;
        }
      } catch {
        // Not yet written.
      }
      return 0;
    };
    const deadline = Date.now() + 90_000;
    while (reached() < 2) {
      if (Date.now() > deadline) throw new Error("no checkpoint of generation 2 within 90 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await child.status;
    const killedAt = reached();
    assert.ok(killedAt >= 2 && killedAt < 6, `killed at generation ${killedAt}`);
    // The orphaned stage host notices the runner is gone and stops.
    await new Promise((r) => setTimeout(r, 1500));

    const rerun = await runExperiment(file, { runsDir, builtins: builtinStages });
    assert.equal(rerun.status, "succeeded", JSON.stringify(rerun.stages));
    const log = Deno.readTextFileSync(join(rerun.dir!, "logs", "train_controller.log"));
    const resumed = Number(/resuming at generation (\d+) of 6/.exec(log)?.[1]);
    assert.ok(resumed >= killedAt, `resumed at ${resumed}, killed at ${killedAt}:\n${log}`);
    const metrics = readJsonLines(join(rerun.dir!, "metrics", "train_controller.jsonl"));
    assert.deepEqual(
      metrics.map((m) => m.step),
      Array.from({ length: 6 - resumed }, (_, i) => resumed + 1 + i),
      "the rerun logs only the generations it ran",
    );
    const resumedFile = Deno.readTextFileSync(
      join(rerun.dir!, "train_controller", "controller", "controller.json"),
    );

    const fresh = await runExperiment(file, {
      runsDir,
      builtins: builtinStages,
      force: ["train_controller"],
    });
    assert.equal(fresh.status, "succeeded", JSON.stringify(fresh.stages));
    assert.equal(
      Deno.readTextFileSync(join(fresh.dir!, "train_controller", "controller", "controller.json")),
      resumedFile,
      "the resumed run ends with the same controller as an uninterrupted one",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
