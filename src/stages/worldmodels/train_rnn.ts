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
 * `reward_head` (the 2020 book's version) the reward is an input and is predicted too, as the
 * book does: r_t is 1 when the step that led to frame t earned a positive reward without ending
 * the episode, else 0.
 *
 * Windows of step s come from `mixSeed(seed, "worldmodels/train_rnn", "windows")` and s, the z
 * noise from `mixSeed(seed, "worldmodels/train_rnn", "z", s)`. With `workers` > 1 each minibatch
 * is split by sequences between the stage thread and helper Workers (`MdnRnn` data parallelism).
 * A checkpoint (weights, Adam moments, step, metrics so far) is written every `checkpoint_every`
 * steps and when the stage is interrupted; a rerun continues from it and ends with the weights
 * of an uninterrupted run.
 *
 * Metrics per step: `loss` (what was minimised), and with the reward head `z_loss` (mixture
 * negative log-likelihood per latent dimension) and `reward_loss` (binary cross-entropy).
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
import {
  packCheckpoint,
  unpackCheckpoint,
  yieldToEventLoop,
} from "../../worldmodels/train_state.ts";

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
  /** Whether the reward is an input and is predicted (the book's version). */
  reward_head: boolean;
  /** Steps between checkpoints (0: none until the end). */
  checkpoint_every: number;
  /** Threads sharing each minibatch (the stage's own and helper Workers). */
  workers: number;
}

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

/** 1 when reward `r` was earned without ending the episode (`done`), else 0 (the book's rule). */
function rewardBit(r: number, done: number): number {
  return r > 0 && done === 0 ? 1 : 0;
}

/**
 * The reward inputs of a batch of windows (the book's convention): entry t is the bit of the
 * step that led to frame t of the window, i.e. row `offset + t - 1` of the episode (0 at an
 * episode's first frame).
 */
function rewardInputs(reader: SeriesReader, batch: SequenceBatch, length: number): Float32Array {
  const B = batch.episodes.length;
  const out = new Float32Array(B * length);
  for (let b = 0; b < B; b++) {
    const offset = batch.offsets[b];
    if (offset > 0) {
      const before = reader.readEpisode(batch.episodes[b], offset - 1, 1);
      out[b * length] = rewardBit(before.rewards[0], before.dones[0]);
    }
    for (let t = 1; t < length; t++) {
      const i = b * length + t - 1;
      out[b * length + t] = rewardBit(batch.rewards[i], batch.dones[i]);
    }
  }
  return out;
}

/** Trains the MDN-RNN: the body of the stage, usable with any {@linkcode StageContext}. */
export async function trainRnn(ctx: StageContext<TrainRnnParams>): Promise<void> {
  const p = ctx.params;
  // Training runs on the MDN-RNN's own SIMD kernels; tfjs only writes the layers model.
  const backend = await initBackend({ backend: "wasm" });
  const reader = await SeriesReader.open(ctx.inputs.series);
  let rnn: MdnRnn | undefined;
  try {
    rnn = new MdnRnn({
      zSize: reader.index.z_size,
      actionSize: reader.index.action_size,
      hidden: p.hidden,
      mixtures: p.mixtures,
      rewardHead: p.reward_head,
      learningRate: p.learning_rate,
      gradClip: p.grad_clip,
    }, { seed: rnnInitSeed(ctx.seed), workers: p.workers });
    const model = rnn;
    const length = p.seq_len + 1;
    const longest = Math.max(0, ...reader.episodes.map((e) => e.length));
    if (longest < length) {
      throw new RangeError(
        `Cannot train the MDN-RNN: seq_len ${p.seq_len} needs episodes of ${length} steps, ` +
          `the longest in the series has ${longest}; lower seq_len or collect longer episodes`,
      );
    }
    const metricNames = p.reward_head ? ["loss", "z_loss", "reward_loss"] : ["loss"];
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
      });
      const z = sampleZ(batch.mu, batch.logvar, new Random(mixSeed(ctx.seed, LABEL, "z", step)));
      // Losses before the update; Adam with element-wise clipping inside the model.
      const result = await rnn.trainStepAsync({
        z,
        action: batch.actions,
        reward: p.reward_head ? rewardInputs(reader, batch, length) : undefined,
        batch: p.batch_size,
        length,
      });
      if (!Number.isFinite(result.loss)) {
        throw new RangeError(
          `Cannot train the MDN-RNN: the loss is ${result.loss} at step ${step}`,
        );
      }
      const values: Record<string, number> = p.reward_head
        ? { loss: result.loss, z_loss: result.nll, reward_loss: result.bce }
        : { loss: result.loss };
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
    const done = step - startStep;
    const transitionsPerSecond = done * p.batch_size * p.seq_len / Math.max(seconds, 1e-9);
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
      description: "reward as input and predicted (the 2020 book's version)",
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
  inputs: { series: { description: "series dataset (worldmodels/encode output)" } },
  outputs: ["model"],
  deterministic: true,
  run: trainRnn,
});
