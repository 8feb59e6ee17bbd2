/**
 * `worldmodels/train_rnn`: trains the World Models MDN-RNN ("M") on a series dataset.
 *
 * ```yaml
 * train_rnn:
 *   uses: worldmodels/train_rnn
 *   inputs: { series: "${stages.encode.outs.series}" }
 *   with: { steps: 4000, batch_size: 32, seq_len: 100, learning_rate: 0.001, grad_clip: 1.0 }
 * ```
 *
 * Each step draws `batch_size` windows of `seq_len + 1` consecutive steps inside episodes
 * (uniformly over all windows; `SeriesReader.sequenceBatch`) and a fresh z ~ N(mu, sigma) for
 * every frame of them (`sampleZ`): inputs [z_t, a_t] for t < seq_len, targets z_{t+1}. With
 * `reward: bit` (or `reward_head: true`, the 2020 book's version) the reward is an input and is
 * predicted too, as the book does: r_t is 1 when the step that led to frame t earned a positive
 * reward without ending the episode, else 0. With `reward: regression` r_t is that step's gym
 * reward times `reward_scale` (-0.1 per step, +1000/N per new tile, -100 off the field), fitted
 * by a squared error whose over-predictions weigh `reward_over_weight` times more. With
 * `done_head` a logit predicts that action t ends the episode (cross-entropy, positives weighted
 * `done_weight`). With either of these two, each terminated episode also gives the window that
 * ends with its last action (which has no next frame: its z target is masked), so that the
 * final reward and the done are learned.
 *
 * With `dropout` > 0 the LSTM output h is dropped (inverted dropout, masks from
 * `mixSeed(seed, "worldmodels/train_rnn", "dropout", s)`) before the head in training, as in
 * Dropout's Dream Land; the recurrence and the controller see h undropped, and the dream can
 * apply its own mask per episode (`train_controller`'s `dream_dropout`).
 *
 * Why a fixed `reward_scale` rather than 1000/N: the dream does not know N (the track's tile
 * count), so it could not unscale; 0.3 brings a tile (1000/N, about 3.1-4.3) near 1 and a step
 * near -0.03, the order of the mixture NLL's gradients, while -100 becomes -30 (its gradient is
 * clipped element-wise like the rest).
 *
 * With `holdout_episodes` H > 0 the last H episodes of the series are never trained on; after
 * training M is stepped through them (`measureRnn`) and the metrics `holdout_z_nll` (next-z
 * negative log-likelihood per dimension), `holdout_reward_mae`/`holdout_reward_rmse` (gym units,
 * regression) or `holdout_reward_bit_accuracy` (bit), `holdout_done_precision`/`_recall` (at
 * probability 0.5) are logged at step `steps` and reported in the stage's facts. With the
 * regression reward head, `measureDreamGap` also replays each held-out episode's recorded actions
 * in the dream from the state reached after a 20-step real warm-up: `holdout_real_return`,
 * `holdout_dream_return`, `holdout_dream_gap` (dream minus real, the margin a controller can
 * exploit) and `holdout_dream_gap_abs`.
 *
 * Windows of step s come from `mixSeed(seed, "worldmodels/train_rnn", "windows")` and s, the z
 * noise from `mixSeed(seed, "worldmodels/train_rnn", "z", s)`. With `workers` > 1 each minibatch
 * is split by sequences between the stage thread and helper Workers (`MdnRnn` data parallelism).
 * A checkpoint (weights, Adam moments, step, metrics so far) is written every `checkpoint_every`
 * steps and when the stage is interrupted; a rerun continues from it and ends with the weights
 * of an uninterrupted run.
 *
 * Metrics per step: `loss` (what was minimised), and with a reward or done head `z_loss`
 * (mixture negative log-likelihood per latent dimension), `reward_loss` (binary cross-entropy of
 * the bit, or the weighted squared error of the scaled reward) and `done_loss`.
 * Output `model`: the TensorFlow.js layers format (`model.json`, `weights.bin`): an LSTM layer and
 * a dense mixture head, with the configuration in the user-defined metadata (`MdnRnn.load`).
 *
 * @module
 */

