/**
 * The dream: the MDN-RNN as a batched pseudo-environment for controllers (World Models §4.5;
 * the reward from the book's reward head, `car_racing_dream.py`).
 *
 * A dream episode ("job": a candidate and a seed) starts from the first frame of a real
 * episode: the seed picks one row of the encode output's `initial_z.npy` ([episodes, 2, Z]:
 * mu, logvar) and z_0 ~ N(mu, exp(logvar / 2)^2); the LSTM state starts at zero and the reward
 * input at 0. Per step t, as in the real driver ({@linkcode ControllerDriver}):
 *
 * 1. the controller sees [z_t] or [z_t, h_t] and acts a_t;
 * 2. the LSTM is stepped with (z_t, a_t, r_t), giving h_{t+1} and the mixture for z_{t+1};
 * 3. r_{t+1} = 1 when the reward logit is positive ("a new tile"), else 0 (`reward: "threshold"`,
 *    the book's), or r_{t+1} ~ Bernoulli(sigmoid(logit)) (`reward: "bernoulli"`): added to the
 *    return and fed back as the next reward input. With M's reward regression head instead,
 *    the predicted value is fed back as the next reward input and the return earns it unscaled
 *    to gym's units (`MdnRnn.decodeReward`), so a dream return reads like a real one;
 * 4. with M's done head, the episode ends after this step when the done fires: probability
 *    sigmoid(logit) >= 0.5 (`done: "threshold"`, the paper's Doom rule) or a draw
 *    ~ Bernoulli(sigmoid(logit)) (`done: "sampled"`); its outcome is `terminated`;
 * 5. z_{t+1} is sampled per latent dimension with temperature tau: a component from
 *    softmax(logits / tau), then mu_k + sigma_k * sqrt(tau) * N(0, 1).
 *
 * With `start: "real"` a dream starts instead inside a real episode of the series, after a real
 * warm-up: the seed picks an episode and a step t0 >= `warmup`, the LSTM is stepped over the
 * `warmup` recorded steps before t0 (z sampled from the encoder's N(mu, sigma), the recorded
 * actions and rewards: teacher forcing), and the dream goes on from z_{t0} and that state. The
 * controller then learns from the states the data reached (mid-track, in a bend, off the road)
 * rather than only from the standing start, and M's h starts as it would on the road.
 *
 * With `dropout` > 0 M's head sees h times a dropout mask drawn once per episode (Dropout's
 * Dream Land: a dream is one of many models, fixed for the episode); the controller sees h.
 *
 * Why `bernoulli`: new tiles are rare in random rollouts (about 4% of steps), so a calibrated
 * reward head seldom reaches probability 0.5 and the book's threshold can give every dream a
 * return of 0, leaving CMA-ES no signal; sampling keeps the expected number of new tiles.
 *
 * Without a done head every episode lasts `maxSteps` steps. All jobs of a call run in one batch, one
 * batched LSTM step (the MDN-RNN's SIMD kernels) per step; each job draws from its own
 * generator seeded by its seed, and the kernels compute every row alike whatever the batch, so
 * a job's outcome depends only on its candidate and seed (not on the batch or the worker).
 * {@linkcode DreamPool} splits the jobs across Workers.
 *
 * @module
 */

import { join } from "node:path";
import { createRng, mixSeed, Random, type Rng } from "../random/mod.ts";
import { readNpy } from "../data/npy/mod.ts";
import { SERIES_FILES, SeriesReader } from "../data/series.ts";
import { initBackend } from "../models/backend/mod.ts";
import {
  dropoutMask,
  MdnRnn,
  type MdnRnnState,
  type MixtureParams,
  sampleMixture,
} from "../models/mdn_rnn.ts";
import { ACTIONS, controllerActions, type ControllerInputs } from "../models/controller.ts";
import type { EpisodeJob, EpisodeOutcome } from "./agent.ts";
import { type JobMethod, startJobs } from "../pool/mod.ts";
import { type EpisodeBatch, EpisodePool } from "./episode_pool.ts";

