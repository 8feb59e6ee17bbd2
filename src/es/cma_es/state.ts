/**
 * CMA-ES checkpoints: the JSON-safe {@linkcode CmaEsState} and its conversion to and from the
 * fields a run consists of. Float arrays travel as base64 float64 bytes, so a restored run
 * continues bit for bit.
 *
 * @module
 */

import { decodeFloat64, encodeFloat64 } from "../linalg.ts";
import { Random, type RandomState } from "../../random/mod.ts";
import type { CmaEsOptions, CmaEsStoredOptions, CovarianceModel } from "./strategy.ts";

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

/** The fields of a run that change as it goes (live arrays, not copies). */
export interface CmaEsRun {
  sigma: number;
  generation: number;
  evaluations: number;
  eigenGeneration: number;
  mean: Float64Array;
  pc: Float64Array;
  ps: Float64Array;
  /** Full: n x n row-major, only the lower triangle is kept current. Diagonal: n variances. */
  c: Float64Array;
  /** Full: eigenvectors as columns, row-major. Diagonal: unused (empty). */
  b: Float64Array;
  /** sqrt of the eigenvalues (diagonal: of the variances). */
  d: Float64Array;
  lastFitness: Float64Array;
  history: number[];
  best: BestSolution | null;
  rng: Random;
}

/** A whole run: what a checkpoint stores and what the stop criteria read. */
export interface CmaEsSnapshot extends CmaEsRun {
  dimension: number;
  popsize: number;
  covariance: CovarianceModel;
  options: CmaEsStoredOptions;
  sigma0: number;
}

/** The JSON-safe state of a run. */
export function encodeState(s: CmaEsSnapshot): CmaEsState {
  const n = s.dimension;
  let c: Float64Array;
  if (s.covariance === "full") {
    c = new Float64Array((n * (n + 1)) / 2);
    let k = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) c[k++] = s.c[i * n + j];
    }
  } else {
    c = s.c;
  }
  const best = s.best;
  return {
    format: "ditto/cma-es",
    version: 1,
    dimension: n,
    popsize: s.popsize,
    covariance: s.covariance,
    options: { ...s.options },
    sigma0: s.sigma0,
    sigma: s.sigma,
    generation: s.generation,
    evaluations: s.evaluations,
    eigenGeneration: s.eigenGeneration,
    mean: encodeFloat64(s.mean),
    pc: encodeFloat64(s.pc),
    ps: encodeFloat64(s.ps),
    c: encodeFloat64(c),
    b: s.covariance === "full" ? encodeFloat64(s.b) : null,
    d: encodeFloat64(s.d),
    lastFitness: encodeFloat64(s.lastFitness),
    history: encodeFloat64(s.history),
    best: best && {
      x: encodeFloat64(best.x),
      fitness: encodeFloat64([best.fitness]),
      evaluation: best.evaluation,
      generation: best.generation,
    },
    rng: s.rng.toState(),
  };
}

/**
 * Checks the format of `state` and returns the constructor options that rebuild its run's
 * configuration (the seed is a placeholder: the generator is restored by {@linkcode decodeState}).
 *
 * @throws {TypeError} when the state is not a CMA-ES state of this format.
 */
export function stateOptions(state: CmaEsState): CmaEsOptions {
  if (state?.format !== "ditto/cma-es" || state.version !== 1) {
    throw new TypeError(
      `Cannot restore CMA-ES: expected format "ditto/cma-es" version 1, got ${state?.format} version ${state?.version}`,
    );
  }
  const o = state.options;
  if (o === null || typeof o !== "object") {
    throw new TypeError("Cannot restore CMA-ES: the state has no options");
  }
  return {
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
  };
}

/** Decodes the changing fields of `state`, a run of dimension `n` (after {@linkcode stateOptions}). */
export function decodeState(state: CmaEsState, n: number): CmaEsRun {
  for (const key of ["sigma", "generation", "evaluations", "eigenGeneration"] as const) {
    if (typeof state[key] !== "number" || !Number.isFinite(state[key])) {
      throw new TypeError(`Cannot restore CMA-ES: ${key} is ${state[key]}`);
    }
  }
  const mean = decodeFloat64(state.mean, n);
  const pc = decodeFloat64(state.pc, n);
  const ps = decodeFloat64(state.ps, n);
  const d = decodeFloat64(state.d, n);
  let c: Float64Array;
  let b: Float64Array;
  if (state.covariance === "full") {
    const packed = decodeFloat64(state.c, (n * (n + 1)) / 2);
    c = new Float64Array(n * n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) c[i * n + j] = packed[k++];
    }
    b = decodeFloat64(state.b ?? "", n * n);
  } else {
    c = decodeFloat64(state.c, n);
    b = new Float64Array(0);
  }
  const lastFitness = decodeFloat64(state.lastFitness);
  const history = Array.from(decodeFloat64(state.history));
  const stored = state.best;
  const best = stored && {
    x: decodeFloat64(stored.x, n),
    fitness: decodeFloat64(stored.fitness, 1)[0],
    evaluation: stored.evaluation,
    generation: stored.generation,
  };
  return {
    sigma: state.sigma,
    generation: state.generation,
    evaluations: state.evaluations,
    eigenGeneration: state.eigenGeneration,
    mean,
    pc,
    ps,
    c,
    b,
    d,
    lastFitness,
    history,
    best,
    rng: Random.fromState(state.rng),
  };
}
