/**
 * The batched World Models agent in the real CarRacing: one {@linkcode ControllerDriver} steps
 * up to `slots` environments at once, encodes all their frames with ONE call of the VAE
 * encoder per step, advances the MDN-RNN for all of them with one batched step, and applies
 * each environment's own controller parameters. Episodes ("jobs") are handed to free slots in
 * order until all have run, so a Worker keeps its batch full while episodes end at different
 * times.
 *
 * Per step t of an episode: z_t = mu + sigma * eps (eps from the episode's own generator, as in
 * the original, which samples z), the controller sees [z_t] or [z_t, h_t], where h_t is the
 * LSTM output after (z_{t-1}, a_{t-1}); after acting, the RNN is stepped with (z_t, a_t) (and,
 * for an RNN with a reward head, the binarised reward that arrived with frame t).
 *
 * @module
 */

import { CarRacing } from "../envs/car_racing/mod.ts";
import { mixSeed, Random } from "../random/mod.ts";
import { type BackendInfo, type BackendName, initBackend } from "../models/backend/mod.ts";
import { ConvVAE } from "../models/vae.ts";
import { encodeFrames } from "../models/vae_encode.ts";
import { MdnRnn, type MdnRnnState } from "../models/mdn_rnn.ts";
import { ACTION_HIGH, ACTION_LOW } from "./policies.ts";
import {
  ACTIONS as ACTION_SIZE,
  Controller,
  controllerActions,
  type ControllerInputs,
} from "../models/controller.ts";

export type { ControllerInputs } from "../models/controller.ts";

/** The allowed {@linkcode ControllerInputs}. */
export const CONTROLLER_INPUTS: readonly ControllerInputs[] = ["z", "zh"];

/** Settings of a {@linkcode ControllerDriver}, JSON-safe (sent to Workers as is). */
export interface DriverConfig {
  /** Directory of the ConvVAE (`ConvVAE.save` layout). */
  vae: string;
  /** Directory of the MDN-RNN; required with inputs `zh`. */
  rnn?: string;
  /** What the controller sees. */
  inputs: ControllerInputs;
  /** Step limit of an episode. */
  maxSteps: number;
  /** Environments stepped at once. */
  slots: number;
  /** tfjs backend; default wasm. */
  backend?: BackendName;
}

/** One episode to run: which candidate drives, on which track. */
export interface EpisodeJob {
  /** Index into the candidate list given to {@linkcode ControllerDriver.run}. */
  candidate: number;
  /** Track seed (the env is reset with it; z noise derives from it too). */
  seed: number;
}

/** The result of one episode. */
export interface EpisodeOutcome {
  /** Sum of rewards. */
  return: number;
  /** Steps taken. */
  length: number;
  /** Whether the environment ended it (all tiles, or off the playfield) before maxSteps. */
  terminated: boolean;
}

/** What {@linkcode DriverRunOptions.onStep} sees, before the action is applied. */
export interface StepView {
  /** Index of the job in the job list. */
  job: number;
  /** Step within the episode (0 = the reset frame). */
  t: number;
  /** The 64x64x3 observation the agent encoded. */
  observation: Uint8Array;
  /** Latent mean of the observation. */
  mu: Float32Array;
  /** The action about to be taken. */
  action: Float32Array;
  /** The environment (for `render`). */
  env: CarRacing;
}

/** What {@linkcode DriverRunOptions.onTransition} sees, after the environment stepped. */
export interface TransitionView {
  /** Index of the job in the job list. */
  job: number;
  /** Index of the action in the episode (0 = the action chosen at the reset frame). */
  t: number;
  /** The 64x64x3 observation the action was chosen at. */
  observation: Uint8Array;
  /** The action taken (after `actionNoise`). */
  action: Float32Array;
  /** The reward of the step. */
  reward: number;
  /** Whether the environment ended the episode at this step. */
  terminated: boolean;
  /** Whether the episode ends here without termination (step limit, or no progress). */
  truncated: boolean;
}

