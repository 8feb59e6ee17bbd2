/**
 * CMA-ES termination criteria (pycma's names and defaults): each is reported with its threshold
 * while it holds; the caller decides whether to stop.
 *
 * @module
 */

import type { CmaEsSnapshot } from "./state.ts";

/** A termination criterion that {@linkcode CmaEs.prototype.stop} can report. */
export type StopCriterion =
  | "maxIter"
  | "maxFevals"
  | "ftarget"
  | "tolFun"
  | "tolX"
  | "conditionCov"
  | "noEffectAxis"
  | "noEffectCoord"
  | "tolUpSigma";

/** The criteria that hold, each with its threshold; empty while the run should go on. */
export type StopReasons = Partial<Record<StopCriterion, number>>;

/** The variance C_ii of coordinate `i` in the run's covariance model. */
export function variance(s: CmaEsSnapshot, i: number): number {
  return s.covariance === "full" ? s.c[i * s.dimension + i] : s.c[i];
}

/** Condition number of the covariance matrix whose sqrt-eigenvalues are `d`. */
export function conditionNumber(d: Float64Array): number {
  let max = -Infinity, min = Infinity;
  for (const v of d) {
    max = Math.max(max, v * v);
    min = Math.min(min, v * v);
  }
  return max / min;
}

/** The termination criteria that hold for run `s`, each with its threshold. */
export function stopReasons(s: CmaEsSnapshot): StopReasons {
  const out: StopReasons = {};
  const o = s.options;
  const n = s.dimension;
  const g = s.generation;
  if (o.maxIter !== null && g >= o.maxIter) out.maxIter = o.maxIter;
  if (o.maxFevals !== null && s.evaluations >= o.maxFevals) out.maxFevals = o.maxFevals;
  if (g === 0) return out;
  const sign = o.maximize ? -1 : 1;
  if (o.ftarget !== null && s.lastFitness[0] <= sign * o.ftarget) out.ftarget = o.ftarget;
  if (g >= 2) {
    let lo = Infinity, hi = -Infinity;
    for (const v of s.history) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    for (const v of s.lastFitness) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (hi - lo < o.tolFun) out.tolFun = o.tolFun;
  }
  const sigma = s.sigma;
  let allSmall = true;
  for (let i = 0; i < n && allSmall; i++) {
    const step = sigma * Math.max(Math.abs(s.pc[i]), Math.sqrt(variance(s, i)));
    allSmall = step < o.tolX;
  }
  if (allSmall) out.tolX = o.tolX;
  if (conditionNumber(s.d) > o.conditionLimit) out.conditionCov = o.conditionLimit;
  const m = s.mean;
  const axis = g % n;
  const axisStep = 0.1 * sigma * s.d[axis];
  let noEffect = true;
  for (let i = 0; i < n && noEffect; i++) {
    const dir = s.covariance === "full" ? s.b[i * n + axis] : i === axis ? 1 : 0;
    noEffect = m[i] + axisStep * dir === m[i];
  }
  if (noEffect) out.noEffectAxis = 0.1;
  for (let i = 0; i < n; i++) {
    if (m[i] + 0.2 * sigma * Math.sqrt(variance(s, i)) === m[i]) {
      out.noEffectCoord = 0.2;
      break;
    }
  }
  let maxD = 0;
  for (const v of s.d) maxD = Math.max(maxD, v);
  if (sigma / s.sigma0 > o.tolUpSigma * maxD) out.tolUpSigma = o.tolUpSigma;
  return out;
}
