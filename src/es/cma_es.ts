/**
 * CMA-ES, the covariance matrix adaptation evolution strategy, as in N. Hansen, "The CMA
 * Evolution Strategy: A Tutorial" (arXiv:1604.00772, 2016): weighted recombination with positive
 * log weights, cumulative step-size adaptation, rank-one and rank-mu covariance updates with the
 * h_sigma stall, and a lazy eigendecomposition. `covariance: "diagonal"` gives sep-CMA-ES
 * (R. Ros & N. Hansen, "A Simple Modification in CMA-ES Achieving Linear Time and Space
 * Complexity", PPSN 2008), for large dimensions.
 *
 * The caller evaluates the candidates: `ask()` samples, `tell()` updates, `stop()` reports the
 * termination criteria that hold (it never throws), and `toState()`/`CmaEs.fromState()` make a
 * JSON-safe checkpoint from which the run continues bit for bit.
 *
 * @example
 * ```ts
 * import { CmaEs } from "./mod.ts";
 * const es = new CmaEs(new Float64Array(10).fill(1), 0.5, { seed: 1 });
 * while (Object.keys(es.stop()).length === 0) {
 *   const xs = es.ask();
 *   es.tell(xs, xs.map((x) => x.reduce((s, v) => s + v * v, 0)));
 * }
 * console.log(es.best?.fitness);
 * ```
 *
 * @module
 */

import { decodeFloat64, encodeFloat64, symmetricEigen } from "./linalg.ts";
import { Random, type RandomState, type SeedSource } from "../random/mod.ts";

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

/** The best candidate told so far. */
export interface BestSolution {
  /** The candidate (a copy). */
  x: Float64Array;
  /** Its fitness, in the caller's sign (not negated when maximising). */
  fitness: number;
  /** The evaluation count at which it was told (1-based). */
  evaluation: number;
  /** The generation in which it was told (1-based). */
  generation: number;
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

/**
 * The complete, JSON-safe state of a {@linkcode CmaEs}. Float arrays are base64 strings of their
 * little-endian float64 bytes, so values (including infinities) round-trip exactly.
 */
export interface CmaEsState {
  format: "ditto/cma-es";
  version: 1;
  dimension: number;
  popsize: number;
  covariance: CovarianceModel;
  options: CmaEsStoredOptions;
  sigma0: number;
  sigma: number;
  generation: number;
  evaluations: number;
  eigenGeneration: number;
  mean: string;
  pc: string;
  ps: string;
  /** Full model: packed lower triangle, row by row; diagonal model: the diagonal. */
  c: string;
  /** Full model: row-major eigenvector matrix; diagonal model: null. */
  b: string | null;
  /** Square roots of the eigenvalues (diagonal model: of the variances). */
  d: string;
  /** Sorted (minimisation-sign) fitness values of the last generation. */
  lastFitness: string;
  /** Best (minimisation-sign) fitness of each recent generation, oldest first. */
  history: string;
  best: { x: string; fitness: string; evaluation: number; generation: number } | null;
  rng: RandomState;
}

/** Strategy parameters, functions of n, lambda and the covariance model only. */
interface Strategy {
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

function strategy(n: number, lambda: number, covariance: CovarianceModel): Strategy {
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

/**
 * CMA-ES with an ask/tell interface. Minimises by default (`maximize: true` to maximise).
 */
export class CmaEs {
  #p: Strategy;
  #covariance: CovarianceModel;
  #opts: CmaEsStoredOptions;
  #rng: Random;
  #sigma0: number;
  #sigma: number;
  #generation = 0;
  #evaluations = 0;
  #eigenGeneration = 0;
  #mean: Float64Array;
  #pc: Float64Array;
  #ps: Float64Array;
  /** Full: n x n row-major, only the lower triangle is kept current. Diagonal: n variances. */
  #c: Float64Array;
  /** Full: eigenvectors as columns, row-major. Diagonal: unused (empty). */
  #b: Float64Array;
  /** sqrt of the eigenvalues (diagonal: of the variances). */
  #d: Float64Array;
  #lastFitness: Float64Array = new Float64Array(0);
  #history: number[] = [];
  #best: BestSolution | null = null;

  /**
   * Creates an optimiser around the initial mean `x0` with initial step size `sigma0`.
   *
   * @param x0 Initial mean (its length is the dimension n).
   * @param sigma0 Initial step size: the standard deviation of every coordinate at the start.
   * @param options Seed or RNG (required), population size, covariance model, stop criteria.
   */
  constructor(x0: ArrayLike<number>, sigma0: number, options: CmaEsOptions) {
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
    this.#rng = options.seed !== undefined
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
    this.#p = p;
    this.#covariance = covariance;
    this.#opts = {
      maximize: options.maximize === true,
      eigenEvery,
      ftarget: options.ftarget ?? null,
      maxIter: toJsonNumber(positiveOr(options.maxIter, p.defaultMaxIter, "maxIter")),
      maxFevals: toJsonNumber(positiveOr(options.maxFevals, Infinity, "maxFevals")),
      tolFun: positiveOr(options.tolFun, 1e-11, "tolFun"),
      tolX: positiveOr(options.tolX, 1e-11, "tolX"),
      conditionLimit: positiveOr(options.conditionLimit, 1e14, "conditionLimit"),
      tolUpSigma: positiveOr(options.tolUpSigma, 1e20, "tolUpSigma"),
    };
    this.#sigma0 = sigma0;
    this.#sigma = sigma0;
    this.#mean = Float64Array.from(x0);
    this.#pc = new Float64Array(n);
    this.#ps = new Float64Array(n);
    this.#d = new Float64Array(n).fill(1);
    if (covariance === "full") {
      this.#c = new Float64Array(n * n);
      this.#b = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        this.#c[i * n + i] = 1;
        this.#b[i * n + i] = 1;
      }
    } else {
      this.#c = new Float64Array(n).fill(1);
      this.#b = new Float64Array(0);
    }
  }

