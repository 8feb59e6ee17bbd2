/**
 * CMA-ES strategy parameters and options: the learning rates and weights that follow from n,
 * lambda and the covariance model (Hansen's tutorial; sep-CMA-ES rates for the diagonal model),
 * and the validation of {@linkcode CmaEs}'s constructor arguments with their defaults.
 *
 * @module
 */

import { Random, type SeedSource } from "../../random/mod.ts";

/** `"full"`: the complete covariance matrix; `"diagonal"`: sep-CMA-ES (linear time and space). */
export type CovarianceModel = "full" | "diagonal";

/** Options of {@linkcode CmaEs}. Exactly one of `seed` and `rng` is required. */
export interface CmaEsOptions {
  /** Integer seed of the optimiser's own generator. */
  seed?: number;
  /** A generator to draw the optimiser's seed from (e.g. a stage's `ctx.rng`); drawn once. */
  rng?: SeedSource;
  /** Population size lambda. Default 4 + floor(3 ln n). */
  popsize?: number;
  /** Covariance model. Default `"full"`. */
  covariance?: CovarianceModel;
  /** Maximise the fitness instead of minimising it. Default false. */
  maximize?: boolean;
  /**
   * Generations between eigendecompositions of a full covariance matrix. Default: Hansen's
   * lazy gap, once more than lambda / ((c1 + cmu) n 10) evaluations have passed.
   */
  eigenEvery?: number;
  /** Stop once the best fitness of a generation reaches this value. Default: none. */
  ftarget?: number;
  /** Stop after this many generations. Default 100 + 150 (n + 3)^2 / sqrt(lambda) (pycma). */
  maxIter?: number;
  /** Stop after this many evaluations. Default: no limit. */
  maxFevals?: number;
  /** Stop when recent best and current fitness values span less than this. Default 1e-11. */
  tolFun?: number;
  /** Stop when every coordinate's step sigma max(|pc_i|, sqrt(C_ii)) is below this. 1e-11. */
  tolX?: number;
  /** Stop when the covariance matrix's condition number exceeds this. Default 1e14. */
  conditionLimit?: number;
  /** Stop when sigma / sigma0 exceeds this times the largest sqrt-eigenvalue. Default 1e20. */
  tolUpSigma?: number;
}

/** Resolved options as stored in a checkpoint; null stands for "none" / infinity. */
export interface CmaEsStoredOptions {
  maximize: boolean;
  eigenEvery: number;
  ftarget: number | null;
  maxIter: number | null;
  maxFevals: number | null;
  tolFun: number;
  tolX: number;
  conditionLimit: number;
  tolUpSigma: number;
}

/** Strategy parameters, functions of n, lambda and the covariance model only. */
export interface Strategy {
  n: number;
  lambda: number;
  mu: number;
  weights: Float64Array;
  mueff: number;
  cc: number;
  cs: number;
  c1: number;
  cmu: number;
  damps: number;
  chiN: number;
  historyLength: number;
  defaultEigenEvery: number;
  defaultMaxIter: number;
}

/** The strategy parameters for dimension `n`, population `lambda` and the covariance model. */
export function strategy(n: number, lambda: number, covariance: CovarianceModel): Strategy {
  const mu = Math.floor(lambda / 2);
  const weights = new Float64Array(mu);
  let sum = 0;
  for (let i = 0; i < mu; i++) {
    weights[i] = Math.log((lambda + 1) / 2) - Math.log(i + 1);
    sum += weights[i];
  }
  let sumSq = 0;
  for (let i = 0; i < mu; i++) {
    weights[i] /= sum;
    sumSq += weights[i] * weights[i];
  }
  const mueff = 1 / sumSq;
  const cc = (4 + mueff / n) / (n + 4 + (2 * mueff) / n);
  const cs = (mueff + 2) / (n + mueff + 5);
  let c1 = 2 / ((n + 1.3) ** 2 + mueff);
  let cmu = Math.min(1 - c1, (2 * (mueff - 2 + 1 / mueff)) / ((n + 2) ** 2 + mueff));
  const damps = 1 + 2 * Math.max(0, Math.sqrt((mueff - 1) / (n + 1)) - 1) + cs;
  // Lazy gap of the tutorial's code: decompose when more than lambda/(c1+cmu)/n/10 evaluations
  // have passed, computed with the full-model rates.
  const gapGenerations = 1 / ((c1 + cmu) * n * 10);
  if (covariance === "diagonal") {
    // sep-CMA-ES: a diagonal matrix has n free parameters instead of n(n+1)/2, so it can learn
    // (n + 2) / 3 times faster (Ros & Hansen 2008).
    c1 = (c1 * (n + 2)) / 3;
    cmu = Math.min(1 - c1, (cmu * (n + 2)) / 3);
  }
  return {
    n,
    lambda,
    mu,
    weights,
    mueff,
    cc,
    cs,
    c1,
    cmu,
    damps,
    chiN: Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n)),
    historyLength: 10 + Math.ceil((30 * n) / lambda),
    defaultEigenEvery: Math.floor(gapGenerations) + 1,
    defaultMaxIter: Math.floor(100 + (150 * (n + 3) ** 2) / Math.sqrt(lambda)),
  };
}

