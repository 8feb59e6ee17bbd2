/**
 * Rollout datasets: episodes of (frame, action, reward, done) steps in a directory of `.npy`
 * files NumPy opens directly, plus an `index.json`.
 *
 * ```text
 * frames.npy   uint8   [N, 64, 64, 3]  observation o_t the action was chosen from
 * actions.npy  float32 [N, 3]          a_t = (steer, gas, brake) applied at o_t
 * rewards.npy  float32 [N]             r_t returned by step(a_t)
 * dones.npy    bool    [N]             step(a_t) terminated the episode
 * index.json   per-episode seed, start row, length, return; dataset-wide shapes and counts
 * ```
 *
 * All episodes are concatenated in index order: episode k occupies rows
 * `[start_k, start_k + length_k)`. The observation after an episode's last step is not stored.
 * A truncated episode (cut by a step limit) has no `done` row.
 *
 * @module
 */

import { join } from "node:path";
import { createNpyWriter, type NpyDtype, NpyReader, type NpyWriter, openNpy } from "./npy/mod.ts";
import { mixSeed, Random } from "../random/mod.ts";

/** File names inside a rollout dataset directory. */
export const ROLLOUT_FILES = {
  frames: "frames.npy",
  actions: "actions.npy",
  rewards: "rewards.npy",
  dones: "dones.npy",
  index: "index.json",
} as const;

/** The `format` tag in `index.json`. */
export const ROLLOUT_FORMAT = "ditto.rollouts";
/** The `version` in `index.json`. */
export const ROLLOUT_VERSION = 1;

/** One episode's entry in `index.json`. */
export interface EpisodeInfo {
  /** Position of the episode in the dataset (0-based). */
  index: number;
  /** Seed the environment was reset with. */
  seed: number;
  /** First row of the episode in every `.npy` file. */
  start: number;
  /** Number of steps (rows). */
  length: number;
  /** Sum of the episode's rewards (float64 sum of the stored float32 rewards). */
  return: number;
  /** Whether the environment ended the episode (last `done` is true), not a step limit. */
  terminated: boolean;
}

/** The contents of `index.json`. */
export interface RolloutIndex {
  /** Always {@linkcode ROLLOUT_FORMAT}. */
  format: typeof ROLLOUT_FORMAT;
  /** Always {@linkcode ROLLOUT_VERSION}. */
  version: number;
  /** Shape of one frame, e.g. `[64, 64, 3]`. */
  frame_shape: number[];
  /** Elements per action, e.g. 3. */
  action_size: number;
  /** Number of episodes. */
  episodes_count: number;
  /** Number of steps in all episodes (`N`, the rows of every `.npy`). */
  frames_count: number;
  /** Sum of `return` over episodes divided by `episodes_count` (0 when empty). */
  mean_return: number;
  /** Mean episode length. */
  mean_length: number;
  /** The policy that drove the episodes, with its parameters. */
  policy: Record<string, unknown>;
  /** Anything else the producer records (environment, seeds' derivation, ...). */
  meta: Record<string, unknown>;
  /** File names of the arrays. */
  files: { frames: string; actions: string; rewards: string; dones: string };
  /** Episodes in row order. */
  episodes: EpisodeInfo[];
}

/** One episode's steps in memory. */
export interface Episode {
  /** uint8 frames, `length * prod(frame_shape)` elements. */
  frames: Uint8Array;
  /** float32 actions, `length * action_size` elements. */
  actions: Float32Array;
  /** float32 rewards, `length` elements. */
  rewards: Float32Array;
  /** 0/1 dones, `length` elements. */
  dones: Uint8Array;
}

/** Options of {@linkcode RolloutWriter.create}. */
export interface RolloutWriterOptions {
  /** Shape of one frame (default `[64, 64, 3]`). */
  frameShape?: number[];
  /** Elements per action (default 3). */
  actionSize?: number;
  /** The policy and its parameters, recorded in `index.json`. */
  policy?: Record<string, unknown>;
  /** Extra producer information recorded in `index.json`. */
  meta?: Record<string, unknown>;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Writes a rollout dataset episode by episode, in the order {@linkcode RolloutWriter.append} is
 * called (the caller decides the order, so the output does not depend on who produced what
 * first). {@linkcode RolloutWriter.close} fixes the `.npy` headers and writes `index.json`.
 */
export class RolloutWriter {
  /** Shape of one frame. */
  readonly frameShape: readonly number[];
  /** Elements per action. */
  readonly actionSize: number;
  #dir: string;
  #frames: NpyWriter<"u1">;
  #actions: NpyWriter<"f4">;
  #rewards: NpyWriter<"f4">;
  #dones: NpyWriter<"b1">;
  #episodes: EpisodeInfo[] = [];
  #rows = 0;
  #policy: Record<string, unknown>;
  #meta: Record<string, unknown>;
  #closed = false;

