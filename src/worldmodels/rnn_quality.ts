/**
 * How good M is on episodes it was not trained on: the next-z negative log-likelihood, the
 * reward error and the done head's precision and recall, measured by stepping M through whole
 * real episodes exactly as the real driver does (input z_t ~ N(mu_t, sigma_t), a_t and the
 * reward input of the step that led to frame t).
 *
 * @module
 */

import { createRng, mixSeed, Random } from "../random/mod.ts";
import { sampleZ, type SeriesEpisode } from "../data/series.ts";
import type { MdnRnn, MixtureParams } from "../models/mdn_rnn.ts";
import { sampleMixture } from "../models/mdn_rnn_sample.ts";

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** Held-out quality of an MDN-RNN (the fields present depend on its heads). */
export interface RnnQuality {
  /** Episodes measured. */
  episodes: number;
  /** Transitions with a next frame (the NLL's count). */
  transitions: number;
  /** Mean -log p(z_{t+1}) per latent dimension (tau 1). */
  z_nll: number;
  /** Regression head: mean |predicted - true| reward per step, in gym's units. */
  reward_mae?: number;
  /** Regression head: root mean squared reward error per step, in gym's units. */
  reward_rmse?: number;
  /** Bit head: share of steps whose bit (logit > 0) equals the book's tile bit. */
  reward_bit_accuracy?: number;
  /** Done head: steps that ended an episode. */
  done_actual?: number;
  /** Done head: steps predicted to end it (probability >= 0.5). */
  done_predicted?: number;
  /** Done head: predicted and actual / predicted (absent when none was predicted). */
  done_precision?: number;
  /** Done head: predicted and actual / actual (absent when none ended). */
  done_recall?: number;
}

/** -log p(z) per dimension of one row of mixture parameters, summed over the dimensions. */
function nllSum(mix: MixtureParams, row: number, z: Float32Array, zOffset: number): number {
  const K = mix.mixtures, Z = mix.logPi.length / mix.batch / K;
  let sum = 0;
  for (let d = 0; d < Z; d++) {
    const base = (row * Z + d) * K;
    const a = new Float64Array(K);
    let m = -Infinity;
    for (let k = 0; k < K; k++) {
      const e = (z[zOffset + d] - mix.mu[base + k]) * Math.exp(-mix.logSigma[base + k]);
      a[k] = mix.logPi[base + k] - 0.5 * e * e - mix.logSigma[base + k] - LOG_SQRT_2PI;
      if (a[k] > m) m = a[k];
    }
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(a[k] - m);
    sum -= m + Math.log(s);
  }
  return sum;
}

/**
 * Steps `rnn` through every episode (all in one batch; each row computed alike whatever the
 * batch) and measures its predictions. The z samples of episode i come from
 * `mixSeed(seed, "rnn_quality", i)`.
 */
export function measureRnn(
  rnn: MdnRnn,
  episodes: readonly SeriesEpisode[],
  seed: number,
): RnnQuality {
  const { zSize: Z, actionSize: A, rewardHead, rewardRegression, doneHead } = rnn.config;
  const n = episodes.length;
  if (n === 0) throw new RangeError("Cannot measure the MDN-RNN on no episodes");
  const zs = episodes.map((e, i) =>
    sampleZ(e.mu, e.logvar, new Random(mixSeed(seed, "rnn_quality", i)))
  );
  const longest = Math.max(...episodes.map((e) => e.rewards.length));
  let state = rnn.initialState(n);
  let transitions = 0, nll = 0, steps = 0, absErr = 0, sqErr = 0, bitsRight = 0;
  let actual = 0, predicted = 0, hits = 0;
  const z = new Float32Array(n * Z), action = new Float32Array(n * A);
  const reward = new Float32Array(n);
  for (let t = 0; t < longest; t++) {
    for (let i = 0; i < n; i++) {
      const e = episodes[i], len = e.rewards.length;
      if (t >= len) continue; // finished: its row steps on with its last inputs, unread
      z.set(zs[i].subarray(t * Z, (t + 1) * Z), i * Z);
      action.set(e.actions.subarray(t * A, (t + 1) * A), i * A);
      reward[i] = t === 0 ? 0 : rnn.encodeReward(e.rewards[t - 1], e.dones[t - 1] !== 0);
    }
    const out = rnn.stepState(state, { z, action, reward: rewardHead ? reward : undefined });
    state = out.state;
    const mix = out.mixture!;
    for (let i = 0; i < n; i++) {
      const e = episodes[i], len = e.rewards.length;
      if (t >= len) continue;
      steps++;
      if (t + 1 < len) {
        nll += nllSum(mix, i, zs[i], (t + 1) * Z);
        transitions++;
      }
      const r = e.rewards[t], done = e.dones[t] !== 0;
      if (rewardHead && rewardRegression) {
        const err = rnn.decodeReward(mix.rewardValue![i]) - r;
        absErr += Math.abs(err);
        sqErr += err * err;
      } else if (rewardHead) {
        if ((mix.rewardLogit![i] > 0 ? 1 : 0) === rnn.encodeReward(r, done)) bitsRight++;
      }
      if (doneHead) {
        const fired = mix.doneLogit![i] >= 0;
        if (done) actual++;
        if (fired) predicted++;
        if (fired && done) hits++;
      }
    }
  }
  const quality: RnnQuality = {
    episodes: n,
    transitions,
    z_nll: transitions > 0 ? nll / (transitions * Z) : 0,
  };
  if (rewardHead && rewardRegression) {
    quality.reward_mae = absErr / steps;
    quality.reward_rmse = Math.sqrt(sqErr / steps);
  } else if (rewardHead) {
    quality.reward_bit_accuracy = bitsRight / steps;
  }
  if (doneHead) {
    quality.done_actual = actual;
    quality.done_predicted = predicted;
    if (predicted > 0) quality.done_precision = hits / predicted;
    if (actual > 0) quality.done_recall = hits / actual;
  }
  return quality;
}