  /** Search-space dimension n. */
  get dimension(): number {
    return this.#p.n;
  }

  /** Population size lambda: the number of candidates per `ask()`. */
  get popsize(): number {
    return this.#p.lambda;
  }

  /** Number of parents mu (candidates with a positive recombination weight). */
  get mu(): number {
    return this.#p.mu;
  }

  /** Variance-effective selection mass mu_eff. */
  get mueff(): number {
    return this.#p.mueff;
  }

  /** Covariance model in use. */
  get covariance(): CovarianceModel {
    return this.#covariance;
  }

  /** Whether fitness is maximised. */
  get maximize(): boolean {
    return this.#opts.maximize;
  }

  /** Completed generations (calls of `tell`). */
  get generation(): number {
    return this.#generation;
  }

  /** Evaluations told so far. */
  get evaluations(): number {
    return this.#evaluations;
  }

  /** Current step size sigma. */
  get sigma(): number {
    return this.#sigma;
  }

  /** Current distribution mean (a copy): the best estimate of the optimum. */
  get mean(): Float64Array {
    return this.#mean.slice();
  }

  /** Best candidate told so far, or null before the first `tell`. */
  get best(): BestSolution | null {
    const b = this.#best;
    return b && { ...b, x: b.x.slice() };
  }

  /** Per-coordinate standard deviations sigma sqrt(C_ii) of the sampling distribution. */
  get stds(): Float64Array {
    const n = this.#p.n;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#sigma * Math.sqrt(this.#variance(i));
    return out;
  }

  /** Condition number of the covariance matrix at its last decomposition. */
  get conditionNumber(): number {
    let max = -Infinity, min = Infinity;
    for (const v of this.#d) {
      max = Math.max(max, v * v);
      min = Math.min(min, v * v);
    }
    return max / min;
  }