/** Settings of a {@linkcode DreamEnv}, JSON-safe (sent to Workers as is). */
export interface DreamConfig {
  /** Directory of the MDN-RNN (`MdnRnn.save` layout); it must have the reward head. */
  rnn: string;
  /** The encode output (a series directory holding `initial_z.npy`). */
  series: string;
  /** What the controller sees. */
  inputs: ControllerInputs;
  /** Steps of every dream episode. */
  maxSteps: number;
  /** Sampling temperature tau (> 0). */
  temperature: number;
  /** How the reward logit becomes a reward; default `threshold` (the book's). */
  reward?: DreamReward;
  /** How M's done logit ends an episode (with the done head); default `threshold`. */
  done?: DreamDone;
  /**
   * Dropout rate on h before M's head, one mask per episode (Dropout's Dream Land); default 0
   * (none).
   */
  dropout?: number;
  /** Where dreams start: the first frame of a real episode (default) or inside one. */
  start?: DreamStartKind;
  /** With `start: "real"`: recorded steps the LSTM is warmed up on before the dream (>= 1). */
  warmup?: number;
}

/** The allowed {@linkcode DreamStartKind} values. */
export const DREAM_STARTS = ["first", "real"] as const;

/** `first`: the first frame of a real episode; `real`: inside one, after a real warm-up. */
export type DreamStartKind = typeof DREAM_STARTS[number];

/** The allowed {@linkcode DreamDone} values. */
export const DREAM_DONES = ["threshold", "sampled"] as const;

/** `threshold`: done when sigmoid(logit) >= 0.5; `sampled`: with probability sigmoid(logit). */
export type DreamDone = typeof DREAM_DONES[number];

/** The allowed {@linkcode DreamReward} values. */
export const DREAM_REWARDS = ["threshold", "bernoulli"] as const;

/** `threshold`: 1 when the reward logit > 0; `bernoulli`: 1 with probability sigmoid(logit). */
export type DreamReward = typeof DREAM_REWARDS[number];

/** One dream episode: a candidate and a seed, optionally a fixed start. */
export interface DreamJob extends EpisodeJob {
  /** Row of `initial_z.npy` to start from; default {@linkcode dreamStart} of the seed. */
  start?: number;
}

/** The result of one dream episode. */
export interface DreamOutcome extends EpisodeOutcome {
  /** Row of `initial_z.npy` (the real episode) it started from. */
  start: number;
  /** Step of that episode it started at (0 with `start: "first"`). */
  offset: number;
}

/** What {@linkcode DreamRunOptions.onStep} sees, after the action is chosen. */
export interface DreamStepView {
  /** Index of the job in the job list. */
  job: number;
  /** Step within the episode (0 = the initial z). */
  t: number;
  /** z_t (a copy). */
  z: Float32Array;
  /** a_t (a copy). */
  action: Float32Array;
  /** r_t, the reward input that came with z_t. */
  reward: number;
}

/** Options of {@linkcode DreamEnv.run}. */
export interface DreamRunOptions {
  /** Called at every step of every job. */
  onStep?: (view: DreamStepView) => void;
  /** Stops the run (throws the reason) between steps. */
  signal?: AbortSignal;
}

/** The row of `initial_z.npy` that dream episode `seed` starts from. */
export function dreamStart(seed: number, episodes: number): number {
  return new Random(mixSeed(seed, "dream", "start")).nextInt(episodes);
}

/** Reads `initial_z.npy` of a series directory: [episodes, 2 (mu, logvar), Z] as float32. */
export async function readInitialZ(
  series: string,
): Promise<{ data: Float32Array; episodes: number; zSize: number }> {
  const path = join(series, SERIES_FILES.initialZ);
  const array = await readNpy(path);
  const [episodes, two, zSize] = array.shape;
  if (array.shape.length !== 3 || two !== 2 || episodes < 1 || array.dtype !== "f4") {
    throw new TypeError(
      `Cannot read ${path}: expected float32 [episodes, 2, Z], got ${array.dtype} [${array.shape}]`,
    );
  }
  return { data: array.data as Float32Array, episodes, zSize };
}

/** Reads whether an MDN-RNN directory has the reward head, without loading tfjs. */
export async function readRnnRewardHead(dir: string): Promise<boolean> {
  const json = JSON.parse(await Deno.readTextFile(join(dir, "model.json")));
  return json?.userDefinedMetadata?.mdnRnn?.rewardHead === true;
}

/** Many dream episodes at once, on one thread. */
export class DreamEnv {
  /** The settings. */
  readonly config: DreamConfig;
  /** The MDN-RNN (with the reward head). */
  readonly rnn: MdnRnn;
  /** Initial [mu, logvar] rows, [episodes, 2, Z]. */
  readonly initialZ: Float32Array;
  /** Rows of {@linkcode initialZ}. */
  readonly episodes: number;
  /** The series (with `start: "real"`), for the warm-up windows. */
  private readonly series: SeriesReader | undefined;