import { mixSeed, Random } from "../../random/mod.ts";
import { sampleZ, type SequenceBatch, SeriesReader } from "../../data/series.ts";
import { initBackend } from "../../models/backend/mod.ts";
import { MdnRnn, type MdnRnnWeights } from "../../models/mdn_rnn.ts";
import { defineStage, type StageContext } from "../../runner/mod.ts";
import { measureDreamGap, measureRnn } from "../../worldmodels/rnn_quality.ts";
import {
  packCheckpoint,
  unpackCheckpoint,
  yieldToEventLoop,
} from "../../worldmodels/train_state.ts";
import { mergeLineage, writeLineage } from "../../worldmodels/lineage.ts";

/** Parameters of `worldmodels/train_rnn` (the `with:` keys). */
export interface TrainRnnParams {
  /** Training steps (minibatches). */
  steps: number;
  /** Sequences per minibatch. */
  batch_size: number;
  /** Transitions per sequence (windows are seq_len + 1 frames). */
  seq_len: number;
  /** Adam learning rate. */
  learning_rate: number;
  /** Element-wise gradient clip (0 = none). */
  grad_clip: number;
  /** LSTM units. */
  hidden: number;
  /** Gaussian components per latent dimension. */
  mixtures: number;
  /** Whether the reward is an input and is predicted (the book's version): `reward: bit`. */
  reward_head: boolean;
  /** How the reward is an input and predicted: not, the book's tile bit, or a regression. */
  reward: RnnReward;
  /** Factor from gym's reward to the regression's input and target. */
  reward_scale: number;
  /** Weight of over-predicted rewards in the regression's squared error (1 = symmetric). */
  reward_over_weight: number;
  /** Whether a done logit predicts that the step ends the episode. */
  done_head: boolean;
  /** Weight of the positive (done) class in the done head's cross-entropy. */
  done_weight: number;
  /** Episodes at the end of the series held out of training and measured after it. */
  holdout_episodes: number;
  /** Dropout rate on the LSTM output before the head, in training only. */
  dropout: number;
  /** Steps between checkpoints (0: none until the end). */
  checkpoint_every: number;
  /** Threads sharing each minibatch (the stage's own and helper Workers). */
  workers: number;
}

/** The allowed values of the `reward` parameter. */
export const RNN_REWARDS = ["none", "bit", "regression"] as const;

/** `none`: no reward; `bit`: the book's 0/1 tile bit; `regression`: the scaled gym reward. */
export type RnnReward = typeof RNN_REWARDS[number];

/** The checkpoint's file name in the stage's checkpoint store. */
export const RNN_CHECKPOINT = "train_rnn.state";

const LABEL = "worldmodels/train_rnn";
const WEIGHT_NAMES = ["kernel", "recurrentKernel", "bias", "headKernel", "headBias"] as const;

interface CheckpointHeader {
  /** Training steps done. */
  step: number;
  /** Metrics of the steps done so far (float64 values: kept in the JSON header). */
  history: Record<string, number[]>;
}

/** The MdnRnn seed (weight initialisation) the stage uses for experiment seed `seed`. */
export function rnnInitSeed(seed: number): number {
  return mixSeed(seed, LABEL, "init");
}

/**
 * The reward inputs of a batch of windows (the book's convention): entry t is the encoded
 * reward ({@linkcode MdnRnn.encodeReward}: the bit or the scaled reward) of the step that led to
 * frame t of the window, i.e. row `offset + t - 1` of the episode (0 at an episode's first
 * frame).
 */
function rewardInputs(
  rnn: MdnRnn,
  reader: SeriesReader,
  batch: SequenceBatch,
  length: number,
): Float32Array {
  const B = batch.episodes.length;
  const out = new Float32Array(B * length);
  for (let b = 0; b < B; b++) {
    const offset = batch.offsets[b];
    if (offset > 0) {
      const before = reader.readEpisode(batch.episodes[b], offset - 1, 1);
      out[b * length] = rnn.encodeReward(before.rewards[0], before.dones[0] !== 0);
    }
    for (let t = 1; t < length; t++) {
      const i = b * length + t - 1;
      out[b * length + t] = rnn.encodeReward(batch.rewards[i], batch.dones[i] !== 0);
    }
  }
  return out;
}