  private constructor(
    dir: string,
    writers: [NpyWriter<"u1">, NpyWriter<"f4">, NpyWriter<"f4">, NpyWriter<"b1">],
    options: Required<RolloutWriterOptions>,
  ) {
    this.#dir = dir;
    [this.#frames, this.#actions, this.#rewards, this.#dones] = writers;
    this.frameShape = [...options.frameShape];
    this.actionSize = options.actionSize;
    this.#policy = options.policy;
    this.#meta = options.meta;
  }

  /** Creates `dir` (if needed) and the dataset's files in it, overwriting existing ones. */
  static async create(dir: string, options: RolloutWriterOptions = {}): Promise<RolloutWriter> {
    const full: Required<RolloutWriterOptions> = {
      frameShape: options.frameShape ?? [64, 64, 3],
      actionSize: options.actionSize ?? 3,
      policy: options.policy ?? {},
      meta: options.meta ?? {},
    };
    await Deno.mkdir(dir, { recursive: true });
    const frames = await createNpyWriter(join(dir, ROLLOUT_FILES.frames), {
      dtype: "u1",
      rowShape: full.frameShape,
    });
    const actions = await createNpyWriter(join(dir, ROLLOUT_FILES.actions), {
      dtype: "f4",
      rowShape: [full.actionSize],
    });
    const rewards = await createNpyWriter(join(dir, ROLLOUT_FILES.rewards), {
      dtype: "f4",
      rowShape: [],
    });
    const dones = await createNpyWriter(join(dir, ROLLOUT_FILES.dones), {
      dtype: "b1",
      rowShape: [],
    });
    return new RolloutWriter(dir, [frames, actions, rewards, dones], full);
  }

  /** Episodes appended so far. */
  get episodes(): readonly EpisodeInfo[] {
    return this.#episodes;
  }

  /** Appends one episode reset with `seed`; returns its index entry. */
  async append(seed: number, episode: Episode): Promise<EpisodeInfo> {
    if (this.#closed) throw new Error(`Cannot append to rollouts in ${this.#dir}: closed`);
    const length = episode.rewards.length;
    const problem = length === 0
      ? "it has no steps"
      : episode.frames.length !== length * product(this.frameShape)
      ? `frames hold ${episode.frames.length} values, not ${length} frames`
      : episode.actions.length !== length * this.actionSize
      ? `actions hold ${episode.actions.length} values, not ${length} actions`
      : episode.dones.length !== length
      ? `dones hold ${episode.dones.length} values, not ${length}`
      : episode.dones.subarray(0, length - 1).some((d) => d !== 0)
      ? "done is set before its last step"
      : undefined;
    if (problem !== undefined) {
      throw new RangeError(`Cannot append episode (seed ${seed}): ${problem}`);
    }
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`Cannot append episode: seed ${seed} is not a non-negative integer`);
    }
    let total = 0;
    for (let i = 0; i < length; i++) total += episode.rewards[i];
    const info: EpisodeInfo = {
      index: this.#episodes.length,
      seed,
      start: this.#rows,
      length,
      return: total,
      terminated: episode.dones[length - 1] !== 0,
    };
    this.#episodes.push(info);
    this.#rows += length;
    await Promise.all([
      this.#frames.append(episode.frames),
      this.#actions.append(episode.actions),
      this.#rewards.append(episode.rewards),
      this.#dones.append(episode.dones),
    ]);
    return info;
  }

