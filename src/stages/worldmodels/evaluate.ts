/**
 * `worldmodels/evaluate`: scores a trained controller on held-out CarRacing tracks and records
 * one episode as an animated GIF.
 *
 * ```yaml
 * evaluate:
 *   uses: worldmodels/evaluate
 *   inputs:
 *     controller: "${stages.train_controller.outs.controller}"
 *     vae: "${stages.train_vae.outs.model}"
 *     rnn: "${stages.train_rnn.outs.model}"
 *   with: { episodes: 100, max_steps: 1000, workers: 2 }
 * ```
 *
 * Episode i runs on the track `mixSeed(experiment seed, "worldmodels/evaluate", i)`: a label no
 * training stage uses, so these tracks are never collection or controller-training tracks.
 *
 * Output `report` (a directory): `returns.json` (per-episode seed, return, length, whether it
 * terminated, and the summary) and `episode.gif`, the first `gif_steps` steps of episode 0:
 * what the agent sees (64x64, upscaled), the VAE's reconstruction of it, and a larger view of
 * the track rendered by the environment.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { type BackendName, SYNC_BACKEND_NAMES } from "../../models/backend/mod.ts";
import { defineStage, type StageContext } from "../../runner/mod.ts";
import {
  ControllerDriver,
  type ControllerInputs,
  type DriverConfig,
  type EpisodeJob,
} from "../../worldmodels/agent.ts";
import { DriverPool } from "../../worldmodels/agent_pool.ts";
import {
  describeReturns,
  evaluateEpisodeSeed,
  HELD_OUT_PARAMS,
  summarizeReturns,
  writeReturnsReport,
} from "../../worldmodels/held_out.ts";
import { encodeGif, type RgbImage, sideBySide, upscale } from "../../media/gif.ts";
import {
  pickSolution,
  readControllerFile,
  type Solution,
  SOLUTIONS,
} from "../../worldmodels/controller_file.ts";
import { describeTraining, mergeLineage, trainedInReality } from "../../worldmodels/lineage.ts";

export { pickSolution, readControllerFile, SOLUTIONS };

/** Parameters of `worldmodels/evaluate` (the `with:` keys). */
export interface EvaluateParams {
  /** Held-out episodes. */
  episodes: number;
  /** Step limit of an episode. */
  max_steps: number;
  /** Worker threads. */
  workers: number;
  /** Environments each worker steps at once. */
  envs_per_worker: number;
  /** Which parameters to evaluate. */
  solution: Solution;
  /** Steps of episode 0 recorded in the GIF (0: no GIF). */
  gif_steps: number;
  /** Keep every k-th step in the GIF. */
  gif_every: number;
  /** TensorFlow.js backend of the encoder in every worker. */
  backend: BackendName;
}

/** Runs the evaluation: the body of the stage, usable with any {@linkcode StageContext}. */
export async function evaluate(ctx: StageContext<EvaluateParams>): Promise<void> {
  const p = ctx.params;
  const file = await readControllerFile(ctx.inputs.controller);
  const inputs: ControllerInputs = file.inputs;
  if (inputs === "zh" && ctx.inputs.rnn === undefined) {
    throw new TypeError("Cannot evaluate: the controller sees z and h; give the `rnn` input");
  }
  const solution = pickSolution(file, p.solution);
  const config = {
    vae: ctx.inputs.vae,
    rnn: inputs === "zh" ? ctx.inputs.rnn : undefined,
    inputs,
    maxSteps: p.max_steps,
    slots: p.envs_per_worker,
    backend: p.backend,
  };
  const seeds = Array.from({ length: p.episodes }, (_, i) => evaluateEpisodeSeed(ctx.seed, i));
  const jobs: EpisodeJob[] = seeds.map((seed) => ({ candidate: 0, seed }));
  ctx.log(
    `${p.episodes} held-out episodes of the ${solution.name} controller of generation ${solution.generation} (inputs ${inputs})`,
  );
  ctx.progress.total(p.episodes, "episodes");
  const pool = await DriverPool.create(config, { workers: p.workers, signal: ctx.signal });
  let outcomes;
  try {
    outcomes = await pool.run([solution.params], jobs, {
      onEpisode: () => ctx.progress.advance(1),
    });
  } finally {
    pool.close();
  }
  const summary = summarizeReturns(outcomes.map((o) => o.return));
  outcomes.forEach((o, i) => ctx.metrics.log(i, { return: o.return, length: o.length }));
  ctx.metrics.log(p.episodes, { ...summary });

  const dir = ctx.output("report");
  await Deno.mkdir(dir, { recursive: true });
  let gif: Record<string, unknown> | null = null;
  if (p.gif_steps > 0 && p.episodes > 0) {
    gif = await recordGif(`${dir}/episode.gif`, config, seeds[0], solution.params, p);
  }
  await writeReturnsReport(dir, {
    what: { solution: solution.name, inputs, controller_generation: solution.generation },
    maxSteps: p.max_steps,
    summary,
    details: { gif, per_episode: outcomes.map((o, i) => ({ episode: i, seed: seeds[i], ...o })) },
  });
  // The lineage facts: what the controller saw, where it learned, and whether reality taught
  // anything upstream (a dream-only claim covers the data and models it was trained on too).
  const upstream = await mergeLineage([ctx.inputs.controller, ctx.inputs.vae, ctx.inputs.rnn]);
  ctx.report({
    solution: solution.name,
    inputs,
    mode: describeTraining(file),
    dream_only: !trainedInReality(file) && upstream.length === 0,
    ...(upstream.length > 0 ? { real_trained_upstream: upstream } : {}),
    workers: p.workers,
  });
  ctx.log(describeReturns(summary));
}

