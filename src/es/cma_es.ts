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

import { symmetricEigen } from "./linalg.ts";
import type { Random } from "../random/mod.ts";
import {
  type CmaEsOptions,
  type CmaEsStoredOptions,
  type CovarianceModel,
  setUp,
  type Strategy,
} from "./cma_es/strategy.ts";
import {
  type BestSolution,
  type CmaEsSnapshot,
  type CmaEsState,
  decodeState,
  encodeState,
  stateOptions,
} from "./cma_es/state.ts";
import { conditionNumber, type StopReasons, stopReasons, variance } from "./cma_es/stop.ts";

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
    const setup = setUp(x0, sigma0, options);
    const n = setup.strategy.n;
    this.#p = setup.strategy;
    this.#covariance = setup.covariance;
    this.#opts = setup.options;
    this.#rng = setup.rng;
    this.#sigma0 = sigma0;
    this.#sigma = sigma0;
    this.#mean = Float64Array.from(x0);
    this.#pc = new Float64Array(n);
    this.#ps = new Float64Array(n);
    this.#d = new Float64Array(n).fill(1);
    if (this.#covariance === "full") {
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
    const s = this.#snapshot();
    const out = new Float64Array(s.dimension);
    for (let i = 0; i < s.dimension; i++) out[i] = this.#sigma * Math.sqrt(variance(s, i));
    return out;
  }

  /** Condition number of the covariance matrix at its last decomposition. */
  get conditionNumber(): number {
    return conditionNumber(this.#d);
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
    return stopReasons(this.#snapshot());
  }

  /** The complete state, JSON-safe; {@linkcode CmaEs.fromState} continues from it exactly. */
  toState(): CmaEsState {
    return encodeState(this.#snapshot());
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
    const options = stateOptions(state);
    const es = new CmaEs(new Float64Array(state.dimension), state.sigma0, options);
    const run = decodeState(state, state.dimension);
    es.#sigma = run.sigma;
    es.#generation = run.generation;
    es.#evaluations = run.evaluations;
    es.#eigenGeneration = run.eigenGeneration;
    es.#mean = run.mean;
    es.#pc = run.pc;
    es.#ps = run.ps;
    es.#c = run.c;
    es.#b = run.b;
    es.#d = run.d;
    es.#lastFitness = run.lastFitness;
    es.#history = run.history;
    es.#best = run.best;
    es.#rng = run.rng;
    return es;
  }

  /** The whole run, with live arrays: read by the stop criteria and the checkpoint. */
  #snapshot(): CmaEsSnapshot {
    return {
      dimension: this.#p.n,
      popsize: this.#p.lambda,
      covariance: this.#covariance,
      options: this.#opts,
      sigma0: this.#sigma0,
      sigma: this.#sigma,
      generation: this.#generation,
      evaluations: this.#evaluations,
      eigenGeneration: this.#eigenGeneration,
      mean: this.#mean,
      pc: this.#pc,
      ps: this.#ps,
      c: this.#c,
      b: this.#b,
      d: this.#d,
      lastFitness: this.#lastFitness,
      history: this.#history,
      best: this.#best,
      rng: this.#rng,
    };
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