  /** Finishes the `.npy` files and writes `index.json`; returns the index. */
  async close(): Promise<RolloutIndex> {
    this.#closed = true;
    await Promise.all([
      this.#frames.close(),
      this.#actions.close(),
      this.#rewards.close(),
      this.#dones.close(),
    ]);
    const episodes = this.#episodes;
    const count = episodes.length;
    const index: RolloutIndex = {
      format: ROLLOUT_FORMAT,
      version: ROLLOUT_VERSION,
      frame_shape: [...this.frameShape],
      action_size: this.actionSize,
      episodes_count: count,
      frames_count: this.#rows,
      mean_return: count === 0 ? 0 : episodes.reduce((s, e) => s + e.return, 0) / count,
      mean_length: count === 0 ? 0 : this.#rows / count,
      policy: this.#policy,
      meta: this.#meta,
      files: {
        frames: ROLLOUT_FILES.frames,
        actions: ROLLOUT_FILES.actions,
        rewards: ROLLOUT_FILES.rewards,
        dones: ROLLOUT_FILES.dones,
      },
      episodes,
    };
    await Deno.writeTextFile(
      join(this.#dir, ROLLOUT_FILES.index),
      JSON.stringify(index, null, 1) + "\n",
    );
    return index;
  }
}

/** Options of {@linkcode RolloutReader.frameBatches}. */
export interface FrameBatchOptions {
  /** Frames per batch. */
  batchSize: number;
  /** Seed of the shuffle; epoch e uses the permutation of `mixSeed(seed, e)`. */
  seed: number;
  /** Number of epochs to go through (default 1). */
  epochs?: number;
  /** First epoch (to resume; default 0). */
  startEpoch?: number;
  /** First batch within `startEpoch` (to resume; default 0). */
  startBatch?: number;
  /** Drop the last, smaller batch of each epoch (default false). */
  dropLast?: boolean;
}

/** A minibatch of frames drawn by {@linkcode RolloutReader.frameBatches}. */
export interface FrameBatch {
  /** Epoch the batch belongs to. */
  epoch: number;
  /** Position of the batch within its epoch. */
  batch: number;
  /** Rows of the frames, in batch order. */
  rows: Uint32Array;
  /** uint8 frames, `rows.length * prod(frame_shape)` values, in batch order. */
  frames: Uint8Array;
}

/** Rows `[offset, offset + length)` of one episode. */
export interface EpisodeSlice {
  /** First step within the episode (default 0). */
  offset?: number;
  /** Number of steps (default: to the end of the episode). */
  length?: number;
}

/**
 * Reads a rollout dataset from disk: frames and steps are read on demand (seek + read), never
 * the whole dataset at once. Open with {@linkcode RolloutReader.open}; close when done.
 */
export class RolloutReader {
  /** The parsed `index.json`. */
  readonly index: RolloutIndex;
  /** Elements per frame. */
  readonly frameSize: number;
  #frames: NpyReader<"u1">;
  #actions: NpyReader<"f4">;
  #rewards: NpyReader<"f4">;
  #dones: NpyReader<"b1">;