/** Replays episode 0 in this thread and writes its GIF; returns what the GIF shows. */
async function recordGif(
  path: string,
  config: Omit<DriverConfig, "slots">,
  seed: number,
  params: number[],
  p: EvaluateParams,
): Promise<Record<string, unknown>> {
  const driver = await ControllerDriver.create({ ...config, slots: 1 });
  const scale = 3;
  const observations: RgbImage[] = [];
  const views: RgbImage[] = [];
  const mus: Float32Array[] = [];
  try {
    // gym's render aspect (600x400), as tall as the upscaled observation.
    const viewWidth = 64 * scale * 1.5;
    const [outcome] = await driver.run([params], [{ candidate: 0, seed }], {
      onStep(view) {
        if (view.t >= p.gif_steps || view.t % p.gif_every !== 0) return;
        observations.push({ width: 64, height: 64, rgb: view.observation });
        mus.push(view.mu);
        views.push({
          width: viewWidth,
          height: 64 * scale,
          rgb: view.env.render({ width: viewWidth, height: 64 * scale }),
        });
      },
    });
    // The VAE's view of each kept frame: decode the latent means in one batch.
    const z = new Float32Array(mus.length * driver.vae.zSize);
    mus.forEach((mu, i) => z.set(mu, i * driver.vae.zSize));
    const decoded = tf.tidy(() =>
      driver.vae.decode(tf.tensor2d(z, [mus.length, driver.vae.zSize])).dataSync() as Float32Array
    );
    const frames: RgbImage[] = observations.map((obs, i) => {
      const rec = new Uint8Array(64 * 64 * 3);
      for (let k = 0; k < rec.length; k++) {
        rec[k] = Math.max(0, Math.min(255, Math.round(decoded[i * rec.length + k] * 255)));
      }
      return sideBySide([
        upscale(obs, scale),
        upscale({ width: 64, height: 64, rgb: rec }, scale),
        views[i],
      ]);
    });
    await Deno.writeFile(path, encodeGif(frames, { delayMs: 20 * p.gif_every }));
    return {
      file: "episode.gif",
      episode: 0,
      seed,
      frames: frames.length,
      every: p.gif_every,
      panels: ["observation 64x64 (x3)", "VAE reconstruction of mu (x3)", "env.render"],
      episode_return: outcome.return,
      episode_length: outcome.length,
    };
  } finally {
    driver.close();
  }
}

/** The `worldmodels/evaluate` stage module. */
export default defineStage<EvaluateParams>({
  description: "Scores a controller on held-out CarRacing tracks; per-episode returns and a GIF",
  params: {
    ...HELD_OUT_PARAMS,
    workers: {
      type: "integer",
      default: 1,
      min: 1,
      max: 256,
      description: "worker threads running episodes",
    },
    envs_per_worker: {
      type: "integer",
      default: 16,
      min: 1,
      description: "environments a worker steps at once (one batched encoder call per step)",
    },
    solution: {
      type: "string",
      default: "auto",
      enum: SOLUTIONS,
      description: "auto (best evaluated mean, else the mean), best_eval, mean or best candidate",
    },
    gif_steps: {
      type: "integer",
      default: 400,
      min: 0,
      description: "steps of episode 0 recorded in episode.gif (0: none)",
    },
    gif_every: { type: "integer", default: 2, min: 1, description: "keep every k-th step" },
    backend: {
      type: "string",
      default: "wasm",
      enum: SYNC_BACKEND_NAMES,
      description: "TensorFlow.js backend running the VAE encoder",
    },
  },
  inputs: {
    controller: { description: "the controller (worldmodels/train_controller output)" },
    vae: { description: "the ConvVAE the controller was trained with" },
    rnn: { description: "the MDN-RNN (needed when the controller sees h)", optional: true },
  },
  outputs: ["report"],
  deterministic: true,
  run: evaluate,
});
