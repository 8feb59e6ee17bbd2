/**
 * `worldmodels/dream_video`: what a controller dreams, beside what it really does from the same
 * start.
 *
 * ```yaml
 * dream_video:
 *   uses: worldmodels/dream_video
 *   inputs:
 *     controller: "${stages.train_controller.outs.controller}"
 *     vae: "${stages.train_vae.outs.model}"
 *     rnn: "${stages.train_rnn.outs.model}"
 *     series: "${stages.encode.outs.series}"
 *   with: { temperature: 1.0, steps: 300, episode: 0 }
 * ```
 *
 * Both rollouts start at the first frame of real episode `episode` of the series: the dream
 * from its stored initial z (./dream_env.ts), the real one on the same track (the episode's
 * seed in the series index). Output `video` (a directory): `dream.gif`, each frame three 64x64
 * panels upscaled x3: the real observation, the VAE's reconstruction of it, and the dream's z
 * decoded by the VAE; and `dream.json` with both returns (the dream's counts predicted new
 * tiles) and the settings. A real episode that ends early keeps its last frame.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import type { SeriesIndex } from "../../data/series.ts";
import { type BackendName, SYNC_BACKEND_NAMES } from "../../models/backend/mod.ts";
import { defineStage, type StageContext } from "../../runner/mod.ts";
import { DREAM_REWARDS, DreamEnv, type DreamReward } from "../../worldmodels/dream_env.ts";
import { ControllerDriver } from "../../worldmodels/agent.ts";
import { readControllerFile } from "./evaluate.ts";
import { encodeGif, type RgbImage, sideBySide, upscale } from "../../media/gif.ts";

/** Parameters of `worldmodels/dream_video` (the `with:` keys). */
export interface DreamVideoParams {
  /** Sampling temperature of the dream. */
  temperature: number;
  /** How the dream's reward logit becomes a reward. */
  reward: DreamReward;
  /** Steps of both rollouts. */
  steps: number;
  /** Keep every k-th step in the GIF. */
  every: number;
  /** The real episode (row of the series) both start from. */
  episode: number;
  /** Which parameters of the controller file drive. */
  solution: "auto" | "mean" | "best";
  /** TensorFlow.js backend of the VAE. */
  backend: BackendName;
}

const SCALE = 3;

function toImage(pixels: Float32Array, offset: number): RgbImage {
  const rgb = new Uint8Array(64 * 64 * 3);
  for (let k = 0; k < rgb.length; k++) {
    rgb[k] = Math.max(0, Math.min(255, Math.round(pixels[offset + k] * 255)));
  }
  return upscale({ width: 64, height: 64, rgb }, SCALE);
}