function positiveOr(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new RangeError(
      `Cannot create CMA-ES: option ${name} must be a number >= 0, not ${value}`,
    );
  }
  return value;
}

function toJsonNumber(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** What {@linkcode setUp} derives from the constructor's arguments. */
export interface CmaEsSetup {
  /** Strategy parameters. */
  strategy: Strategy;
  /** Covariance model. */
  covariance: CovarianceModel;
  /** The optimiser's own generator. */
  rng: Random;
  /** Resolved options, as a checkpoint stores them. */
  options: CmaEsStoredOptions;
}

/**
 * Validates the arguments of {@linkcode CmaEs}'s constructor (in this order, which fixes which
 * error a bad call reports) and resolves the defaults.
 */
export function setUp(x0: ArrayLike<number>, sigma0: number, options: CmaEsOptions): CmaEsSetup {
  const n = x0?.length;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError("Cannot create CMA-ES: x0 must be a non-empty array of numbers");
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x0[i])) {
      throw new RangeError(`Cannot create CMA-ES: x0[${i}] is ${x0[i]}`);
    }
  }
  if (typeof sigma0 !== "number" || !Number.isFinite(sigma0) || sigma0 <= 0) {
    throw new RangeError(
      `Cannot create CMA-ES: sigma0 must be a finite number > 0, not ${sigma0}`,
    );
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError("Cannot create CMA-ES: options with a seed or an rng are required");
  }
  const covariance = options.covariance ?? "full";
  if (covariance !== "full" && covariance !== "diagonal") {
    throw new RangeError(
      `Cannot create CMA-ES: covariance must be "full" or "diagonal", not ${covariance}`,
    );
  }
  const lambda = options.popsize ?? 4 + Math.floor(3 * Math.log(n));
  if (!Number.isInteger(lambda) || lambda < 2) {
    throw new RangeError(`Cannot create CMA-ES: popsize must be an integer >= 2, not ${lambda}`);
  }
  if ((options.seed === undefined) === (options.rng === undefined)) {
    throw new TypeError("Cannot create CMA-ES: give exactly one of the options seed and rng");
  }
  const rng = options.seed !== undefined
    ? Random.splitMix(options.seed)
    : Random.fromSource(options.rng as SeedSource);

  const p = strategy(n, lambda, covariance);
  const eigenEvery = options.eigenEvery ?? p.defaultEigenEvery;
  if (!Number.isInteger(eigenEvery) || eigenEvery < 1) {
    throw new RangeError(
      `Cannot create CMA-ES: eigenEvery must be an integer >= 1, not ${eigenEvery}`,
    );
  }
  if (options.ftarget !== undefined && Number.isNaN(options.ftarget)) {
    throw new RangeError("Cannot create CMA-ES: ftarget is NaN");
  }
  return {
    strategy: p,
    covariance,
    rng,
    options: {
      maximize: options.maximize === true,
      eigenEvery,
      ftarget: options.ftarget ?? null,
      maxIter: toJsonNumber(positiveOr(options.maxIter, p.defaultMaxIter, "maxIter")),
      maxFevals: toJsonNumber(positiveOr(options.maxFevals, Infinity, "maxFevals")),
      tolFun: positiveOr(options.tolFun, 1e-11, "tolFun"),
      tolX: positiveOr(options.tolX, 1e-11, "tolX"),
      conditionLimit: positiveOr(options.conditionLimit, 1e14, "conditionLimit"),
      tolUpSigma: positiveOr(options.tolUpSigma, 1e20, "tolUpSigma"),
    },
  };
}