  private constructor(
    index: RolloutIndex,
    readers: [NpyReader<"u1">, NpyReader<"f4">, NpyReader<"f4">, NpyReader<"b1">],
  ) {
    this.index = index;
    this.frameSize = product(index.frame_shape);
    [this.#frames, this.#actions, this.#rewards, this.#dones] = readers;
  }

  /** Opens the dataset in `dir`, checking that the arrays agree with `index.json`. */
  static async open(dir: string): Promise<RolloutReader> {
    const indexPath = join(dir, ROLLOUT_FILES.index);
    let index: RolloutIndex;
    try {
      index = JSON.parse(await Deno.readTextFile(indexPath));
    } catch (error) {
      throw new Error(`Cannot open rollouts in ${dir}: ${indexPath} is unreadable`, {
        cause: error,
      });
    }
    if (index.format !== ROLLOUT_FORMAT || index.version !== ROLLOUT_VERSION) {
      throw new TypeError(
        `Cannot open rollouts in ${dir}: index.json is not ${ROLLOUT_FORMAT} version ${ROLLOUT_VERSION}`,
      );
    }
    const opened: NpyReader[] = [];
    try {
      const expect = [
        ["frames", "u1", [index.frames_count, ...index.frame_shape]],
        ["actions", "f4", [index.frames_count, index.action_size]],
        ["rewards", "f4", [index.frames_count]],
        ["dones", "b1", [index.frames_count]],
      ] as const;
      for (const [name, dtype, shape] of expect) {
        const reader = await openNpy(join(dir, index.files[name]));
        opened.push(reader);
        const ok = reader.dtype === (dtype as NpyDtype) &&
          JSON.stringify(reader.shape) === JSON.stringify(shape);
        if (!ok) {
          throw new RangeError(
            `Cannot open rollouts in ${dir}: ${index.files[name]} is ${reader.dtype} ` +
              `[${reader.shape.join(", ")}], index.json expects ${dtype} [${shape.join(", ")}]`,
          );
        }
      }
      let row = 0;
      for (const [k, e] of index.episodes.entries()) {
        if (e.index !== k || e.start !== row || !(e.length > 0)) {
          throw new RangeError(`Cannot open rollouts in ${dir}: episode ${k} is out of place`);
        }
        row += e.length;
      }
      if (row !== index.frames_count || index.episodes.length !== index.episodes_count) {
        throw new RangeError(`Cannot open rollouts in ${dir}: episodes do not cover the arrays`);
      }
    } catch (error) {
      for (const reader of opened) reader.close();
      throw error;
    }
    return new RolloutReader(
      index,
      opened as [NpyReader<"u1">, NpyReader<"f4">, NpyReader<"f4">, NpyReader<"b1">],
    );
  }

  /** Episodes in row order. */
  get episodes(): readonly EpisodeInfo[] {
    return this.index.episodes;
  }

  /** Total number of steps (rows). */
  get frameCount(): number {
    return this.index.frames_count;
  }

  /** Reads `count` frames starting at row `start`. */
  readFrames(start: number, count: number): Promise<Uint8Array> {
    return this.#frames.readRows(start, count);
  }

  /** Reads the frames at `rows` (any order) into one array, in that order. */
  readFramesAt(rows: ArrayLike<number>): Promise<Uint8Array> {
    return this.#frames.readRowsAt(rows);
  }

  /** Reads the steps of episode `episode` (all of it, or a slice: for sequence sampling). */
  async readEpisode(episode: number, slice: EpisodeSlice = {}): Promise<Episode> {
    const info = this.index.episodes[episode];
    if (info === undefined) {
      throw new RangeError(
        `Cannot read episode ${episode}: the dataset has ${this.index.episodes_count}`,
      );
    }
    const offset = slice.offset ?? 0;
    const length = slice.length ?? info.length - offset;
    if (
      !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 ||
      length < 0 || offset + length > info.length
    ) {
      throw new RangeError(
        `Cannot read steps ${offset}..${offset + length} of episode ${episode}: ` +
          `it has ${info.length}`,
      );
    }
    const start = info.start + offset;
    const [frames, actions, rewards, dones] = await Promise.all([
      this.#frames.readRows(start, length),
      this.#actions.readRows(start, length),
      this.#rewards.readRows(start, length),
      this.#dones.readRows(start, length),
    ]);
    return { frames, actions, rewards, dones };
  }

  /** Number of batches in one epoch of {@linkcode RolloutReader.frameBatches}. */
  batchesPerEpoch(batchSize: number, dropLast = false): number {
    const n = this.index.frames_count;
    return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  }

  /**
   * Shuffled minibatches of frames, streamed from disk. Every epoch visits every frame once, in
   * the order of a permutation that depends only on (`seed`, epoch), so a run resumed at
   * (`startEpoch`, `startBatch`) sees the same batches as an uninterrupted one. Each batch is
   * read when it is asked for (one seek + read per run of nearby rows).
   */
  *frameBatches(options: FrameBatchOptions): Generator<FrameBatch> {
    const { batchSize, seed } = options;
    const epochs = options.epochs ?? 1;
    const startEpoch = options.startEpoch ?? 0;
    const dropLast = options.dropLast ?? false;
    if (!Number.isSafeInteger(batchSize) || batchSize <= 0) {
      throw new RangeError(`Cannot sample frames: batch size ${batchSize} is not positive`);
    }
    const perEpoch = this.batchesPerEpoch(batchSize, dropLast);
    const n = this.index.frames_count;
    type Planned = { epoch: number; batch: number; rows: Uint32Array };
    const plan = function* (): Generator<Planned> {
      for (let epoch = startEpoch; epoch < startEpoch + epochs; epoch++) {
        const order = shuffledRows(n, seed, epoch);
        const first = epoch === startEpoch ? options.startBatch ?? 0 : 0;
        for (let batch = first; batch < perEpoch; batch++) {
          yield { epoch, batch, rows: order.slice(batch * batchSize, (batch + 1) * batchSize) };
        }
      }
    }();
    for (const item of plan) {
      yield { ...item, frames: this.#frames.readRowsAtSync(item.rows) };
    }
  }

  /** Closes the files. */
  close(): void {
    this.#frames.close();
    this.#actions.close();
    this.#rewards.close();
    this.#dones.close();
  }
}

/** The permutation of rows `0..n-1` used for epoch `epoch` of a shuffle seeded with `seed`. */
export function shuffledRows(n: number, seed: number, epoch: number): Uint32Array {
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return new Random(mixSeed(seed, epoch)).shuffle(rows);
}
