/**
 * `worldmodels/encode`: encodes every frame of a rollout dataset with a trained VAE into a series
 * dataset (see src/data/series.ts) for the MDN-RNN: the latent mean and log-variance of each
 * frame, the actions, rewards and dones, and the first frame's latent of each episode.
 *
 * ```yaml
 * encode:
 *   uses: worldmodels/encode
 *   inputs:
 *     rollouts: "${stages.collect.outs.rollouts}"
 *     vae: "${stages.train_vae.outs.model}"
 *   with: { z_dtype: float16, batch_size: 200 }
 * ```
 *
 * Frames are read an episode at a time and encoded in batches of `batch_size`, in the stage
 * thread or, with `workers` > 1, in Worker threads that each encode whole episodes; episodes are
 * cut into the same batches either way, so the output does not depend on `workers`.
 *
 * @module
 */

import { RolloutReader } from "../../data/rollouts.ts";
import { SeriesWriter } from "../../data/series.ts";
import { type BackendName, initBackend, SYNC_BACKEND_NAMES } from "../../models/backend/mod.ts";
import { ConvVAE } from "../../models/vae.ts";
import { defineStage, type StageContext } from "../../runner/mod.ts";
import { encodeFrames, EncoderPool, type EpisodeLatents } from "../../worldmodels/encode_pool.ts";
import { yieldToEventLoop } from "../../worldmodels/train_state.ts";
import { mergeLineage, writeLineage } from "../../worldmodels/lineage.ts";

/** Parameters of `worldmodels/encode` (the `with:` keys). */
export interface EncodeParams {
  /** Storage type of mu and logvar. */
  z_dtype: "float16" | "float32";
  /** Frames encoded at once. */
  batch_size: number;
  /** TensorFlow.js backend. */
  backend: BackendName;
  /** Worker threads encoding episodes (1: in the stage thread); does not change the output. */
  workers: number;
}

/** Encodes the rollouts: the body of the stage, usable with any {@linkcode StageContext}. */
export async function encodeSeries(ctx: StageContext<EncodeParams>): Promise<void> {
  const { z_dtype: zDtype, batch_size: batchSize, workers } = ctx.params;
  const backend = await initBackend({ backend: ctx.params.backend });
  const vae = await ConvVAE.load(ctx.inputs.vae);
  const reader = await RolloutReader.open(ctx.inputs.rollouts);
  const z = vae.zSize;
  try {
    const writer = await SeriesWriter.create(ctx.output("series"), {
      zSize: z,
      zDtype: zDtype === "float16" ? "f2" : "f4",
      actionSize: reader.index.action_size,
      meta: {
        stage: "worldmodels/encode",
        vae: { z_size: z, kl_tolerance: vae.klTolerance },
        rollouts: { policy: reader.index.policy, meta: reader.index.meta },
        mu_t: "encoder mean of frame t of the rollouts",
        logvar_t: "encoder log-variance of frame t of the rollouts",
        initial_z: "[episode, 0 = mu | 1 = logvar, z] of each episode's first frame (float32)",
      },
    });
    ctx.progress.total(reader.frameCount, "frames");
    const t0 = performance.now();
    let encoded = 0;
    const count = reader.episodes.length;
    const pool = workers > 1
      ? await EncoderPool.start(Math.min(workers, count), {
        backend: ctx.params.backend,
        vae: ctx.inputs.vae,
        rollouts: ctx.inputs.rollouts,
        batchSize,
      })
      : undefined;
    try {
      // With Workers, episodes are encoded a window ahead and written strictly in order.
      const pending = new Map<number, Promise<EpisodeLatents>>();
      let next = 0;
      for (const info of reader.episodes) {
        ctx.signal.throwIfAborted();
        const episode = await reader.readEpisode(info.index);
        let latents: EpisodeLatents;
        if (pool === undefined) {
          latents = encodeFrames(vae, episode.frames, { length: info.length, batchSize });
          await yieldToEventLoop();
        } else {
          while (next < count && next < info.index + 2 * pool.size) {
            pending.set(next, pool.encode(next));
            next++;
          }
          latents = await pending.get(info.index)!;
          pending.delete(info.index);
        }
        await writer.append(info, {
          ...latents,
          actions: episode.actions,
          rewards: episode.rewards,
          dones: episode.dones,
        });
        encoded += info.length;
        ctx.progress.advance(info.length);
        ctx.metrics.log(info.index, { frames: info.length });
      }
    } finally {
      pool?.close();
      await writer.close();
    }
    await writeLineage(
      ctx.output("series"),
      await mergeLineage([ctx.inputs.rollouts, ctx.inputs.vae]),
    );
    const seconds = (performance.now() - t0) / 1000;
    const perSecond = encoded / Math.max(seconds, 1e-9);
    ctx.report({ backend, frames: encoded, frames_per_second: Number(perSecond.toFixed(1)) });
    ctx.log(
      `${encoded} frames of ${reader.episodes.length} episodes, ${perSecond.toFixed(0)} frames/s`,
    );
  } finally {
    reader.close();
    vae.dispose();
  }
}

/** The `worldmodels/encode` stage module. */
export default defineStage<EncodeParams>({
  description: "Encodes rollout frames with the VAE into a series dataset for the MDN-RNN",
  params: {
    z_dtype: {
      type: "string",
      default: "float16",
      enum: ["float16", "float32"],
      description: "storage type of mu and logvar (float16 as in the original)",
    },
    batch_size: {
      type: "integer",
      default: 200,
      min: 1,
      description: "frames encoded at once",
    },
    backend: {
      type: "string",
      default: "wasm",
      enum: SYNC_BACKEND_NAMES,
      description: "TensorFlow.js backend: wasm, cpu, or tensorflow (needs tfjs-node)",
    },
    workers: {
      type: "integer",
      default: 1,
      min: 1,
      max: 64,
      description: "worker threads encoding episodes (the output does not depend on it)",
    },
  },
  inputs: {
    rollouts: { description: "rollout dataset (worldmodels/collect output)" },
    vae: { description: "VAE model folder (worldmodels/train_vae output `model`)" },
  },
  outputs: ["series"],
  deterministic: true,
  run: encodeSeries,
});