  private constructor(
    config: DreamConfig,
    rnn: MdnRnn,
    initialZ: Float32Array,
    series?: SeriesReader,
  ) {
    this.config = config;
    this.rnn = rnn;
    this.initialZ = initialZ;
    this.episodes = initialZ.length / (2 * rnn.config.zSize);
    this.series = series;
  }

  /** Closes the series reader (with `start: "real"`). */
  close(): void {
    this.series?.close();
  }

  /** Loads the MDN-RNN and the initial latents, and checks they fit together. */
  static async create(config: DreamConfig): Promise<DreamEnv> {
    if (config.inputs !== "z" && config.inputs !== "zh") {
      throw new TypeError(`Cannot create the dream: unknown inputs '${config.inputs}'`);
    }
    if (!Number.isSafeInteger(config.maxSteps) || config.maxSteps < 1) {
      throw new RangeError(`Cannot create the dream: maxSteps ${config.maxSteps} is not >= 1`);
    }
    if (config.reward !== undefined && !DREAM_REWARDS.includes(config.reward)) {
      throw new TypeError(`Cannot create the dream: unknown reward '${config.reward}'`);
    }
    if (config.done !== undefined && !DREAM_DONES.includes(config.done)) {
      throw new TypeError(`Cannot create the dream: unknown done '${config.done}'`);
    }
    if (config.dropout !== undefined && !(config.dropout >= 0 && config.dropout < 1)) {
      throw new RangeError(`Cannot create the dream: dropout ${config.dropout} is not in [0, 1)`);
    }
    if (config.start !== undefined && !DREAM_STARTS.includes(config.start)) {
      throw new TypeError(`Cannot create the dream: unknown start '${config.start}'`);
    }
    if (
      config.start === "real" &&
      !(Number.isSafeInteger(config.warmup) && (config.warmup ?? 0) >= 1)
    ) {
      throw new RangeError(
        `Cannot create the dream: start 'real' needs warmup >= 1 steps, got ${config.warmup}`,
      );
    }
    if (!(config.temperature > 0)) {
      throw new RangeError(`Cannot create the dream: temperature ${config.temperature} <= 0`);
    }
    if (!await readRnnRewardHead(config.rnn)) {
      throw new TypeError(
        `Cannot create the dream: the MDN-RNN in ${config.rnn} has no reward head ` +
          "(train it with reward_head: true)",
      );
    }
    // Loading decodes the weights through tfjs; the dream itself runs on the RNN's own kernels.
    await initBackend({ backend: "wasm" });
    const initial = await readInitialZ(config.series);
    const rnn = await MdnRnn.load(config.rnn, { zSize: initial.zSize, actionSize: ACTIONS });
    if (config.start !== "real") return new DreamEnv(config, rnn, initial.data);
    const series = await SeriesReader.open(config.series);
    if (!series.episodes.some((e) => e.length > config.warmup!)) {
      series.close();
      throw new RangeError(
        `Cannot create the dream: no episode of ${config.series} is longer than the warm-up ` +
          `(${config.warmup} steps)`,
      );
    }
    return new DreamEnv(config, rnn, initial.data, series);
  }

  /** The episodes' dropout masks (see {@linkcode dreamDropoutMasks}). */
  private dropoutMasks(jobs: readonly DreamJob[]): Float32Array | undefined {
    return dreamDropoutMasks(jobs, this.rnn.config.hidden, this.config.dropout ?? 0);
  }

  /** Parameters of one controller. */
  get parameterCount(): number {
    const { zSize, hidden } = this.rnn.config;
    return ACTIONS * (1 + zSize + (this.config.inputs === "zh" ? hidden : 0));
  }