/** Options of {@linkcode ControllerDriver.run}. */
export interface DriverRunOptions {
  /** Called at every step of every episode, before the environment steps. */
  onStep?: (view: StepView) => void;
  /** Stops the run (throws the reason) between steps. */
  signal?: AbortSignal;
  /**
   * End an episode early (as truncated) after this many consecutive steps without a new tile
   * (no positive reward); 0 or absent: never. Saves the steps of a car stuck on the grass.
   */
  noProgressSteps?: number;
  /** Called when an episode ends, with the number of episodes ended so far (for progress). */
  onEpisode?: (ended: number) => void;
  /** Called after every step of every episode (data collection). */
  onTransition?: (view: TransitionView) => void;
  /**
   * Standard deviation of Gaussian noise added to each action dimension before clipping to the
   * action space (exploration when collecting data); 0 or absent: none. Drawn from each
   * episode's own stream `mixSeed(seed, "action_noise")`, so results stay batch-independent.
   */
  actionNoise?: number;
}

const FRAME_BYTES = 64 * 64 * 3;

/** Reads the latent size stored in a ConvVAE directory without loading tfjs. */
export async function readVaeZSize(dir: string): Promise<number> {
  const json = JSON.parse(await Deno.readTextFile(`${dir}/encoder/model.json`));
  const zSize = json?.userDefinedMetadata?.ditto?.zSize;
  if (!Number.isSafeInteger(zSize) || zSize < 1) {
    throw new TypeError(`Cannot read the VAE in ${dir}: encoder/model.json has no ditto.zSize`);
  }
  return zSize;
}

/** Reads the LSTM size stored in an MDN-RNN directory without loading tfjs. */
export async function readRnnHidden(dir: string): Promise<number> {
  const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
  const hidden = json?.userDefinedMetadata?.mdnRnn?.hidden;
  if (!Number.isSafeInteger(hidden) || hidden < 1) {
    throw new TypeError(`Cannot read the MDN-RNN in ${dir}: model.json has no mdnRnn.hidden`);
  }
  return hidden;
}

/** Drives many CarRacing environments at once with the VAE, the MDN-RNN and controllers. */
export class ControllerDriver {
  /** The settings. */
  readonly config: DriverConfig;
  /** The VAE (its encoder runs every step; the decoder is there for reconstructions). */
  readonly vae: ConvVAE;
  /** The MDN-RNN, with inputs `zh`. */
  readonly rnn: MdnRnn | undefined;
  /** Controller input size (z, or z and h). */
  readonly inputSize: number;
  /** The controller's layout (src/models/controller.ts); its parameters are not used. */
  readonly controller: Controller;
  /** The backend in use. */
  readonly backend: BackendInfo;
  #envs: CarRacing[] = [];

  private constructor(
    config: DriverConfig,
    vae: ConvVAE,
    rnn: MdnRnn | undefined,
    backend: BackendInfo,
  ) {
    this.config = config;
    this.vae = vae;
    this.rnn = rnn;
    this.backend = backend;
    this.controller = new Controller({
      inputs: config.inputs,
      zSize: vae.zSize,
      hidden: rnn?.config.hidden,
    });
    this.inputSize = vae.zSize + (rnn?.config.hidden ?? 0);
  }

  /** Initialises the backend, loads the models and checks they fit together. */
  static async create(config: DriverConfig): Promise<ControllerDriver> {
    if (config.inputs !== "z" && config.inputs !== "zh") {
      throw new TypeError(`Cannot create driver: unknown inputs '${config.inputs}'`);
    }
    if (!Number.isSafeInteger(config.slots) || config.slots < 1) {
      throw new RangeError(`Cannot create driver: slots ${config.slots} is not a positive integer`);
    }
    if (config.inputs === "zh" && config.rnn === undefined) {
      throw new TypeError("Cannot create driver: inputs 'zh' need an MDN-RNN");
    }
    const backend = await initBackend({ backend: config.backend ?? "wasm" });
    const vae = await ConvVAE.load(config.vae);
    const rnn = config.inputs === "zh"
      ? await MdnRnn.load(config.rnn!, { zSize: vae.zSize, actionSize: ACTION_SIZE })
      : undefined;
    return new ControllerDriver(config, vae, rnn, backend);
  }