/** The dream against reality on held-out episodes, for the actions that were really taken. */
export interface DreamGap {
  /** Episodes long enough for the warm-up. */
  dream_episodes: number;
  /** Mean real return from the step after the warm-up to the episode's end (gym's units). */
  real_return: number;
  /** Mean dream return over the same steps, the same actions, from the same state. */
  dream_return: number;
  /** Mean of dream minus real return: what a controller could gain by exploiting M. */
  dream_gap: number;
  /** Mean |dream - real| return. */
  dream_gap_abs: number;
}

/** Options of {@linkcode measureDreamGap}. */
export interface DreamGapOptions {
  /** Recorded steps the LSTM is teacher-forced over before the dream takes over. @default {20} */
  warmup?: number;
  /** Temperature of the dream's z samples. @default {1} */
  temperature?: number;
}

/**
 * Replays each held-out episode's recorded actions in M's dream from the state the real episode
 * reached after `warmup` steps (teacher forcing, as `dream_start: real` does), and compares the
 * dream's return with the real one over the same steps: the controller that made the data (the
 * random policy, whose actions do not depend on what it sees) from the same start. The dream
 * ends where the real episode ends, or earlier when M's done head fires. Needs M's reward
 * regression head; undefined for other M or when no episode is longer than the warm-up. The z
 * samples of episode i come from `mixSeed(seed, "dream_gap", "z" | "dream", i)`.
 */
export function measureDreamGap(
  rnn: MdnRnn,
  episodes: readonly SeriesEpisode[],
  seed: number,
  options: DreamGapOptions = {},
): DreamGap | undefined {
  const { zSize: Z, actionSize: A, mixtures: K, rewardHead, rewardRegression, doneHead } =
    rnn.config;
  if (!rewardHead || !rewardRegression) return undefined;
  const W = options.warmup ?? 20, tau = options.temperature ?? 1;
  const held = episodes.filter((e) => e.rewards.length > W);
  const n = held.length;
  if (n === 0) return undefined;
  const rngs = held.map((_, i) => createRng(mixSeed(seed, "dream_gap", "dream", i)));
  const zs = held.map((e, i) =>
    sampleZ(e.mu, e.logvar, new Random(mixSeed(seed, "dream_gap", "z", i)))
  );
  const longest = Math.max(...held.map((e) => e.rewards.length));
  let state = rnn.initialState(n);
  let z = new Float32Array(n * Z);
  const action = new Float32Array(n * A), reward = new Float32Array(n);
  const dream = new Float64Array(n), ended = new Uint8Array(n);
  for (let t = 0; t < longest; t++) {
    for (let i = 0; i < n; i++) {
      const e = held[i];
      if (t >= e.rewards.length) continue; // finished: its row steps on, unread
      action.set(e.actions.subarray(t * A, (t + 1) * A), i * A);
      // Teacher forcing up to the dream's first frame; then M's own z and reward.
      if (t <= W) z.set(zs[i].subarray(t * Z, (t + 1) * Z), i * Z);
      if (t <= W) {
        reward[i] = t === 0 ? 0 : rnn.encodeReward(e.rewards[t - 1], e.dones[t - 1] !== 0);
      }
    }
    const out = rnn.stepState(state, { z, action, reward });
    state = out.state;
    if (t < W) continue;
    const mix = out.mixture!;
    const next = new Float32Array(n * Z), span = Z * K;
    for (let i = 0; i < n; i++) {
      if (t >= held[i].rewards.length || ended[i]) continue;
      reward[i] = mix.rewardValue![i];
      dream[i] += rnn.decodeReward(reward[i]);
      if (doneHead && mix.doneLogit![i] >= 0) {
        ended[i] = 1;
        continue;
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
  let real = 0, dreamSum = 0, gap = 0, gapAbs = 0;
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let t = W; t < held[i].rewards.length; t++) r += held[i].rewards[t];
    real += r;
    dreamSum += dream[i];
    gap += dream[i] - r;
    gapAbs += Math.abs(dream[i] - r);
  }
  return {
    dream_episodes: n,
    real_return: real / n,
    dream_return: dreamSum / n,
    dream_gap: gap / n,
    dream_gap_abs: gapAbs / n,
  };
}