  /** Runs every job for `maxSteps` dream steps; outcomes in job order. */
  async run(
    candidates: readonly ArrayLike<number>[],
    jobs: readonly DreamJob[],
    options: DreamRunOptions = {},
  ): Promise<DreamOutcome[]> {
    const count = this.parameterCount;
    for (const c of candidates) {
      if (c.length !== count) {
        throw new RangeError(
          `Cannot dream: a candidate has ${c.length} parameters, expected ${count}`,
        );
      }
    }
    for (const job of jobs) {
      if (!(job.candidate >= 0 && job.candidate < candidates.length)) {
        throw new RangeError(`Cannot dream: no candidate ${job.candidate}`);
      }
      if (job.start !== undefined && !(job.start >= 0 && job.start < this.episodes)) {
        throw new RangeError(
          `Cannot dream: start ${job.start} is not a row of initial_z (${this.episodes} episodes)`,
        );
      }
    }
    const n = jobs.length;
    if (n === 0) return [];
    const { zSize: Z, hidden: H, mixtures: K } = this.rnn.config;
    const tau = this.config.temperature;
    const layout = { inputs: this.config.inputs, zSize: Z, hidden: H };
    // Parameters as float32, as in the real driver, so a candidate acts the same in both.
    const params = new Float32Array(n * count);
    jobs.forEach((job, i) => params.set(Float32Array.from(candidates[job.candidate]), i * count));
    const rngs: Rng[] = jobs.map((job) => createRng(mixSeed(job.seed, "dream", "z")));
    const reward = new Float32Array(n);
    let starts: number[], offsets: number[], z: Float32Array, state: MdnRnnState;
    if (this.series) {
      ({ starts, offsets, z, state } = this.warmUp(jobs, rngs, reward));
    } else {
      starts = jobs.map((job) => job.start ?? dreamStart(job.seed, this.episodes));
      offsets = starts.map(() => 0);
      z = new Float32Array(n * Z);
      for (let i = 0; i < n; i++) {
        const row = starts[i] * 2 * Z;
        for (let d = 0; d < Z; d++) {
          const mu = this.initialZ[row + d], logvar = this.initialZ[row + Z + d];
          z[i * Z + d] = mu + Math.exp(0.5 * logvar) * rngs[i].normal();
        }
      }
      state = this.rnn.initialState(n);
    }
    const returns = new Float64Array(n);
    // Steps of each job once it ended (done head); 0 while it runs.
    const lengths = new Int32Array(n);
    let running = n;
    const bernoulli = this.config.reward === "bernoulli";
    const sampledDone = this.config.done === "sampled";
    const { rewardRegression, doneHead } = this.rnn.config;
    const dropMask = this.dropoutMasks(jobs);
    for (let t = 0; t < this.config.maxSteps && running > 0; t++) {
      if (options.signal && t % 16 === 0) await new Promise((r) => setTimeout(r, 0));
      options.signal?.throwIfAborted();
      const h = this.config.inputs === "zh" ? state.h : undefined;
      const action = controllerActions(params, { z, h, rows: n }, layout);
      if (options.onStep) {
        for (let i = 0; i < n; i++) {
          if (lengths[i] > 0) continue;
          options.onStep({
            job: i,
            t,
            z: z.slice(i * Z, (i + 1) * Z),
            action: action.slice(i * ACTIONS, (i + 1) * ACTIONS),
            reward: reward[i],
          });
        }
      }
      const out = this.rnn.stepState(state, { z, action, reward }, { dropMask });
      state = out.state;
      const mix = out.mixture!;
      const next = new Float32Array(n * Z);
      const span = Z * K;
      for (let i = 0; i < n; i++) {
        if (lengths[i] > 0) continue; // ended: its row steps on, unread
        if (rewardRegression) {
          reward[i] = mix.rewardValue![i];
          returns[i] += this.rnn.decodeReward(reward[i]);
        } else {
          const logit = mix.rewardLogit![i];
          reward[i] = bernoulli
            ? (rngs[i].nextFloat() * (1 + Math.exp(-logit)) < 1 ? 1 : 0)
            : (logit > 0 ? 1 : 0);
          returns[i] += reward[i];
        }
        if (doneHead) {
          const logit = mix.doneLogit![i];
          const fired = sampledDone ? rngs[i].nextFloat() * (1 + Math.exp(-logit)) < 1 : logit >= 0;
          if (fired) {
            lengths[i] = t + 1;
            running--;
            continue;
          }
        }
        const row: MixtureParams = {
          logPi: mix.logPi.subarray(i * span, (i + 1) * span),
          mu: mix.mu.subarray(i * span, (i + 1) * span),
          logSigma: mix.logSigma.subarray(i * span, (i + 1) * span),
          batch: 1,
          mixtures: K,
        };
        next.set(sampleMixture(row, { tau, rng: rngs[i] }), i * Z);
      }
      z = next;
    }
    return jobs.map((_, i) => ({
      return: returns[i],
      length: lengths[i] > 0 ? lengths[i] : this.config.maxSteps,
      terminated: lengths[i] > 0,
      start: starts[i],
      offset: offsets[i],
    }));
  }

