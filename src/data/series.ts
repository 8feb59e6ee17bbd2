/**
 * Series datasets: a rollout dataset encoded by the VAE, for training the MDN-RNN. A directory
 * of `.npy` files NumPy opens directly, plus an `index.json`:
 *
 * ```text
 * mu.npy         float16|float32 [N, Z]     encoder mean of frame t
 * logvar.npy     float16|float32 [N, Z]     encoder log-variance of frame t
 * actions.npy    float32 [N, 3]             as in the rollouts
 * rewards.npy    float32 [N]                as in the rollouts
 * dones.npy      bool    [N]                as in the rollouts
 * initial_z.npy  float32 [E, 2, Z]          per episode: [mu, logvar] of its first frame
 * index.json     as the rollouts' (same episodes: seed, start, length, return, terminated)
 * ```
 *
 * Row t of every array is step t of the rollouts it was encoded from. Sequence minibatches
 * for the RNN are windows of consecutive steps inside one episode, drawn uniformly over all
 * windows, reproducibly from (seed, step).
 *
 * @module
 */

import { join } from "node:path";
import { createNpyWriter, type NpyReader, type NpyWriter, openNpy, writeNpy } from "./npy/mod.ts";
import { mixSeed, Random } from "../random/mod.ts";
import type { EpisodeInfo } from "./rollouts.ts";

/** File names inside a series dataset directory. */
export const SERIES_FILES = {
  mu: "mu.npy",
  logvar: "logvar.npy",
  actions: "actions.npy",
  rewards: "rewards.npy",
  dones: "dones.npy",
  initialZ: "initial_z.npy",
  index: "index.json",
} as const;

/** The `format` tag in a series `index.json`. */
export const SERIES_FORMAT = "ditto.series";
/** The `version` in a series `index.json`. */
export const SERIES_VERSION = 1;

/** The contents of a series `index.json`. */
export interface SeriesIndex {
  /** Always {@linkcode SERIES_FORMAT}. */
  format: typeof SERIES_FORMAT;
  /** Always {@linkcode SERIES_VERSION}. */
  version: number;
  /** Latent size Z. */
  z_size: number;
  /** Storage dtype of mu and logvar: `f2` (float16) or `f4` (float32). */
  z_dtype: "f2" | "f4";
  /** Elements per action. */
  action_size: number;
  /** Number of episodes E. */
  episodes_count: number;
  /** Number of steps N. */
  frames_count: number;
  /** Anything the producer records (the VAE, the rollouts' index, ...). */
  meta: Record<string, unknown>;
  /** Episodes in row order (as in the rollouts). */
  episodes: EpisodeInfo[];
}

/** One episode of a series in memory (mu and logvar widened to float32). */
export interface SeriesEpisode {
  /** `length * Z` encoder means. */
  mu: Float32Array;
  /** `length * Z` encoder log-variances. */
  logvar: Float32Array;
  /** `length * 3` actions. */
  actions: Float32Array;
  /** `length` rewards. */
  rewards: Float32Array;
  /** `length` dones (0/1). */
  dones: Uint8Array;
}

/** One series of a {@linkcode SeriesReader}: its arrays, and where its episodes begin. */
interface SeriesPart {
  first: number;
  episodes: EpisodeInfo[];
  arrays: NpyReader[];
}

/** Options of {@linkcode SeriesWriter.create}. */
export interface SeriesWriterOptions {
  /** Latent size Z. */
  zSize: number;
  /** Storage dtype of mu and logvar (default `f4`). */
  zDtype?: "f2" | "f4";
  /** Elements per action (default 3). */
  actionSize?: number;
  /** Producer information recorded in `index.json`. */
  meta?: Record<string, unknown>;
}