  /** Parameters of one controller. */
  get parameterCount(): number {
    return this.controller.parameterCount;
  }

  /**
   * Runs every job (episode) and returns their outcomes in job order. A job's outcome depends
   * only on its candidate's parameters and its seed.
   */
  async run(
    candidates: readonly ArrayLike<number>[],
    jobs: readonly EpisodeJob[],
    options: DriverRunOptions = {},
  ): Promise<EpisodeOutcome[]> {
    for (const c of candidates) {
      if (c.length !== this.parameterCount) {
        throw new RangeError(
          `Cannot run controllers: a candidate has ${c.length} parameters, expected ${this.parameterCount}`,
        );
      }
    }
    for (const job of jobs) {
      if (!(job.candidate >= 0 && job.candidate < candidates.length)) {
        throw new RangeError(`Cannot run controllers: no candidate ${job.candidate}`);
      }
    }
    // Parameters as float32 everywhere (in this thread as in Workers), so outcomes match.
    const packed = candidates.map((c) => c instanceof Float32Array ? c : Float32Array.from(c));
    const count = this.parameterCount;
    const layout = {
      inputs: this.config.inputs,
      zSize: this.vae.zSize,
      hidden: this.rnn?.config.hidden,
    };
    const slots = Math.min(this.config.slots, jobs.length);
    while (this.#envs.length < slots) {
      this.#envs.push(
        await CarRacing.create({ observation: "pixels64", maxSteps: this.config.maxSteps }),
      );
    }
    const outcomes: EpisodeOutcome[] = new Array(jobs.length);
    const Z = this.vae.zSize;
    const rnn = this.rnn;
    const H = rnn?.config.hidden ?? 0;
    const rewardHead = rnn?.config.rewardHead ?? false;
    // Per-slot episode state.
    const slotJob = new Int32Array(slots).fill(-1);
    const slotObs: Uint8Array[] = new Array(slots);
    const slotRng: Random[] = new Array(slots);
    const slotReturn = new Float64Array(slots);
    const slotSteps = new Int32Array(slots);
    const slotReward = new Float32Array(slots);
    const slotIdle = new Int32Array(slots);
    const patience = options.noProgressSteps ?? 0;
    const noise = options.actionNoise ?? 0;
    const slotNoise: Random[] = new Array(slots);
    let state: MdnRnnState | undefined = rnn?.initialState(slots);
    const zAll = new Float32Array(slots * Z);
    const aAll = new Float32Array(slots * ACTION_SIZE);
    const rAll = new Float32Array(slots);
    let next = 0;
    let active = 0;
    const start = (s: number) => {
      const j = next++;
      slotJob[s] = j;
      slotObs[s] = this.#envs[s].reset({ seed: jobs[j].seed }).observation;
      slotRng[s] = new Random(mixSeed(jobs[j].seed, "z"));
      if (noise > 0) slotNoise[s] = new Random(mixSeed(jobs[j].seed, "action_noise"));
      slotReturn[s] = 0;
      slotSteps[s] = 0;
      slotReward[s] = 0;
      slotIdle[s] = 0;
      if (state) {
        state.h.fill(0, s * H, (s + 1) * H);
        state.c.fill(0, s * H, (s + 1) * H);
      }
      active++;
    };
    for (let s = 0; s < slots && next < jobs.length; s++) start(s);
    const order = new Int32Array(slots);
    let tick = 0;
    while (active > 0) {
      // Let an abort (delivered by the event loop) through now and then.
      if (options.signal && tick++ % 16 === 0) await new Promise((r) => setTimeout(r, 0));
      options.signal?.throwIfAborted();
      // One encoder call for every active environment.
      let n = 0;
      for (let s = 0; s < slots; s++) if (slotJob[s] >= 0) order[n++] = s;
      const frames = new Uint8Array(n * FRAME_BYTES);
      for (let i = 0; i < n; i++) frames.set(slotObs[order[i]], i * FRAME_BYTES);
      const { mu, logvar } = encodeFrames(this.vae, frames, n);
      zAll.fill(0);
      aAll.fill(0);
      rAll.fill(0);
      const params = new Float32Array(n * count);
      const z = new Float32Array(n * Z);
      const h = state ? new Float32Array(n * H) : undefined;
      for (let i = 0; i < n; i++) {
        const s = order[i];
        const rng = slotRng[s];
        for (let d = 0; d < Z; d++) {
          const k = i * Z + d;
          z[k] = mu[k] + Math.exp(0.5 * logvar[k]) * rng.normal();
        }
        params.set(packed[jobs[slotJob[s]].candidate], i * count);
        if (state) h!.set(state.h.subarray(s * H, (s + 1) * H), i * H);
      }
      const actions = controllerActions(params, { z, h, rows: n }, layout);
      for (let i = 0; i < n; i++) {
        const s = order[i];
        zAll.set(z.subarray(i * Z, (i + 1) * Z), s * Z);
        aAll.set(actions.subarray(i * ACTION_SIZE, (i + 1) * ACTION_SIZE), s * ACTION_SIZE);
        if (noise > 0) {
          for (let d = 0; d < ACTION_SIZE; d++) {
            const k = s * ACTION_SIZE + d;
            const a = aAll[k] + noise * slotNoise[s].normal();
            aAll[k] = Math.min(ACTION_HIGH[d], Math.max(ACTION_LOW[d], a));
          }
        }
        rAll[s] = rnn ? rnn.encodeReward(slotReward[s]) : 0;
        options.onStep?.({
          job: slotJob[s],
          t: slotSteps[s],
          observation: slotObs[s],
          mu: mu.slice(i * Z, (i + 1) * Z),
          action: aAll.subarray(s * ACTION_SIZE, (s + 1) * ACTION_SIZE),
          env: this.#envs[s],
        });
      }
      if (rnn && state) {
        state = rnn.stepState(state, {
          z: zAll,
          action: aAll,
          reward: rewardHead ? rAll : undefined,
        }, { mixture: false }).state;
      }
      for (let i = 0; i < n; i++) {
        const s = order[i];
        const action = aAll.subarray(s * ACTION_SIZE, (s + 1) * ACTION_SIZE);
        const result = this.#envs[s].step(action);
        const seen = slotObs[s];
        slotReturn[s] += result.reward;
        slotSteps[s]++;
        slotReward[s] = result.reward;
        slotObs[s] = result.observation;
        slotIdle[s] = result.reward > 0 ? 0 : slotIdle[s] + 1;
        const stuck = patience > 0 && slotIdle[s] >= patience;
        options.onTransition?.({
          job: slotJob[s],
          t: slotSteps[s] - 1,
          observation: seen,
          action,
          reward: result.reward,
          terminated: result.terminated,
          truncated: !result.terminated && (result.truncated || stuck),
        });
        if (result.terminated || result.truncated || stuck) {
          outcomes[slotJob[s]] = {
            return: slotReturn[s],
            length: slotSteps[s],
            terminated: result.terminated,
          };
          slotJob[s] = -1;
          active--;
          options.onEpisode?.(next - active);
          if (next < jobs.length) start(s);
        }
      }
    }
    return outcomes;
  }

  /** Frees the environments and the models. */
  close(): void {
    for (const env of this.#envs) env.close();
    this.#envs = [];
    this.vae.dispose();
  }
}
