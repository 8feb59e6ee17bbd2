/**
 * Sampling from the MDN-RNN's outputs: the next latent from the mixture (with temperature), and
 * the dropout masks used in training and in the dream.
 *
 * @module
 */

import type { Rng } from "../random/mod.ts";
import type { MixtureParams } from "./mdn_rnn_engine/mod.ts";

/** Options of {@linkcode sampleMixture}. */
export interface SampleOptions {
  /** Temperature: logits / tau, sigma * sqrt(tau); default 1. */
  tau?: number;
  /** Seeded generator. */
  rng: Rng;
}

/**
 * Draws z [batch, zSize] from mixture parameters with temperature tau, per latent dimension:
 * a component from softmax(logPi / tau), then mu_k + sigma_k * sqrt(tau) * N(0, 1).
 */
export function sampleMixture(mix: MixtureParams, options: SampleOptions): Float32Array {
  const tau = options.tau ?? 1;
  if (!(tau > 0)) throw new RangeError(`Cannot sample: temperature ${tau} is not positive`);
  const { rng } = options;
  const K = mix.mixtures;
  const dims = mix.logPi.length / K; // batch * zSize
  const out = new Float32Array(dims);
  const w = new Float64Array(K);
  const sqrtTau = Math.sqrt(tau);
  for (let d = 0; d < dims; d++) {
    const base = d * K;
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, mix.logPi[base + k] / tau);
    let sum = 0;
    for (let k = 0; k < K; k++) {
      w[k] = Math.exp(mix.logPi[base + k] / tau - m);
      sum += w[k];
    }
    let u = rng.nextFloat() * sum;
    let pick = K - 1;
    for (let k = 0; k < K; k++) {
      u -= w[k];
      if (u < 0) {
        pick = k;
        break;
      }
    }
    out[d] = mix.mu[base + pick] + Math.exp(mix.logSigma[base + pick]) * sqrtTau * rng.normal();
  }
  return out;
}

/**
 * `count` dropout multipliers: 0 with probability `rate`, else 1 / (1 - rate) (inverted
 * dropout, so the head's expected input is unchanged). One draw per value from `rng`.
 */
export function dropoutMask(rng: Rng, count: number, rate: number): Float32Array {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`Cannot draw dropout: rate ${rate}`);
  const keep = 1 / (1 - rate);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.nextFloat() < rate ? 0 : keep;
  return out;
}