/** Writes a series dataset episode by episode, in call order. */
export class SeriesWriter {
  /** Latent size. */
  readonly zSize: number;
  /** Storage dtype of mu and logvar. */
  readonly zDtype: "f2" | "f4";
  /** Elements per action. */
  readonly actionSize: number;
  #dir: string;
  #mu: NpyWriter<"f2" | "f4">;
  #logvar: NpyWriter<"f2" | "f4">;
  #actions: NpyWriter<"f4">;
  #rewards: NpyWriter<"f4">;
  #dones: NpyWriter<"b1">;
  #initial: number[] = [];
  #episodes: EpisodeInfo[] = [];
  #rows = 0;
  #meta: Record<string, unknown>;
  #closed = false;

  private constructor(
    dir: string,
    writers: [
      NpyWriter<"f2" | "f4">,
      NpyWriter<"f2" | "f4">,
      NpyWriter<"f4">,
      NpyWriter<"f4">,
      NpyWriter<"b1">,
    ],
    options: Required<SeriesWriterOptions>,
  ) {
    this.#dir = dir;
    [this.#mu, this.#logvar, this.#actions, this.#rewards, this.#dones] = writers;
    this.zSize = options.zSize;
    this.zDtype = options.zDtype;
    this.actionSize = options.actionSize;
    this.#meta = options.meta;
  }

  /** Creates `dir` (if needed) and the dataset's files in it, overwriting existing ones. */
  static async create(dir: string, options: SeriesWriterOptions): Promise<SeriesWriter> {
    const full: Required<SeriesWriterOptions> = {
      zSize: options.zSize,
      zDtype: options.zDtype ?? "f4",
      actionSize: options.actionSize ?? 3,
      meta: options.meta ?? {},
    };
    if (!Number.isSafeInteger(full.zSize) || full.zSize < 1) {
      throw new RangeError(`Cannot create series in ${dir}: z size ${full.zSize} < 1`);
    }
    if (full.zDtype !== "f2" && full.zDtype !== "f4") {
      throw new TypeError(`Cannot create series in ${dir}: z dtype must be f2 or f4`);
    }
    await Deno.mkdir(dir, { recursive: true });
    const z = { dtype: full.zDtype, rowShape: [full.zSize] };
    const writers = [
      await createNpyWriter(join(dir, SERIES_FILES.mu), z),
      await createNpyWriter(join(dir, SERIES_FILES.logvar), z),
      await createNpyWriter(join(dir, SERIES_FILES.actions), {
        dtype: "f4",
        rowShape: [full.actionSize],
      }),
      await createNpyWriter(join(dir, SERIES_FILES.rewards), { dtype: "f4", rowShape: [] }),
      await createNpyWriter(join(dir, SERIES_FILES.dones), { dtype: "b1", rowShape: [] }),
    ] as const;
    return new SeriesWriter(dir, [...writers], full);
  }

  /**
   * Appends one encoded episode. `info` carries over the rollouts' episode entry (its seed;
   * `index`, `start`, `return` and `terminated` are recomputed here).
   */
  async append(info: Pick<EpisodeInfo, "seed">, episode: SeriesEpisode): Promise<EpisodeInfo> {
    if (this.#closed) throw new Error(`Cannot append to series in ${this.#dir}: closed`);
    const length = episode.rewards.length;
    const z = this.zSize;
    const problem = length === 0
      ? "it has no steps"
      : episode.mu.length !== length * z || episode.logvar.length !== length * z
      ? `mu/logvar hold ${episode.mu.length}/${episode.logvar.length} values, not ${length} x ${z}`
      : episode.actions.length !== length * this.actionSize
      ? `actions hold ${episode.actions.length} values, not ${length} actions`
      : episode.dones.length !== length
      ? `dones hold ${episode.dones.length} values, not ${length}`
      : undefined;
    if (problem !== undefined) {
      throw new RangeError(`Cannot append episode (seed ${info.seed}): ${problem}`);
    }
    let total = 0;
    for (let i = 0; i < length; i++) total += episode.rewards[i];
    const entry: EpisodeInfo = {
      index: this.#episodes.length,
      seed: info.seed,
      start: this.#rows,
      length,
      return: total,
      terminated: episode.dones[length - 1] !== 0,
    };
    this.#episodes.push(entry);
    this.#rows += length;
    for (let j = 0; j < z; j++) this.#initial.push(episode.mu[j]);
    for (let j = 0; j < z; j++) this.#initial.push(episode.logvar[j]);
    await Promise.all([
      this.#mu.append(episode.mu),
      this.#logvar.append(episode.logvar),
      this.#actions.append(episode.actions),
      this.#rewards.append(episode.rewards),
      this.#dones.append(episode.dones),
    ]);
    return entry;
  }

  /** Finishes the `.npy` files, writes `initial_z.npy` and `index.json`; returns the index. */
  async close(): Promise<SeriesIndex> {
    this.#closed = true;
    await Promise.all(
      [this.#mu, this.#logvar, this.#actions, this.#rewards, this.#dones].map((w) => w.close()),
    );
    const count = this.#episodes.length;
    await writeNpy(join(this.#dir, SERIES_FILES.initialZ), {
      dtype: "f4",
      shape: [count, 2, this.zSize],
      data: Float32Array.from(this.#initial),
    });
    const index: SeriesIndex = {
      format: SERIES_FORMAT,
      version: SERIES_VERSION,
      z_size: this.zSize,
      z_dtype: this.zDtype,
      action_size: this.actionSize,
      episodes_count: count,
      frames_count: this.#rows,
      meta: this.#meta,
      episodes: this.#episodes,
    };
    await Deno.writeTextFile(
      join(this.#dir, SERIES_FILES.index),
      JSON.stringify(index, null, 1) + "\n",
    );
    return index;
  }
}

/** Options of {@linkcode SeriesReader.sequenceBatch}. */
export interface SequenceBatchOptions {
  /** Windows per batch. */
  batchSize: number;
  /** Steps per window (an RNN with `seq_len` L needs L + 1: inputs 0..L-1, targets 1..L). */
  length: number;
  /** Seed of the sampling; batch `step` draws from `mixSeed(seed, step)`. */
  seed: number;
  /** Training step the batch is for (0-based). */
  step: number;
  /** Draw only from the first `episodes` episodes (default all: the rest can be held out). */
  episodes?: number;
  /**
   * Also draw the window of each terminated episode that ends one step past its last row, so
   * that the episode's last action (its reward and done) is a transition too; that window's
   * missing last frame is zeros and `lastFrameMissing` marks it. Default false.
   */
  throughEnd?: boolean;
}

/** A minibatch of windows; arrays are `[batchSize, length, ...]` in C order. */
export interface SequenceBatch extends SeriesEpisode {
  /** Episode of each window. */
  episodes: Uint32Array;
  /** First step of each window within its episode. */
  offsets: Uint32Array;
  /** 1 for a window whose last frame is past the end of its episode (`throughEnd`). */
  lastFrameMissing?: Uint8Array;
}

/** Reads a series dataset from disk (rows on demand). Close when done. */
export class SeriesReader {
  /** The parsed `index.json` (of several series: their episodes in order, renumbered). */
  readonly index: SeriesIndex;
  // One entry per series opened: its arrays, and where its episodes begin in `index`.
  #parts: SeriesPart[];
  #dir: string;

  private constructor(dir: string, index: SeriesIndex, readers: NpyReader[]) {
    this.#dir = dir;
    this.index = index;
    this.#parts = [{ first: 0, episodes: index.episodes, arrays: readers }];
  }

  /**
   * Opens several series as one: the episodes of the first, then of the next, ... (the
   * iterative procedure's data: earlier rounds' rollouts mixed with the new). They must agree on
   * Z and the action size; `meta.parts` lists each one's meta. One directory is
   * {@linkcode SeriesReader.open}.
   */
  static async openMany(dirs: readonly string[]): Promise<SeriesReader> {
    if (dirs.length === 0) throw new RangeError("Cannot open series: no directory given");
    const readers: SeriesReader[] = [];
    try {
      for (const dir of dirs) readers.push(await SeriesReader.open(dir));
    } catch (error) {
      for (const reader of readers) reader.close();
      throw error;
    }
    if (readers.length === 1) return readers[0];
    const [head] = readers;
    const episodes: EpisodeInfo[] = [];
    const parts: SeriesPart[] = [];
    let frames = 0;
    for (const [i, reader] of readers.entries()) {
      const { z_size, action_size } = reader.index;
      if (z_size !== head.index.z_size || action_size !== head.index.action_size) {
        for (const r of readers) r.close();
        throw new RangeError(
          `Cannot open series together: ${dirs[i]} has Z ${z_size} and actions of ` +
            `${action_size}, ${dirs[0]} has ${head.index.z_size} and ${head.index.action_size}`,
        );
      }
      parts.push({ ...reader.#parts[0], first: episodes.length });
      for (const e of reader.index.episodes) {
        episodes.push({ ...e, index: episodes.length, start: e.start + frames });
      }
      frames += reader.index.frames_count;
    }
    const index: SeriesIndex = {
      ...head.index,
      // Storage dtypes may differ; each part widens its own to float32 on read.
      episodes_count: episodes.length,
      frames_count: frames,
      meta: { parts: readers.map((r) => r.index.meta) },
      episodes,
    };
    const merged = new SeriesReader(dirs.join(" + "), index, []);
    merged.#parts = parts;
    return merged;
  }

  /** Opens the dataset in `dir`, checking that the arrays agree with `index.json`. */
  static async open(dir: string): Promise<SeriesReader> {
    const index: SeriesIndex = JSON.parse(
      await Deno.readTextFile(join(dir, SERIES_FILES.index)),
    );
    if (index.format !== SERIES_FORMAT || index.version !== SERIES_VERSION) {
      throw new TypeError(
        `Cannot open series in ${dir}: index.json is not ${SERIES_FORMAT} version ${SERIES_VERSION}`,
      );
    }
    const n = index.frames_count;
    const expect = [
      [SERIES_FILES.mu, index.z_dtype, [n, index.z_size]],
      [SERIES_FILES.logvar, index.z_dtype, [n, index.z_size]],
      [SERIES_FILES.actions, "f4", [n, index.action_size]],
      [SERIES_FILES.rewards, "f4", [n]],
      [SERIES_FILES.dones, "b1", [n]],
    ] as const;
    const readers: NpyReader[] = [];
    try {
      for (const [file, dtype, shape] of expect) {
        const reader = await openNpy(join(dir, file));
        readers.push(reader);
        if (reader.dtype !== dtype || JSON.stringify(reader.shape) !== JSON.stringify(shape)) {
          throw new RangeError(
            `Cannot open series in ${dir}: ${file} is ${reader.dtype} [${reader.shape}], ` +
              `index.json expects ${dtype} [${shape}]`,
          );
        }
      }
    } catch (error) {
      for (const reader of readers) reader.close();
      throw error;
    }
    return new SeriesReader(dir, index, readers);
  }

  /** Episodes in row order. */
  get episodes(): readonly EpisodeInfo[] {
    return this.index.episodes;
  }

  /** Reads `length` steps of episode `episode` from step `offset` (default: all of it). */
  readEpisode(episode: number, offset = 0, length?: number): SeriesEpisode {
    const info = this.index.episodes[episode];
    if (info === undefined) {
      throw new RangeError(
        `Cannot read episode ${episode} of ${this.#dir}: it has ${this.index.episodes_count}`,
      );
    }
    const count = length ?? info.length - offset;
    if (offset < 0 || count < 0 || offset + count > info.length) {
      throw new RangeError(
        `Cannot read steps ${offset}..${offset + count} of episode ${episode}: ` +
          `it has ${info.length}`,
      );
    }
    // The part holding the episode, and the episode's first row in that part's arrays.
    let part = this.#parts[0];
    for (const p of this.#parts) if (p.first <= episode) part = p;
    const start = part.episodes[episode - part.first].start + offset;
    const [mu, logvar, actions, rewards, dones] = part.arrays;
    return {
      mu: mu.readRowsSync(start, count) as Float32Array,
      logvar: logvar.readRowsSync(start, count) as Float32Array,
      actions: actions.readRowsSync(start, count) as Float32Array,
      rewards: rewards.readRowsSync(start, count) as Float32Array,
      dones: dones.readRowsSync(start, count) as Uint8Array,
    };
  }

  /**
   * Draws `batchSize` windows of `length` consecutive steps, each inside one episode, uniformly
   * over all such windows (episodes shorter than `length` are never drawn). The batch depends
   * only on (`seed`, `step`), so training resumed at a step sees the same batches.
   */
  sequenceBatch(options: SequenceBatchOptions): SequenceBatch {
    const { batchSize, length, seed, step } = options;
    const throughEnd = options.throughEnd === true;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`Cannot sample sequences: batch size ${batchSize} < 1`);
    }
    if (!Number.isSafeInteger(length) || length < 1) {
      throw new RangeError(`Cannot sample sequences: length ${length} < 1`);
    }
    // Cumulative count of windows per episode.
    const limit = options.episodes ?? this.index.episodes.length;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > this.index.episodes.length) {
      throw new RangeError(
        `Cannot sample sequences from ${limit} episodes: the series has ${this.index.episodes.length}`,
      );
    }
    const episodes = this.index.episodes.slice(0, limit);
    const cumulative = new Float64Array(episodes.length);
    let windows = 0;
    for (let e = 0; e < episodes.length; e++) {
      windows += Math.max(0, episodes[e].length - length + 1);
      if (throughEnd && episodes[e].terminated && episodes[e].length >= length - 1) windows++;
      cumulative[e] = windows;
    }
    if (windows === 0) {
      throw new RangeError(
        `Cannot sample sequences of ${length} steps: no episode of ${this.#dir} is that long`,
      );
    }
    const rng = new Random(mixSeed(seed, step));
    const z = this.index.z_size;
    const a = this.index.action_size;
    const batch: SequenceBatch = {
      mu: new Float32Array(batchSize * length * z),
      logvar: new Float32Array(batchSize * length * z),
      actions: new Float32Array(batchSize * length * a),
      rewards: new Float32Array(batchSize * length),
      dones: new Uint8Array(batchSize * length),
      episodes: new Uint32Array(batchSize),
      offsets: new Uint32Array(batchSize),
    };
    if (throughEnd) batch.lastFrameMissing = new Uint8Array(batchSize);
    for (let b = 0; b < batchSize; b++) {
      const w = rng.nextInt(windows);
      // Binary search for the episode holding window w.
      let lo = 0;
      let hi = episodes.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid] > w) hi = mid;
        else lo = mid + 1;
      }
      const before = lo === 0 ? 0 : cumulative[lo - 1];
      const offset = w - before;
      // The extra window of a terminated episode: all but its last frame exist.
      const missing = offset + length > episodes[lo].length ? 1 : 0;
      if (batch.lastFrameMissing) batch.lastFrameMissing[b] = missing;
      const part = this.readEpisode(lo, offset, length - missing);
      batch.episodes[b] = lo;
      batch.offsets[b] = offset;
      batch.mu.set(part.mu, b * length * z);
      batch.logvar.set(part.logvar, b * length * z);
      batch.actions.set(part.actions, b * length * a);
      batch.rewards.set(part.rewards, b * length);
      batch.dones.set(part.dones, b * length);
    }
    return batch;
  }

  /** Closes the files. */
  close(): void {
    for (const part of this.#parts) for (const reader of part.arrays) reader.close();
  }
}

/**
 * Samples z = mu + exp(logvar / 2) * eps, eps ~ N(0, I), elementwise (the RNN's inputs are a
 * fresh sample for every minibatch).
 */
export function sampleZ(
  mu: Float32Array,
  logvar: Float32Array,
  rng: { normal(): number },
): Float32Array {
  if (mu.length !== logvar.length) {
    throw new RangeError(`Cannot sample z: ${mu.length} means but ${logvar.length} log-variances`);
  }
  const z = new Float32Array(mu.length);
  for (let i = 0; i < z.length; i++) z[i] = mu[i] + Math.exp(logvar[i] / 2) * rng.normal();
  return z;
}