  /**
   * The real warm-up of `start: "real"`: per job an episode and a step t0 (from
   * `mixSeed(seed, "dream", "start")`), the LSTM stepped over the `warmup` recorded steps
   * before t0, z_{t0} sampled, and `reward` set to the reward input that came with frame t0.
   */
  private warmUp(
    jobs: readonly DreamJob[],
    rngs: readonly Rng[],
    reward: Float32Array,
  ): { starts: number[]; offsets: number[]; z: Float32Array; state: MdnRnnState } {
    const series = this.series!;
    const W = this.config.warmup!;
    const { zSize: Z } = this.rnn.config;
    const n = jobs.length;
    const eligible = series.episodes.filter((e) => e.length > W).map((e) => e.index);
    const starts: number[] = [], offsets: number[] = [];
    const windows = jobs.map((job) => {
      const pick = new Random(mixSeed(job.seed, "dream", "start"));
      const episode = job.start ?? eligible[pick.nextInt(eligible.length)];
      const length = series.episodes[episode].length;
      if (length <= W) {
        throw new RangeError(
          `Cannot dream: episode ${episode} has ${length} steps, not more than the warm-up ${W}`,
        );
      }
      const t0 = W + pick.nextInt(length - W);
      starts.push(episode);
      offsets.push(t0);
      // The reward input that came with the window's first frame: the step before it's reward
      // (0 when the window starts at the episode's first frame).
      const before = t0 > W ? series.readEpisode(episode, t0 - W - 1, 1) : undefined;
      const first = before ? this.rnn.encodeReward(before.rewards[0], before.dones[0] !== 0) : 0;
      return { ...series.readEpisode(episode, t0 - W, W + 1), first };
    });
    const sample = (t: number, out: Float32Array) => {
      windows.forEach((w, i) => {
        for (let d = 0; d < Z; d++) {
          const k = t * Z + d;
          out[i * Z + d] = w.mu[k] + Math.exp(0.5 * w.logvar[k]) * rngs[i].normal();
        }
      });
    };
    let state = this.rnn.initialState(n);
    const z = new Float32Array(n * Z);
    const action = new Float32Array(n * ACTIONS);
    const input = new Float32Array(n);
    for (let t = 0; t < W; t++) {
      sample(t, z);
      windows.forEach((w, i) => {
        action.set(w.actions.subarray(t * ACTIONS, (t + 1) * ACTIONS), i * ACTIONS);
        input[i] = t === 0
          ? w.first
          : this.rnn.encodeReward(w.rewards[t - 1], w.dones[t - 1] !== 0);
      });
      state = this.rnn.stepState(state, { z, action, reward: input }, { mixture: false }).state;
    }
    sample(W, z);
    windows.forEach((w, i) => {
      reward[i] = this.rnn.encodeReward(w.rewards[W - 1], w.dones[W - 1] !== 0);
    });
    return { starts, offsets, z, state };
  }
}

/**
 * The dropout masks of the jobs [jobs, hidden], one per episode, fixed for all its steps, from
 * `mixSeed(seed, "dream", "dropout")`; undefined without dream dropout.
 */
export function dreamDropoutMasks(
  jobs: readonly DreamJob[],
  hidden: number,
  rate: number,
): Float32Array | undefined {
  if (!(rate > 0)) return undefined;
  const masks = new Float32Array(jobs.length * hidden);
  jobs.forEach((job, i) => {
    const rng = createRng(mixSeed(job.seed, "dream", "dropout"));
    masks.set(dropoutMask(rng, hidden, rate), i * hidden);
  });
  return masks;
}

/** The methods of a dream Worker (see dream_worker.ts). */
export type DreamWorkerMethods = {
  init: { payload: DreamConfig; result: void };
  run: JobMethod<DreamJob, DreamOutcome, EpisodeBatch, void>;
};

/**
 * Dream episodes across Workers (job i to worker i mod W), each with its own
 * {@linkcode DreamEnv}; with one worker, in the calling thread. Outcomes come back in job order
 * and do not depend on the worker count. `noProgressSteps` does not apply to dreams, and
 * `onEpisode` is not called (every dream episode lasts `maxSteps`).
 */
export class DreamPool extends EpisodePool<DreamJob, DreamOutcome> {
  /** Starts the dreams (loads the models in every Worker). */
  static async create(
    config: DreamConfig,
    options: { workers: number; signal?: AbortSignal },
  ): Promise<DreamPool> {
    const jobs = await startJobs<DreamJob, DreamOutcome, EpisodeBatch, void>({
      workers: options.workers,
      local: async () => {
        const dream = await DreamEnv.create(config);
        return {
          run: (jobs, { shared, signal }) => dream.run(shared.candidates, jobs, { signal }),
          close: () => dream.close(),
        };
      },
      url: new URL("./dream_worker.ts", import.meta.url),
      init: config,
      method: "run",
      dealing: "round-robin",
      context: "Cannot dream",
    });
    return new DreamPool(jobs, options.signal);
  }
}
