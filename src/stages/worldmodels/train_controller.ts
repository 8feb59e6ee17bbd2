/**
 * `worldmodels/train_controller`: CMA-ES over the linear controller's parameters, each
 * candidate scored by its mean return in the real CarRacing.
 *
 * ```yaml
 * train_controller:
 *   uses: worldmodels/train_controller
 *   inputs: { vae: "${stages.train_vae.outs.model}", rnn: "${stages.train_rnn.outs.model}" }
 *   with: { popsize: 16, episodes_per_candidate: 4, generations: 40, inputs: zh, workers: 2 }
 * ```
 *
 * Generation g (0-based) scores every candidate on the same `episodes_per_candidate` tracks,
 * seeded `mixSeed(experiment seed, "worldmodels/train_controller", "train", g, j)`; every
 * `eval_every` generations (and after the last) the distribution mean is scored on the fixed
 * tracks `mixSeed(seed, "worldmodels/train_controller", "eval", i)`, as the original evaluated
 * its mean (`xfavorite`) on the same tracks each time. None of these are collect or evaluate
 * tracks. Episodes run in `workers` Workers, each stepping `envs_per_worker` environments with
 * one batched VAE encoder call and one batched MDN-RNN step per step.
 *
 * The whole CMA-ES state (and the evaluation history) is checkpointed after every generation:
 * an interrupted run continues at the generation it reached and ends with the same result.
 *
 * Output `controller` (a directory): `controller.json` with the mean, the best candidate, the
 * best-evaluated mean and the settings; `worldmodels/evaluate` reads it.
 *
 * `mode` is `real` (training in the real environment) or `dream`: every candidate is scored in
 * the MDN-RNN's dream (./dream_env.ts) at `temperature`, starting from the initial z of the
 * `series` input (the encode output); the RNN (input `rnn`) must have the reward head. The
 * dream's return counts predicted new tiles, so fitness is on another scale than real returns;
 * the evaluations of the mean still run in the real environment, showing the transfer.
 *
 * @module
 */

import { CmaEs, type CmaEsState, type CovarianceModel } from "../../es/mod.ts";
import { mixSeed } from "../../random/mod.ts";
import { type BackendName, SYNC_BACKEND_NAMES } from "../../models/backend/mod.ts";
import { defineStage, type StageContext } from "../../runner/mod.ts";
import {
  CONTROLLER_INPUTS,
  type ControllerInputs,
  type EpisodeJob,
  readRnnHidden,
  readVaeZSize,
} from "../../worldmodels/agent.ts";
import { DriverPool } from "../../worldmodels/agent_pool.ts";
import {
  DREAM_DONES,
  DREAM_REWARDS,
  DREAM_STARTS,
  type DreamDone,
  DreamPool,
  type DreamReward,
  type DreamStartKind,
  readRnnRewardHead,
} from "../../worldmodels/dream_env.ts";
import {
  CONTROLLER_MODES,
  type ControllerFile,
  type ControllerMode,
  pickSolution,
  readControllerFile,
  type Solution,
  SOLUTIONS,
} from "../../worldmodels/controller_file.ts";
import {
  describeTraining,
  mergeLineage,
  trainingChain,
  writeLineage,
} from "../../worldmodels/lineage.ts";

export { CONTROLLER_MODES, type ControllerFile, type ControllerMode };

/** The stage's label, mixed into every seed it derives. */
export const TRAIN_CONTROLLER_LABEL = "worldmodels/train_controller";

