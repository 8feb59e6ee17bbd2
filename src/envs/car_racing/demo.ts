/**
 * Writes a CarRacing episode as an animated GIF or as PNG frames, so a person can look at
 * what the car sees. The car is driven by the scripted {@link TrackFollower} (or random or
 * full-gas actions).
 *
 * CLI: `deno task env:demo --seed 3 --out demo.gif` (a path not ending in `.gif` is a
 * folder of PNG frames). Options: `--view video|pixels96|pixels64` (default video, 600x400),
 * `--steps N` (default 1000), `--every K` (keep every K-th frame; default 2), `--scale S`
 * (upscale pixel views; default 4), `--driver follow|random|gas` (default follow).
 *
 * @module
 */

import { encode } from "fast-png";
import { CarRacing } from "./car_racing.ts";
import { TrackFollower } from "./track_follower.ts";
import { Random } from "../../random/mod.ts";
import { COLORS, tileColor } from "./render.ts";
import { encodeGif as encodeFrames } from "../../media/gif.ts";

/** Options of {@link recordEpisode}. */
export interface DemoOptions {
  /** Track seed. */
  seed: number;
  /**
   * What to record: the 600x400 render or an observation.
   * @default {"video"}
   */
  view?: "video" | "pixels96" | "pixels64";
  /**
   * Maximum steps.
   * @default {1000}
   */
  steps?: number;
  /**
   * Keep every k-th frame.
   * @default {2}
   */
  every?: number;
  /**
   * Nearest-neighbour upscaling of observation views.
   * @default {4}
   */
  scale?: number;
  /**
   * Who drives.
   * @default {"follow"}
   */
  driver?: "follow" | "random" | "gas";
}

/** Recorded RGB frames of one size. */
export interface Frames {
  /** Frame width. */
  width: number;
  /** Frame height. */
  height: number;
  /** RGB frames, row 0 at the top. */
  frames: Uint8Array[];
  /** Milliseconds between kept frames. */
  delayMs: number;
  /** Sum of step rewards. */
  totalReward: number;
}

function upscale(src: Uint8Array, w: number, h: number, s: number): Uint8Array {
  if (s === 1) return src;
  const out = new Uint8Array(w * s * h * s * 3);
  for (let y = 0; y < h * s; y++) {
    for (let x = 0; x < w * s; x++) {
      const i = ((Math.floor(y / s) * w) + Math.floor(x / s)) * 3;
      const o = (y * w * s + x) * 3;
      out[o] = src[i];
      out[o + 1] = src[i + 1];
      out[o + 2] = src[i + 2];
    }
  }
  return out;
}

/**
 * Runs one episode and keeps its frames.
 *
 * @param options Seed, view, length and driver.
 * @returns The frames.
 */
export async function recordEpisode(options: DemoOptions): Promise<Frames> {
  const view = options.view ?? "video";
  const steps = options.steps ?? 1000;
  const every = options.every ?? 2;
  const scale = view === "video" ? 1 : options.scale ?? 4;
  const env = await CarRacing.create({
    observation: view === "pixels64" ? "pixels64" : "pixels96",
    maxSteps: steps,
  });
  const follower = new TrackFollower();
  const rng = Random.keyedSplitMix(options.seed + 1);
  const side = view === "pixels64" ? 64 : 96;
  const width = view === "video" ? 600 : side * scale;
  const height = view === "video" ? 400 : side * scale;
  const frames: Uint8Array[] = [];
  const keep = (obs: Uint8Array) => {
    frames.push(view === "video" ? env.render({ width, height }) : upscale(obs, side, side, scale));
  };
  let totalReward = 0;
  try {
    keep(env.reset({ seed: options.seed }).observation);
    for (let i = 1; i <= steps; i++) {
      const action = options.driver === "random"
        ? [rng.uniform(-1, 1), rng.nextFloat(), rng.nextFloat() * 0.2]
        : options.driver === "gas"
        ? [0, 1, 0]
        : follower.act(env);
      const r = env.step(action);
      totalReward += r.reward;
      const last = r.terminated || r.truncated;
      if (i % every === 0 || last) keep(r.observation);
      if (last) break;
    }
  } finally {
    env.close();
  }
  return { width, height, frames, delayMs: 20 * every, totalReward };
}

/** The colours the renderer can produce at full resolution (no anti-aliasing). */
function exactPalette(): number[][] {
  const packed = new Set<number>([
    ...Object.values(COLORS),
    tileColor(0),
    tileColor(1),
    tileColor(2),
  ]);
  return [...packed].map((c) => [c >>> 16, (c >>> 8) & 255, c & 255]);
}

/**
 * Encodes frames as an animated GIF (lossless when every colour is in the renderer's
 * palette, otherwise quantised per frame).
 *
 * @param rec The frames.
 * @returns GIF bytes.
 */
export function encodeGif(rec: Frames): Uint8Array {
  const { width, height } = rec;
  return encodeFrames(rec.frames.map((rgb) => ({ width, height, rgb })), {
    delayMs: rec.delayMs,
    palette: exactPalette(),
  });
}

/**
 * Encodes one RGB frame as PNG.
 *
 * @param frame RGB bytes.
 * @param width Width.
 * @param height Height.
 * @returns PNG bytes.
 */
export function encodePng(frame: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: frame, channels: 3 });
}

function parseFlags(args: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new TypeError(`Cannot parse arguments: unexpected "${a}"`);
    const eq = a.indexOf("=");
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else flags.set(a.slice(2), args[++i] ?? "");
  }
  return flags;
}

async function main(args: string[]): Promise<void> {
  const flags = parseFlags(args);
  const known = ["seed", "out", "view", "steps", "every", "scale", "driver"];
  for (const k of flags.keys()) {
    if (!known.includes(k)) throw new TypeError(`Cannot run the demo: unknown option --${k}`);
  }
  const int = (name: string, fallback: number) => {
    const v = flags.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`Cannot run the demo: --${name} "${v}" is not a non-negative integer`);
    }
    return n;
  };
  const view = flags.get("view") ?? "video";
  if (!["video", "pixels96", "pixels64"].includes(view)) {
    throw new TypeError(`Cannot run the demo: unknown --view "${view}"`);
  }
  const driver = flags.get("driver") ?? "follow";
  if (!["follow", "random", "gas"].includes(driver)) {
    throw new TypeError(`Cannot run the demo: unknown --driver "${driver}"`);
  }
  const out = flags.get("out") ?? "demo.gif";
  const rec = await recordEpisode({
    seed: int("seed", 0),
    view: view as DemoOptions["view"],
    steps: Math.max(1, int("steps", 1000)),
    every: Math.max(1, int("every", 2)),
    scale: Math.max(1, int("scale", 4)),
    driver: driver as DemoOptions["driver"],
  });
  if (out.toLowerCase().endsWith(".gif")) {
    await Deno.writeFile(out, encodeGif(rec));
  } else {
    await Deno.mkdir(out, { recursive: true });
    for (let i = 0; i < rec.frames.length; i++) {
      const name = `${out}/frame_${String(i).padStart(5, "0")}.png`;
      await Deno.writeFile(name, encodePng(rec.frames[i], rec.width, rec.height));
    }
  }
  console.error(
    `wrote ${rec.frames.length} frames (${rec.width}x${rec.height}) to ${out}; ` +
      `return ${rec.totalReward.toFixed(1)}`,
  );
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