/** The reward kind the parameters ask for (`reward_head: true` is `reward: bit`). */
function rewardKind(p: TrainRnnParams): RnnReward {
  for (const k of ["reward_scale", "reward_over_weight", "done_weight"] as const) {
    if (!(p[k] > 0)) {
      throw new RangeError(`Cannot train the MDN-RNN: ${k} must be > 0, got ${p[k]}`);
    }
  }
  if (!p.reward_head) return p.reward;
  if (p.reward === "regression") {
    throw new RangeError(
      "Cannot train the MDN-RNN: reward_head: true is reward: bit; set only reward: regression",
    );
  }
  return "bit";
}

/** Trains the MDN-RNN: the body of the stage, usable with any {@linkcode StageContext}. */
export async function trainRnn(ctx: StageContext<TrainRnnParams>): Promise<void> {
  const p = ctx.params;
  // Training runs on the MDN-RNN's own SIMD kernels; tfjs only writes the layers model.
  const backend = await initBackend({ backend: "wasm" });
  // An earlier round's data (input `mix`) first, so the held-out episodes are the new ones.
  const reader = await SeriesReader.openMany(
    ctx.inputs.mix === undefined ? [ctx.inputs.series] : [ctx.inputs.mix, ctx.inputs.series],
  );
  let rnn: MdnRnn | undefined;
  try {
    const reward = rewardKind(p);
    const regression = reward === "regression";
    rnn = new MdnRnn({
      zSize: reader.index.z_size,
      actionSize: reader.index.action_size,
      hidden: p.hidden,
      mixtures: p.mixtures,
      rewardHead: reward !== "none",
      learningRate: p.learning_rate,
      gradClip: p.grad_clip,
      ...(regression
        ? {
          rewardRegression: true,
          rewardScale: p.reward_scale,
          rewardOverWeight: p.reward_over_weight,
        }
        : {}),
      ...(p.done_head ? { doneHead: true, doneWeight: p.done_weight } : {}),
      ...(p.dropout > 0 ? { dropout: p.dropout } : {}),
    }, { seed: rnnInitSeed(ctx.seed), workers: p.workers });
    const model = rnn;
    const length = p.seq_len + 1;
    const episodeCount = reader.episodes.length;
    if (p.holdout_episodes >= episodeCount) {
      throw new RangeError(
        `Cannot train the MDN-RNN: holdout_episodes ${p.holdout_episodes} leaves none of the ` +
          `series' ${episodeCount} episodes to train on`,
      );
    }
    const trainEpisodes = episodeCount - p.holdout_episodes;
    // The last action of a terminated episode is a transition of its own (no next frame).
    const throughEnd = regression || p.done_head;
    const longest = Math.max(
      0,
      ...reader.episodes.slice(0, trainEpisodes).map((e) =>
        e.length + (throughEnd && e.terminated ? 1 : 0)
      ),
    );
    if (longest < length) {
      throw new RangeError(
        `Cannot train the MDN-RNN: seq_len ${p.seq_len} needs episodes of ${length} steps, ` +
          `the longest in the series has ${longest}; lower seq_len or collect longer episodes`,
      );
    }
    const metricNames = [
      "loss",
      ...(reward !== "none" || p.done_head ? ["z_loss"] : []),
      ...(reward !== "none" ? ["reward_loss"] : []),
      ...(p.done_head ? ["done_loss"] : []),
    ];
    const history: Record<string, number[]> = Object.fromEntries(metricNames.map((n) => [n, []]));
    let step = 0;

    const saved = await ctx.checkpoints.loadBytes(RNN_CHECKPOINT);
    if (saved !== undefined) {
      const { header, arrays } = unpackCheckpoint<CheckpointHeader>(saved);
      const get = (name: string) => {
        const a = arrays.get(name);
        if (a === undefined) throw new RangeError(`Cannot resume train_rnn: no ${name} saved`);
        return a;
      };
      const named = (prefix: string) =>
        Object.fromEntries(
          WEIGHT_NAMES.map((k) => [k, get(`${prefix}_${k}`)]),
        ) as unknown as MdnRnnWeights;
      // Both check the sizes against the configuration.
      rnn.setWeights(named("w"));
      rnn.setOptimizerState({ step: header.step, m: named("m"), v: named("v") });
      step = header.step;
      for (const name of metricNames) {
        history[name] = header.history[name] ?? [];
        if (history[name].length !== step) {
          throw new RangeError(`Cannot resume train_rnn: the checkpoint lacks the ${name} metric`);
        }
      }
      for (let s = 0; s < step; s++) {
        ctx.metrics.log(s, Object.fromEntries(metricNames.map((n) => [n, history[n][s]])));
      }
      ctx.log(`resumed at step ${step}`);
      ctx.report({ resumed_from_step: step });
    }

    const saveCheckpoint = async () => {
      const { m, v } = model.optimizerState();
      const arrays = (prefix: string, w: MdnRnnWeights) =>
        WEIGHT_NAMES.map((k): [string, Float32Array] => [`${prefix}_${k}`, w[k]]);
      await ctx.checkpoints.save(
        RNN_CHECKPOINT,
        packCheckpoint({ step, history } satisfies CheckpointHeader, [
          ...arrays("w", model.weights),
          ...arrays("m", m),
          ...arrays("v", v),
        ]),
      );
    };

    ctx.progress.total(p.steps, "steps");
    if (step > 0) ctx.progress.advance(step, "resumed");
    const windowSeed = mixSeed(ctx.seed, LABEL, "windows");
    const t0 = performance.now();
    const startStep = step;
    let savedAt = step;
    while (step < p.steps) {
      const batch = reader.sequenceBatch({
        batchSize: p.batch_size,
        length,
        seed: windowSeed,
        step,
        ...(p.holdout_episodes > 0 ? { episodes: trainEpisodes } : {}),
        ...(throughEnd ? { throughEnd } : {}),
      });
      const z = sampleZ(batch.mu, batch.logvar, new Random(mixSeed(ctx.seed, LABEL, "z", step)));
      // Losses before the update; Adam with element-wise clipping inside the model.
      const result = await rnn.trainStepAsync({
        z,
        action: batch.actions,
        reward: reward !== "none" ? rewardInputs(rnn, reader, batch, length) : undefined,
        done: p.done_head ? Float32Array.from(batch.dones) : undefined,
        lastFrameMissing: batch.lastFrameMissing,
        ...(p.dropout > 0 ? { dropoutSeed: mixSeed(ctx.seed, LABEL, "dropout", step) } : {}),
        batch: p.batch_size,
        length,
      });
      if (!Number.isFinite(result.loss)) {
        throw new RangeError(
          `Cannot train the MDN-RNN: the loss is ${result.loss} at step ${step}`,
        );
      }
      const all: Record<string, number> = {
        loss: result.loss,
        z_loss: result.nll,
        reward_loss: regression ? result.mse : result.bce,
        done_loss: result.doneBce,
      };
      const values = Object.fromEntries(metricNames.map((n) => [n, all[n]]));
      for (const name of metricNames) history[name].push(values[name]);
      ctx.metrics.log(step, values);
      step++;
      ctx.progress.advance(1, `loss ${result.loss.toFixed(4)}`);
      // Training is synchronous: give the event loop a turn so an interruption is noticed.
      await yieldToEventLoop();
      if ((p.checkpoint_every > 0 && step % p.checkpoint_every === 0) || ctx.signal.aborted) {
        await saveCheckpoint();
        savedAt = step;
      }
      ctx.signal.throwIfAborted();
    }
    if (savedAt !== step) await saveCheckpoint();
    const seconds = (performance.now() - t0) / 1000;
    await rnn.save(ctx.output("model"));
    await writeLineage(
      ctx.output("model"),
      await mergeLineage([ctx.inputs.series, ctx.inputs.mix]),
    );
    const done = step - startStep;
    const transitionsPerSecond = done * p.batch_size * p.seq_len / Math.max(seconds, 1e-9);
    if (p.holdout_episodes > 0) {
      const held = Array.from(
        { length: p.holdout_episodes },
        (_, i) => reader.readEpisode(trainEpisodes + i),
      );
      const { episodes: _, ...quality } = measureRnn(
        rnn,
        held,
        mixSeed(ctx.seed, LABEL, "holdout"),
      );
      // The dream against reality for the held-out actions, from the same warmed-up state.
      const gap = measureDreamGap(rnn, held, mixSeed(ctx.seed, LABEL, "holdout_dream"));
      if (gap !== undefined) Object.assign(quality, gap);
      const named = Object.fromEntries(
        Object.entries(quality).map(([k, v]) => [`holdout_${k}`, v]),
      );
      ctx.metrics.log(p.steps, named);
      ctx.report({ holdout_episodes: p.holdout_episodes, ...named });
      ctx.log(
        `held-out: ${
          Object.entries(named).map(([k, v]) => `${k} ${Number(v.toPrecision(4))}`).join(", ")
        }`,
      );
    }
    ctx.report({
      backend,
      engine: "simd",
      parameters: rnn.parameterCount,
      workers: p.workers,
      transitions_per_second: Number(transitionsPerSecond.toFixed(0)),
    });
    ctx.log(
      `${p.steps} steps, final loss ${history.loss.at(-1)?.toFixed(4)}` +
        (done > 0 ? `, ${transitionsPerSecond.toFixed(0)} transitions/s` : ""),
    );
  } finally {
    await rnn?.close();
    reader.close();
  }
}