/** Parameters of `worldmodels/train_controller` (the `with:` keys). */
export interface TrainControllerParams {
  /** Candidates per generation. */
  popsize: number;
  /** Episodes (tracks) each candidate is scored on. */
  episodes_per_candidate: number;
  /** Generations to run. */
  generations: number;
  /** Initial step size. */
  sigma0: number;
  /** Step limit of a training episode. */
  max_steps: number;
  /** End a training episode after this many steps without a new tile (0: never). */
  no_progress_steps: number;
  /** Generations between evaluations of the mean (0 = only after the last). */
  eval_every: number;
  /** Episodes of each evaluation of the mean. */
  eval_episodes: number;
  /** Worker threads. */
  workers: number;
  /** Environments each worker steps at once. */
  envs_per_worker: number;
  /** What the controller sees. */
  inputs: ControllerInputs;
  /** Where it is trained. */
  mode: ControllerMode;
  /** Sampling temperature of the dream (mode `dream`). */
  temperature: number;
  /** How the dream's reward logit becomes a reward (mode `dream`). */
  dream_reward: DreamReward;
  /** How the dream's done logit ends an episode (mode `dream`, M with the done head). */
  dream_done: DreamDone;
  /** Dropout rate on h before M's head in the dream, one mask per episode (mode `dream`). */
  dream_dropout: number;
  /** Where dreams start: first frames of real episodes, or inside them after a warm-up. */
  dream_start: DreamStartKind;
  /** With `dream_start: real`: recorded steps the LSTM is warmed up on. */
  dream_warmup: number;
  /** CMA-ES covariance model. */
  covariance: CovarianceModel;
  /** TensorFlow.js backend of the encoder in every worker. */
  backend: BackendName;
  /** Which solution of the `init` controller the search starts from. */
  init_solution: Solution;
}

interface Checkpoint {
  version: 1;
  dimension: number;
  es: CmaEsState;
  bestEval: ControllerFile["best_eval"];
  evaluations: ControllerFile["evaluations"];
}

function stats(values: readonly number[]): { mean: number; std: number; min: number; max: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance), min: Math.min(...values), max: Math.max(...values) };
}

/** The track seed of training episode `j` of generation `g` (0-based). */
export function trainEpisodeSeed(seed: number, generation: number, episode: number): number {
  return mixSeed(seed, TRAIN_CONTROLLER_LABEL, "train", generation, episode);
}

/** The track seed of episode `i` of every evaluation of the mean during training. */
export function trainEvalSeed(seed: number, episode: number): number {
  return mixSeed(seed, TRAIN_CONTROLLER_LABEL, "eval", episode);
}

/** The `init` controller: where the search starts, and the training chain it continues. */
interface Init {
  params: number[];
  training: ControllerMode[];
  record: NonNullable<ControllerFile["init"]>;
  description: string;
}

/** Reads the `init` input (undefined without one) and checks it fits this controller. */
async function readInit(
  path: string | undefined,
  p: TrainControllerParams,
  dimension: number,
): Promise<Init | undefined> {
  if (path === undefined) return undefined;
  const file = await readControllerFile(path);
  if (file.inputs !== p.inputs || file.mean.length !== dimension) {
    throw new TypeError(
      `Cannot train controller from init: it sees ${file.inputs} (${file.mean.length} ` +
        `parameters), this one ${p.inputs} (${dimension} parameters)`,
    );
  }
  const solution = pickSolution(file, p.init_solution);
  const chain = trainingChain(file) as ControllerMode[];
  const training = [...chain, p.mode];
  return {
    params: solution.params,
    training,
    record: { solution: solution.name, generation: solution.generation, training: chain },
    description: `${solution.name} of generation ${solution.generation} of a controller ` +
      `trained ${describeTraining({ mode: p.mode, training: chain })}`,
  };
}

