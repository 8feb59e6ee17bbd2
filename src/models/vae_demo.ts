/**
 * Demo: trains the ConvVAE for a few hundred steps on real 64x64 CarRacing frames and writes a
 * PNG grid, originals (top row) over their reconstructions (bottom row), of held-out frames.
 *
 * Frames come from episodes driven by the scripted track follower with noisy steering, so they
 * show road, curves, grass and the car leaving the road.
 *
 * ```sh
 * deno run -A src/models/vae_demo.ts --out vae_demo.png [--steps 300] [--batch 32] [--episodes 6]
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { encode } from "fast-png";
import { CarRacing } from "../envs/car_racing/mod.ts";
import { TrackFollower } from "../envs/car_racing/track_follower.ts";
import { Random } from "../random/mod.ts";
import { initBackend } from "./backend/mod.ts";
import { ConvVAE, framesToTensor } from "./vae.ts";

const FRAME_BYTES = 64 * 64 * 3;

/** Options of {@linkcode collectFrames}. */
export interface CollectOptions {
  /** Episodes to drive; default 6. */
  episodes?: number;
  /** Steps per episode; default 300. */
  steps?: number;
  /** Keep every k-th frame; default 2. */
  every?: number;
  /** Seed of tracks and steering noise; default 0. */
  seed?: number;
}

/** Drives CarRacing episodes and returns their 64x64 frames, concatenated. */
export async function collectFrames(options: CollectOptions = {}): Promise<Uint8Array[]> {
  const { episodes = 6, steps = 300, every = 2, seed = 0 } = options;
  const env = await CarRacing.create({ observation: "pixels64", maxSteps: steps });
  const rng = Random.keyedSplitMix(seed);
  const frames: Uint8Array[] = [];
  try {
    for (let e = 0; e < episodes; e++) {
      env.reset({ seed: seed * 1000 + e });
      const driver = new TrackFollower();
      // Per-episode noise level, as the original random agent has per-episode amplitudes.
      const noise = rng.uniform(0, 0.8);
      for (let t = 0; t < steps; t++) {
        const [steer, gas, brake] = driver.act(env);
        const action = [
          Math.max(-1, Math.min(1, steer + rng.uniform(-noise, noise))),
          gas,
          brake,
        ];
        const result = env.step(action);
        if (t >= 50 && t % every === 0) frames.push(result.observation);
        if (result.terminated || result.truncated) break;
      }
    }
  } finally {
    env.close();
  }
  return frames;
}

/** Lays out 64x64 RGB frames in rows (each row a list of frames), upscaled by `scale`. */
export function frameGrid(rows: Uint8Array[][], scale = 2): Uint8Array & { width: number } {
  const columns = Math.max(...rows.map((r) => r.length));
  const width = columns * 64 * scale;
  const height = rows.length * 64 * scale;
  const out = new Uint8Array(width * height * 3) as Uint8Array & { width: number };
  out.width = width;
  rows.forEach((row, r) =>
    row.forEach((frame, c) => {
      for (let y = 0; y < 64 * scale; y++) {
        for (let x = 0; x < 64 * scale; x++) {
          const src = (Math.floor(y / scale) * 64 + Math.floor(x / scale)) * 3;
          const dst = ((r * 64 * scale + y) * width + c * 64 * scale + x) * 3;
          out[dst] = frame[src];
          out[dst + 1] = frame[src + 1];
          out[dst + 2] = frame[src + 2];
        }
      }
    })
  );
  return out;
}

if (import.meta.main) {
  const arg = (name: string, fallback: string) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Deno.args[i + 1] : fallback;
  };
  const out = arg("out", "vae_demo.png");
  const steps = Number(arg("steps", "300"));
  const batch = Number(arg("batch", "32"));
  const info = await initBackend({ backend: "wasm" });
  console.error(`backend: ${info.name} simd=${info.simd}`);
  const frames = await collectFrames({ episodes: Number(arg("episodes", "6")) });
  // Hold out every 10th frame for the picture.
  const train = frames.filter((_, i) => i % 10 !== 0);
  const held = frames.filter((_, i) => i % 10 === 0);
  console.error(`frames: ${train.length} for training, ${held.length} held out`);
  const vae = new ConvVAE({ seed: 0, learningRate: Number(arg("lr", "0.001")) });
  const rng = Random.keyedSplitMix(1);
  const bytes = new Uint8Array(batch * FRAME_BYTES);
  const t0 = performance.now();
  for (let step = 1; step <= steps; step++) {
    for (let b = 0; b < batch; b++) {
      bytes.set(train[Math.floor(rng.nextFloat() * train.length)], b * FRAME_BYTES);
    }
    const x = framesToTensor(bytes, batch);
    const losses = vae.trainStep(x);
    x.dispose();
    if (step % 25 === 0 || step === 1) {
      const seconds = ((performance.now() - t0) / 1000).toFixed(0);
      console.error(
        `step ${step} loss ${losses.loss.toFixed(1)} rec ${losses.reconstruction.toFixed(1)} ` +
          `kl ${losses.kl.toFixed(2)} (${seconds} s)`,
      );
    }
  }
  const shown = held.filter((_, i) => i % Math.max(1, Math.floor(held.length / 8)) === 0)
    .slice(0, 8);
  const input = new Uint8Array(shown.length * FRAME_BYTES);
  shown.forEach((f, i) => input.set(f, i * FRAME_BYTES));
  const x = framesToTensor(input, shown.length);
  const y = vae.reconstruct(x);
  const values = y.dataSync();
  const recon = shown.map((_, i) => {
    const f = new Uint8Array(FRAME_BYTES);
    for (let j = 0; j < FRAME_BYTES; j++) {
      f[j] = Math.round(values[i * FRAME_BYTES + j] * 255);
    }
    return f;
  });
  tf.dispose([x, y]);
  const grid = frameGrid([shown, recon], 2);
  const png = encode({
    width: grid.width,
    height: grid.length / 3 / grid.width,
    data: grid,
    channels: 3,
  });
  await Deno.writeFile(out, png);
  console.error(`wrote ${out}`);
  vae.dispose();
}