/** The `worldmodels/train_rnn` stage module. */
export default defineStage<TrainRnnParams>({
  description: "Trains the World Models MDN-RNN on a series dataset",
  params: {
    steps: { type: "integer", default: 4000, min: 1, description: "training steps" },
    batch_size: { type: "integer", default: 32, min: 1, description: "sequences per minibatch" },
    seq_len: {
      type: "integer",
      default: 100,
      min: 1,
      description: "transitions per sequence (the original trains on 999)",
    },
    learning_rate: { type: "number", default: 1e-3, min: 0, description: "Adam learning rate" },
    grad_clip: {
      type: "number",
      default: 1.0,
      min: 0,
      description: "element-wise gradient clip (0 = none)",
    },
    hidden: { type: "integer", default: 256, min: 4, description: "LSTM units (multiple of 4)" },
    mixtures: {
      type: "integer",
      default: 5,
      min: 1,
      description: "Gaussian components per latent dimension",
    },
    reward_head: {
      type: "boolean",
      default: false,
      description: "reward as input and predicted (the 2020 book's version): same as reward: bit",
    },
    reward: {
      type: "string",
      default: "none",
      enum: RNN_REWARDS,
      description: "reward as input and predicted: none, bit (the book's tile bit) or " +
        "regression (gym's reward times reward_scale)",
    },
    reward_scale: {
      type: "number",
      default: 0.3,
      min: 0,
      description: "reward: regression: factor from gym's reward to M's input and target",
    },
    reward_over_weight: {
      type: "number",
      default: 1,
      min: 0,
      description: "reward: regression: weight of over-predictions in the squared error " +
        "(1 = symmetric)",
    },
    done_head: {
      type: "boolean",
      default: false,
      description: "a done logit predicts that the step's action ends the episode",
    },
    done_weight: {
      type: "number",
      default: 10,
      min: 0,
      description: "done_head: weight of the rare done steps in its cross-entropy (Doom: 10)",
    },
    dropout: {
      type: "number",
      default: 0,
      min: 0,
      max: 0.95,
      description: "dropout rate on the LSTM output before the heads, in training " +
        "(Dropout's Dream Land: 0.05)",
    },
    holdout_episodes: {
      type: "integer",
      default: 0,
      min: 0,
      description: "last episodes of the series kept out of training and measured after it " +
        "(holdout_* metrics)",
    },
    checkpoint_every: {
      type: "integer",
      default: 100,
      min: 0,
      description: "steps between checkpoints (0: none until the end)",
    },
    workers: {
      type: "integer",
      default: 1,
      min: 1,
      max: 64,
      description: "threads sharing each minibatch (results differ from 1 thread by rounding)",
    },
  },
  inputs: {
    series: { description: "series dataset (worldmodels/encode output)" },
    mix: {
      description: "another series trained on together with `series` (the iterative " +
        "procedure: an earlier round's data); its episodes come first",
      optional: true,
    },
  },
  outputs: ["model"],
  deterministic: true,
  run: trainRnn,
});