  #variance(i: number): number {
    return this.#covariance === "full" ? this.#c[i * this.#p.n + i] : this.#c[i];
  }

  /**
   * Samples `popsize` new candidates x_k = m + sigma B D z_k, z_k ~ N(0, I). Each call draws
   * fresh candidates; pass them, evaluated, to `tell`.
   */
  ask(): Float64Array[] {
    const { n, lambda } = this.#p;
    const full = this.#covariance === "full";
    const b = this.#b, d = this.#d, m = this.#mean, sigma = this.#sigma;
    const t = new Float64Array(n);
    const out: Float64Array[] = [];
    for (let k = 0; k < lambda; k++) {
      for (let j = 0; j < n; j++) t[j] = d[j] * this.#rng.normal();
      const x = new Float64Array(n);
      if (full) {
        for (let i = 0; i < n; i++) {
          let s = 0;
          const row = i * n;
          for (let j = 0; j < n; j++) s += b[row + j] * t[j];
          x[i] = m[i] + sigma * s;
        }
      } else {
        for (let i = 0; i < n; i++) x[i] = m[i] + sigma * t[i];
      }
      out.push(x);
    }
    return out;
  }

  /**
   * Updates the distribution from `popsize` evaluated candidates (normally those of the last
   * `ask`, possibly rounded or otherwise altered by the caller).
   *
   * @param candidates The evaluated points, each of length n.
   * @param fitnesses Their fitness values (minimised, or maximised with `maximize: true`).
   * @throws {RangeError} on a wrong count or length, a non-finite coordinate or a NaN fitness.
   */
  tell(candidates: ArrayLike<ArrayLike<number>>, fitnesses: ArrayLike<number>): void {
    const p = this.#p;
    const { n, lambda, mu, weights } = p;
    if (candidates?.length !== lambda || fitnesses?.length !== lambda) {
      throw new RangeError(
        `Cannot tell: expected ${lambda} candidates and ${lambda} fitness values, got ${candidates?.length} and ${fitnesses?.length}`,
      );
    }
    const sign = this.#opts.maximize ? -1 : 1;
    const f = new Float64Array(lambda);
    for (let k = 0; k < lambda; k++) {
      const x = candidates[k];
      if (x?.length !== n) {
        throw new RangeError(`Cannot tell: candidate ${k} has ${x?.length} coordinates, not ${n}`);
      }
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(x[i])) {
          throw new RangeError(`Cannot tell: coordinate ${i} of candidate ${k} is ${x[i]}`);
        }
      }
      const v = fitnesses[k];
      if (typeof v !== "number" || Number.isNaN(v)) {
        throw new RangeError(`Cannot tell: the fitness of candidate ${k} is ${v}`);
      }
      f[k] = sign * v;
    }
    // Stable ranking: ties keep the order in which the candidates were given.
    const order = Array.from({ length: lambda }, (_, k) => k).sort((a, b) => f[a] - f[b] || a - b);

    this.#generation += 1;
    this.#evaluations += lambda;
    const g = this.#generation;
    const bestK = order[0];
    if (this.#best === null || f[bestK] < sign * this.#best.fitness) {
      this.#best = {
        x: Float64Array.from(candidates[bestK]),
        fitness: fitnesses[bestK],
        evaluation: this.#evaluations - lambda + bestK + 1,
        generation: g,
      };
    }
    this.#lastFitness = Float64Array.from(order, (k) => f[k]);
    this.#history.push(f[bestK]);
    if (this.#history.length > p.historyLength) this.#history.shift();

    // Selected steps y_k = (x_k - m_old) / sigma and the new mean.
    const sigma = this.#sigma;
    const mOld = this.#mean;
    const ys: Float64Array[] = [];
    const mNew = new Float64Array(n);
    const yw = new Float64Array(n);
    for (let r = 0; r < mu; r++) {
      const x = candidates[order[r]];
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        y[i] = (x[i] - mOld[i]) / sigma;
        yw[i] += weights[r] * y[i];
      }
      ys.push(y);
    }
    for (let i = 0; i < n; i++) mNew[i] = mOld[i] + sigma * yw[i];
    this.#mean = mNew;

    // Cumulation: p_sigma with C^(-1/2) y_w, then p_c stalled by h_sigma.
    const { cs, cc, c1, cmu, mueff, chiN, damps } = p;
    const invSqrtY = this.#invSqrtC(yw);
    const csn = Math.sqrt(cs * (2 - cs) * mueff);
    let psNorm2 = 0;
    for (let i = 0; i < n; i++) {
      this.#ps[i] = (1 - cs) * this.#ps[i] + csn * invSqrtY[i];
      psNorm2 += this.#ps[i] * this.#ps[i];
    }
    const psNorm = Math.sqrt(psNorm2);
    const hsig = psNorm / Math.sqrt(1 - (1 - cs) ** (2 * g)) / chiN < 1.4 + 2 / (n + 1) ? 1 : 0;
    const ccn = hsig * Math.sqrt(cc * (2 - cc) * mueff);
    for (let i = 0; i < n; i++) this.#pc[i] = (1 - cc) * this.#pc[i] + ccn * yw[i];

    // Covariance: decay, rank-one update with p_c, rank-mu update with the selected steps.
    // (1 - hsig) c1 cc (2 - cc) compensates the variance lost when p_c is stalled.
    const decay = 1 - c1 - cmu + (1 - hsig) * c1 * cc * (2 - cc);
    const pc = this.#pc, c = this.#c;
    if (this.#covariance === "full") {
      for (let i = 0; i < n; i++) {
        const row = i * n;
        const a = c1 * pc[i];
        for (let j = 0; j <= i; j++) c[row + j] = decay * c[row + j] + a * pc[j];
      }
      for (let r = 0; r < mu; r++) {
        const y = ys[r];
        const w = cmu * weights[r];
        for (let i = 0; i < n; i++) {
          const row = i * n;
          const a = w * y[i];
          for (let j = 0; j <= i; j++) c[row + j] += a * y[j];
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        let rankMu = 0;
        for (let r = 0; r < mu; r++) rankMu += weights[r] * ys[r][i] * ys[r][i];
        c[i] = decay * c[i] + c1 * pc[i] * pc[i] + cmu * rankMu;
      }
    }

    // Cumulative step-size adaptation; the exponent is capped at 1 as in pycma, so one
    // generation can grow sigma at most by a factor e.
    this.#sigma = sigma * Math.exp(Math.min(1, (cs / damps) * (psNorm / chiN - 1)));

    if (this.#covariance === "full") {
      if (g - this.#eigenGeneration >= this.#opts.eigenEvery) this.#decompose();
    } else {
      for (let i = 0; i < n; i++) this.#d[i] = Math.sqrt(c[i]);
    }
  }

  /** C^(-1/2) v = B D^-1 B^T v with the decomposition in use. */
  #invSqrtC(v: Float64Array): Float64Array {
    const n = this.#p.n;
    const d = this.#d;
    const out = new Float64Array(n);
    if (this.#covariance === "diagonal") {
      for (let i = 0; i < n; i++) out[i] = v[i] / d[i];
      return out;
    }
    const b = this.#b;
    const t = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const row = i * n;
      const vi = v[i];
      for (let j = 0; j < n; j++) t[j] += b[row + j] * vi;
    }
    for (let j = 0; j < n; j++) t[j] /= d[j];
    for (let i = 0; i < n; i++) {
      let s = 0;
      const row = i * n;
      for (let j = 0; j < n; j++) s += b[row + j] * t[j];
      out[i] = s;
    }
    return out;
  }

  #decompose(): void {
    const n = this.#p.n;
    const c = this.#c;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) c[j * n + i] = c[i * n + j];
    }
    const { values, vectors } = symmetricEigen(c, n);
    const max = values[n - 1];
    if (!(max > 0)) {
      throw new RangeError(`Cannot update CMA-ES: the covariance matrix degenerated (max ${max})`);
    }
    const floor = max * 1e-17;
    if (values[0] < floor) {
      // Rounding made C (nearly) singular or indefinite: add a multiple of the identity, which
      // shifts every eigenvalue and keeps the eigenvectors (as pycma does).
      const shift = floor - values[0];
      for (let i = 0; i < n; i++) {
        c[i * n + i] += shift;
        values[i] += shift;
      }
    }
    for (let i = 0; i < n; i++) this.#d[i] = Math.sqrt(values[i]);
    this.#b = vectors;
    this.#eigenGeneration = this.#generation;
  }

  /**
   * The termination criteria that hold now, each with its threshold, e.g. `{ tolFun: 1e-11 }`;
   * an empty object while none holds. Reporting never stops anything: the caller decides.
   */
  stop(): StopReasons {
    const out: StopReasons = {};
    const o = this.#opts;
    const { n } = this.#p;
    const g = this.#generation;
    if (o.maxIter !== null && g >= o.maxIter) out.maxIter = o.maxIter;
    if (o.maxFevals !== null && this.#evaluations >= o.maxFevals) out.maxFevals = o.maxFevals;
    if (g === 0) return out;
    const sign = o.maximize ? -1 : 1;
    if (o.ftarget !== null && this.#lastFitness[0] <= sign * o.ftarget) out.ftarget = o.ftarget;
    if (g >= 2) {
      let lo = Infinity, hi = -Infinity;
      for (const v of this.#history) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      for (const v of this.#lastFitness) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      if (hi - lo < o.tolFun) out.tolFun = o.tolFun;
    }
    const sigma = this.#sigma;
    let allSmall = true;
    for (let i = 0; i < n && allSmall; i++) {
      const step = sigma * Math.max(Math.abs(this.#pc[i]), Math.sqrt(this.#variance(i)));
      allSmall = step < o.tolX;
    }
    if (allSmall) out.tolX = o.tolX;
    if (this.conditionNumber > o.conditionLimit) out.conditionCov = o.conditionLimit;
    const m = this.#mean;
    const axis = g % n;
    const axisStep = 0.1 * sigma * this.#d[axis];
    let noEffect = true;
    for (let i = 0; i < n && noEffect; i++) {
      const dir = this.#covariance === "full" ? this.#b[i * n + axis] : i === axis ? 1 : 0;
      noEffect = m[i] + axisStep * dir === m[i];
    }
    if (noEffect) out.noEffectAxis = 0.1;
    for (let i = 0; i < n; i++) {
      if (m[i] + 0.2 * sigma * Math.sqrt(this.#variance(i)) === m[i]) {
        out.noEffectCoord = 0.2;
        break;
      }
    }
    let maxD = 0;
    for (const v of this.#d) maxD = Math.max(maxD, v);
    if (sigma / this.#sigma0 > o.tolUpSigma * maxD) out.tolUpSigma = o.tolUpSigma;
    return out;
  }

  /** The complete state, JSON-safe; {@linkcode CmaEs.fromState} continues from it exactly. */
  toState(): CmaEsState {
    const { n } = this.#p;
    let c: Float64Array;
    if (this.#covariance === "full") {
      c = new Float64Array((n * (n + 1)) / 2);
      let k = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) c[k++] = this.#c[i * n + j];
      }
    } else {
      c = this.#c;
    }
    const best = this.#best;
    return {
      format: "ditto/cma-es",
      version: 1,
      dimension: n,
      popsize: this.#p.lambda,
      covariance: this.#covariance,
      options: { ...this.#opts },
      sigma0: this.#sigma0,
      sigma: this.#sigma,
      generation: this.#generation,
      evaluations: this.#evaluations,
      eigenGeneration: this.#eigenGeneration,
      mean: encodeFloat64(this.#mean),
      pc: encodeFloat64(this.#pc),
      ps: encodeFloat64(this.#ps),
      c: encodeFloat64(c),
      b: this.#covariance === "full" ? encodeFloat64(this.#b) : null,
      d: encodeFloat64(this.#d),
      lastFitness: encodeFloat64(this.#lastFitness),
      history: encodeFloat64(this.#history),
      best: best && {
        x: encodeFloat64(best.x),
        fitness: encodeFloat64([best.fitness]),
        evaluation: best.evaluation,
        generation: best.generation,
      },
      rng: this.#rng.toState(),
    };
  }

  /** Same as {@linkcode CmaEs.prototype.toState}, so `JSON.stringify(es)` gives a checkpoint. */
  toJSON(): CmaEsState {
    return this.toState();
  }

  /**
   * Restores an optimiser from {@linkcode CmaEs.prototype.toState} (or its JSON round trip).
   *
   * @throws {TypeError} when the state is not a CMA-ES state of this format.
   */
  static fromState(state: CmaEsState): CmaEs {
    if (state?.format !== "ditto/cma-es" || state.version !== 1) {
      throw new TypeError(
        `Cannot restore CMA-ES: expected format "ditto/cma-es" version 1, got ${state?.format} version ${state?.version}`,
      );
    }
    const n = state.dimension;
    const o = state.options;
    if (o === null || typeof o !== "object") {
      throw new TypeError("Cannot restore CMA-ES: the state has no options");
    }
    const es = new CmaEs(new Float64Array(n), state.sigma0, {
      seed: 0,
      popsize: state.popsize,
      covariance: state.covariance,
      maximize: o.maximize,
      eigenEvery: o.eigenEvery,
      ftarget: o.ftarget ?? undefined,
      maxIter: o.maxIter ?? Infinity,
      maxFevals: o.maxFevals ?? Infinity,
      tolFun: o.tolFun,
      tolX: o.tolX,
      conditionLimit: o.conditionLimit,
      tolUpSigma: o.tolUpSigma,
    });
    for (const key of ["sigma", "generation", "evaluations", "eigenGeneration"] as const) {
      if (typeof state[key] !== "number" || !Number.isFinite(state[key])) {
        throw new TypeError(`Cannot restore CMA-ES: ${key} is ${state[key]}`);
      }
    }
    es.#sigma = state.sigma;
    es.#generation = state.generation;
    es.#evaluations = state.evaluations;
    es.#eigenGeneration = state.eigenGeneration;
    es.#mean = decodeFloat64(state.mean, n);
    es.#pc = decodeFloat64(state.pc, n);
    es.#ps = decodeFloat64(state.ps, n);
    es.#d = decodeFloat64(state.d, n);
    if (state.covariance === "full") {
      const packed = decodeFloat64(state.c, (n * (n + 1)) / 2);
      let k = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) es.#c[i * n + j] = packed[k++];
      }
      es.#b = decodeFloat64(state.b ?? "", n * n);
    } else {
      es.#c = decodeFloat64(state.c, n);
    }
    es.#lastFitness = decodeFloat64(state.lastFitness);
    es.#history = Array.from(decodeFloat64(state.history));
    const best = state.best;
    es.#best = best && {
      x: decodeFloat64(best.x, n),
      fitness: decodeFloat64(best.fitness, 1)[0],
      evaluation: best.evaluation,
      generation: best.generation,
    };
    es.#rng = Random.fromState(state.rng);
    return es;
  }
}

/**
 * L2 weight decay as in the World Models CMA-ES wrapper: `coefficient * mean(x_i^2)`. Subtract it
 * from a return that is maximised (or add it to a loss that is minimised) before `tell`.
 */
export function l2Penalty(x: ArrayLike<number>, coefficient: number): number {
  if (x.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return (coefficient * s) / x.length;
}