/** Writes the video: the body of the stage, usable with any {@linkcode StageContext}. */
export async function dreamVideo(ctx: StageContext<DreamVideoParams>): Promise<void> {
  const p = ctx.params;
  const file = await readControllerFile(ctx.inputs.controller);
  const params = p.solution === "mean"
    ? file.mean
    : p.solution === "best"
    ? file.best.params
    : file.best_eval?.params ?? file.mean;
  const solution = p.solution === "auto" ? (file.best_eval ? "best_eval" : "mean") : p.solution;
  const index: SeriesIndex = JSON.parse(
    await Deno.readTextFile(join(ctx.inputs.series, "index.json")),
  );
  const info = index.episodes[p.episode];
  if (info === undefined) {
    throw new RangeError(
      `Cannot record the dream: episode ${p.episode} is not in the series (${index.episodes.length} episodes)`,
    );
  }
  const dream = await DreamEnv.create({
    rnn: ctx.inputs.rnn,
    series: ctx.inputs.series,
    inputs: file.inputs,
    maxSteps: p.steps,
    temperature: p.temperature,
    reward: p.reward,
  });
  const driver = await ControllerDriver.create({
    vae: ctx.inputs.vae,
    rnn: file.inputs === "zh" ? ctx.inputs.rnn : undefined,
    inputs: file.inputs,
    maxSteps: p.steps,
    slots: 1,
    backend: p.backend,
  });
  try {
    const Z = driver.vae.zSize;
    const kept = (t: number) => t % p.every === 0;
    const dreamZ: Float32Array[] = [];
    const [dreamed] = await dream.run([params], [{
      candidate: 0,
      seed: info.seed,
      start: p.episode,
    }], {
      onStep(v) {
        if (kept(v.t)) dreamZ.push(v.z);
      },
      signal: ctx.signal,
    });
    const observations: RgbImage[] = [];
    const realMu: Float32Array[] = [];
    const [real] = await driver.run([params], [{ candidate: 0, seed: info.seed }], {
      onStep(v) {
        if (!kept(v.t)) return;
        observations.push(upscale({ width: 64, height: 64, rgb: v.observation }, SCALE));
        realMu.push(v.mu);
      },
      signal: ctx.signal,
    });
    const decode = (zs: Float32Array[]) => {
      const z = new Float32Array(zs.length * Z);
      zs.forEach((row, i) => z.set(row, i * Z));
      return tf.tidy(() =>
        driver.vae.decode(tf.tensor2d(z, [zs.length, Z])).dataSync() as Float32Array
      );
    };
    const dreamPixels = decode(dreamZ);
    const realPixels = decode(realMu);
    const frameSize = 64 * 64 * 3;
    const frames: RgbImage[] = dreamZ.map((_, i) => {
      const r = Math.min(i, observations.length - 1);
      return sideBySide([
        observations[r],
        toImage(realPixels, r * frameSize),
        toImage(dreamPixels, i * frameSize),
      ]);
    });
    const dir = ctx.output("video");
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(join(dir, "dream.gif"), encodeGif(frames, { delayMs: 20 * p.every }));
    // An M with the regression head pays gym's reward; the bit head counts predicted new tiles.
    const unit = dream.rnn.config.rewardRegression
      ? "gym reward predicted by M's regression head"
      : p.reward === "bernoulli"
      ? "predicted new tiles (sampled with probability sigmoid(reward logit))"
      : "predicted new tiles (reward logit > 0)";
    const summary = {
      format: "ditto.dream_video",
      version: 1,
      solution,
      inputs: file.inputs,
      temperature: p.temperature,
      reward: p.reward,
      episode: p.episode,
      track_seed: info.seed,
      steps: p.steps,
      every: p.every,
      frames: frames.length,
      panels: [
        "real observation 64x64 (x3)",
        "VAE reconstruction of the real z (x3)",
        "dream: z decoded by the VAE (x3)",
      ],
      dream_return: dreamed.return,
      dream_return_unit: unit,
      real_return: real.return,
      real_length: real.length,
    };
    await Deno.writeTextFile(join(dir, "dream.json"), JSON.stringify(summary, null, 1) + "\n");
    ctx.metrics.log(0, { dream_return: dreamed.return, real_return: real.return });
    ctx.report({ solution, temperature: p.temperature, backend: driver.backend.name });
    ctx.log(
      `dream return ${dreamed.return.toFixed(1)} (${unit}), real return ${
        real.return.toFixed(1)
      } from episode ${p.episode}`,
    );
  } finally {
    driver.close();
  }
}

/** The `worldmodels/dream_video` stage module. */
export default defineStage<DreamVideoParams>({
  description: "GIF of a controller's dream (decoded by the VAE) beside its real rollout",
  params: {
    temperature: {
      type: "number",
      default: 1,
      min: 0.01,
      description: "sampling temperature tau of the dream",
    },
    reward: {
      type: "string",
      default: "threshold",
      enum: DREAM_REWARDS,
      description: "reward 1 when the logit > 0 (threshold) or with probability sigmoid(logit)",
    },
    steps: { type: "integer", default: 300, min: 1, description: "steps of both rollouts" },
    every: { type: "integer", default: 2, min: 1, description: "keep every k-th step" },
    episode: {
      type: "integer",
      default: 0,
      min: 0,
      description: "real episode of the series both rollouts start from",
    },
    solution: {
      type: "string",
      default: "auto",
      enum: ["auto", "mean", "best"],
      description: "auto (best evaluated mean, else the mean), mean or best candidate",
    },
    backend: {
      type: "string",
      default: "wasm",
      enum: SYNC_BACKEND_NAMES,
      description: "TensorFlow.js backend of the VAE",
    },
  },
  inputs: {
    controller: { description: "the controller (worldmodels/train_controller output)" },
    vae: { description: "the ConvVAE the controller was trained with" },
    rnn: { description: "the MDN-RNN with the reward head (worldmodels/train_rnn output)" },
    series: { description: "the encode output (initial z and track seeds of real episodes)" },
  },
  outputs: ["video"],
  deterministic: true,
  run: dreamVideo,
});