/** Runs the training: the body of the stage, usable with any {@linkcode StageContext}. */
export async function trainController(ctx: StageContext<TrainControllerParams>): Promise<void> {
  const p = ctx.params;
  if (!(CONTROLLER_MODES as readonly string[]).includes(p.mode)) {
    throw new TypeError(
      `Cannot train controller: mode '${p.mode}' is not one of ${CONTROLLER_MODES}`,
    );
  }
  const vaeDir = ctx.inputs.vae;
  const rnnDir = ctx.inputs.rnn;
  if (p.inputs === "zh" && rnnDir === undefined) {
    throw new TypeError("Cannot train controller: inputs 'zh' need the `rnn` input (an MDN-RNN)");
  }
  if (p.mode === "dream") {
    if (rnnDir === undefined || !await readRnnRewardHead(rnnDir)) {
      throw new TypeError(
        "Cannot train controller in the dream: mode 'dream' needs the `rnn` input, an MDN-RNN " +
          "with the reward head (worldmodels/train_rnn with reward_head: true)",
      );
    }
    if (ctx.inputs.series === undefined) {
      throw new TypeError(
        "Cannot train controller in the dream: mode 'dream' needs the `series` input " +
          "(worldmodels/encode output, for the initial z of real episodes)",
      );
    }
  }
  const zSize = await readVaeZSize(vaeDir);
  const hidden = p.inputs === "zh" ? await readRnnHidden(rnnDir!) : 0;
  const inputSize = zSize + hidden;
  // 3 biases, then W [inputSize, 3] (src/models/controller.ts).
  const dimension = (inputSize + 1) * 3;

  const init = await readInit(ctx.inputs.init, p, dimension);
  const saved = await ctx.checkpoints.load<Checkpoint>("cma_es");
  let es: CmaEs;
  let bestEval: ControllerFile["best_eval"] = null;
  let evaluations: ControllerFile["evaluations"] = [];
  if (saved !== undefined && saved.version === 1 && saved.dimension === dimension) {
    es = CmaEs.fromState(saved.es);
    bestEval = saved.bestEval;
    evaluations = saved.evaluations;
    ctx.log(`resuming at generation ${es.generation} of ${p.generations}`);
  } else {
    if (init) ctx.log(`starting from the ${init.description}`);
    es = new CmaEs(init ? Float64Array.from(init.params) : new Float64Array(dimension), p.sigma0, {
      seed: mixSeed(ctx.seed, TRAIN_CONTROLLER_LABEL, "cma"),
      popsize: p.popsize,
      covariance: p.covariance,
      maximize: true,
    });
  }

  const pool = await DriverPool.create({
    vae: vaeDir,
    rnn: p.inputs === "zh" ? rnnDir : undefined,
    inputs: p.inputs,
    maxSteps: p.max_steps,
    slots: p.envs_per_worker,
    backend: p.backend,
  }, { workers: p.workers, signal: ctx.signal });
  // In the dream, candidates are scored by the MDN-RNN; the real pool only evaluates the mean.
  let dream: DreamPool | undefined;
  try {
    dream = p.mode === "dream"
      ? await DreamPool.create({
        rnn: rnnDir!,
        series: ctx.inputs.series,
        inputs: p.inputs,
        maxSteps: p.max_steps,
        temperature: p.temperature,
        reward: p.dream_reward,
        done: p.dream_done,
        ...(p.dream_dropout > 0 ? { dropout: p.dream_dropout } : {}),
        ...(p.dream_start === "real" ? { start: "real", warmup: p.dream_warmup } : {}),
      }, { workers: p.workers, signal: ctx.signal })
      : undefined;
  } catch (error) {
    pool.close();
    throw error;
  }
  ctx.report({
    mode: p.mode,
    ...(init ? { training: describeTraining({ mode: p.mode, training: init.training }) } : {}),
    ...(init ? { init: init.description } : {}),
    ...(dream
      ? {
        temperature: p.temperature,
        dream_reward: p.dream_reward,
        dream_done: p.dream_done,
        dream_dropout: p.dream_dropout,
        dream_start: p.dream_start,
        ...(p.dream_start === "real" ? { dream_warmup: p.dream_warmup } : {}),
      }
      : {}),
    inputs: p.inputs,
    parameters: dimension,
    covariance: p.covariance,
    workers: pool.size,
    envs_per_worker: p.envs_per_worker,
  });
  ctx.log(
    `${dimension} parameters (inputs ${p.inputs}), popsize ${p.popsize} x ${p.episodes_per_candidate} episodes, ${pool.size} worker(s)`,
  );

  const evalJobs: EpisodeJob[] = Array.from(
    { length: p.eval_episodes },
    (_, i) => ({ candidate: 0, seed: trainEvalSeed(ctx.seed, i) }),
  );
  try {
    ctx.progress.total(p.generations, "generations");
    if (es.generation > 0) ctx.progress.advance(Math.min(es.generation, p.generations));
    while (es.generation < p.generations) {
      // A macrotask turn, so an abort (the runner stopping or gone) is seen between generations.
      await new Promise((r) => setTimeout(r, 0));
      ctx.signal.throwIfAborted();
      const g = es.generation;
      const started = performance.now();
      const candidates = es.ask();
      const jobs: EpisodeJob[] = [];
      for (let c = 0; c < candidates.length; c++) {
        for (let j = 0; j < p.episodes_per_candidate; j++) {
          jobs.push({ candidate: c, seed: trainEpisodeSeed(ctx.seed, g, j) });
        }
      }
      const outcomes = dream
        ? await dream.run(candidates, jobs)
        : await pool.run(candidates, jobs, {
          noProgressSteps: p.no_progress_steps,
        });
      const fitness = candidates.map((_, c) => {
        let sum = 0;
        for (let j = 0; j < p.episodes_per_candidate; j++) {
          sum += outcomes[c * p.episodes_per_candidate + j].return;
        }
        return sum / p.episodes_per_candidate;
      });
      es.tell(candidates, fitness);
      const steps = outcomes.reduce((a, o) => a + o.length, 0);
      const seconds = (performance.now() - started) / 1000;
      const f = stats(fitness);
      const values: Record<string, number> = {
        fitness_mean: f.mean,
        fitness_max: f.max,
        fitness_min: f.min,
        fitness_std: f.std,
        sigma: es.sigma,
        sigma_rms: Math.sqrt(es.stds.reduce((a, s) => a + s * s, 0) / dimension),
        mean_episode_steps: steps / outcomes.length,
        env_steps_per_s: steps / seconds,
      };
      const generation = g + 1;
      const evalNow = p.eval_episodes > 0 &&
        ((p.eval_every > 0 && generation % p.eval_every === 0) || generation === p.generations);
      let message = `fitness mean ${f.mean.toFixed(1)} max ${f.max.toFixed(1)}`;
      if (evalNow) {
        const mean = es.mean;
        const returns = (await pool.run([mean], evalJobs)).map((o) => o.return);
        const e = stats(returns);
        values.eval_mean_return = e.mean;
        values.eval_std_return = e.std;
        const evaluation: ControllerFile["evaluations"][number] = {
          generation,
          mean_return: e.mean,
          std_return: e.std,
        };
        if (dream) {
          // The same controller in the dream (starts picked by the same seeds): the transfer.
          const dreamed = stats((await dream.run([mean], evalJobs)).map((o) => o.return));
          values.eval_dream_mean_return = dreamed.mean;
          // What the controller could exploit: the dream's return above reality's, same mean.
          values.eval_dream_gap = dreamed.mean - e.mean;
          evaluation.dream_mean_return = dreamed.mean;
          message += `, in the dream ${dreamed.mean.toFixed(1)}`;
        }
        evaluations.push(evaluation);
        if (bestEval === null || e.mean > bestEval.eval_mean_return) {
          bestEval = { params: Array.from(mean), eval_mean_return: e.mean, generation };
        }
        message += `, mean evaluated ${e.mean.toFixed(1)} +- ${e.std.toFixed(1)}`;
      }
      ctx.metrics.log(generation, values);
      const checkpoint: Checkpoint = {
        version: 1,
        dimension,
        es: es.toState(),
        bestEval,
        evaluations,
      };
      await ctx.checkpoints.save("cma_es", checkpoint);
      ctx.progress.advance(1, `generation ${generation}: ${message}`);
    }
  } finally {
    pool.close();
    dream?.close();
  }

  const best = es.best!;
  const file: ControllerFile = {
    format: "ditto.controller",
    version: 1,
    inputs: p.inputs,
    input_size: inputSize,
    z_size: zSize,
    hidden,
    layout: "3 biases, then W row-major [input_size, 3]; input = [z] or [z, h]",
    mode: p.mode,
    ...(init ? { training: init.training, init: init.record } : {}),
    ...(p.mode === "dream" ? { temperature: p.temperature } : {}),
    generation: es.generation,
    mean: Array.from(es.mean),
    best: { params: Array.from(best.x), fitness: best.fitness, generation: best.generation },
    best_eval: bestEval,
    evaluations,
  };
  const dir = ctx.output("controller");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/controller.json`, JSON.stringify(file, null, 1) + "\n");
  await writeLineage(
    dir,
    await mergeLineage([ctx.inputs.init, vaeDir, rnnDir, ctx.inputs.series]),
  );
  ctx.log(
    `done after ${es.generation} generations; best fitness ${best.fitness.toFixed(1)}` +
      (bestEval ? `, best evaluated mean ${bestEval.eval_mean_return.toFixed(1)}` : ""),
  );
}

/** The `worldmodels/train_controller` stage module. */
export default defineStage<TrainControllerParams>({
  description:
    "CMA-ES over the linear controller in the real CarRacing or the MDN-RNN's dream (batched)",
  params: {
    popsize: { type: "integer", default: 16, min: 2, description: "candidates per generation" },
    episodes_per_candidate: {
      type: "integer",
      default: 4,
      min: 1,
      description: "episodes (tracks) each candidate's fitness averages",
    },
    generations: { type: "integer", default: 20, min: 1, description: "generations to run" },
    sigma0: { type: "number", default: 0.1, min: 0, description: "initial CMA-ES step size" },
    max_steps: {
      type: "integer",
      default: 1000,
      min: 1,
      description: "step limit of a training episode",
    },
    no_progress_steps: {
      type: "integer",
      default: 0,
      min: 0,
      description:
        "end a training episode after this many steps without a new tile (0: never; evaluations of the mean run in full)",
    },
    eval_every: {
      type: "integer",
      default: 10,
      min: 0,
      description: "generations between evaluations of the mean (0: only after the last)",
    },
    eval_episodes: {
      type: "integer",
      default: 16,
      min: 0,
      description: "episodes of each evaluation of the mean (0: none)",
    },
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
    inputs: {
      type: "string",
      default: "zh",
      enum: CONTROLLER_INPUTS,
      description: "what the controller sees: z, or z and the MDN-RNN's h",
    },
    mode: {
      type: "string",
      default: "real",
      enum: CONTROLLER_MODES,
      description:
        "where candidates are scored: real (the CarRacing environment) or dream (the MDN-RNN)",
    },
    temperature: {
      type: "number",
      default: 1,
      min: 0.01,
      description: "mode dream: sampling temperature tau (mixture logits / tau, sigma * sqrt(tau))",
    },
    dream_reward: {
      type: "string",
      default: "threshold",
      enum: DREAM_REWARDS,
      description:
        "mode dream: reward 1 when the reward logit > 0 (threshold, the book's) or with probability sigmoid(logit) (bernoulli); an M with reward: regression pays its predicted reward instead",
    },
    dream_done: {
      type: "string",
      default: "threshold",
      enum: DREAM_DONES,
      description: "mode dream, M with done_head: the episode ends when sigmoid(done logit) " +
        ">= 0.5 (threshold, the paper's Doom rule) or with that probability (sampled)",
    },
    dream_dropout: {
      type: "number",
      default: 0,
      min: 0,
      max: 0.95,
      description: "mode dream: dropout rate on h before M's head, one mask per dream episode " +
        "(Dropout's Dream Land: 0.1 on an M trained with dropout 0.05)",
    },
    init_solution: {
      type: "string",
      default: "mean",
      enum: SOLUTIONS,
      description: "with the `init` input: which of its solutions the search starts from " +
        "(mean: selected without a real score)",
    },
    dream_start: {
      type: "string",
      default: "first",
      enum: DREAM_STARTS,
      description: "mode dream: start dreams at the first frame of a real episode (first) or " +
        "inside one, after a real warm-up of the LSTM over dream_warmup recorded steps (real)",
    },
    dream_warmup: {
      type: "integer",
      default: 20,
      min: 1,
      description: "mode dream with dream_start real: recorded steps the LSTM is warmed up on",
    },
    covariance: {
      type: "string",
      default: "diagonal",
      enum: ["diagonal", "full"],
      description: "CMA-ES covariance: diagonal (sep-CMA-ES, fast at 867-D) or full",
    },
    backend: {
      type: "string",
      default: "wasm",
      enum: SYNC_BACKEND_NAMES,
      description: "TensorFlow.js backend running the VAE encoder in each worker",
    },
  },
  inputs: {
    vae: { description: "the ConvVAE (worldmodels/train_vae output `model`)" },
    rnn: {
      description:
        "the MDN-RNN (worldmodels/train_rnn output `model`); required with inputs zh and mode dream",
      optional: true,
    },
    series: {
      description: "mode dream: the encode output `series` (initial z of real episodes)",
      optional: true,
    },
    init: {
      description: "a controller (worldmodels/train_controller output) the search starts from, " +
        "e.g. one trained in the dream and refined here in reality",
      optional: true,
    },
  },
  outputs: ["controller"],
  deterministic: true,
  run: trainController,
});
