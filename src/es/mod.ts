/**
 * Evolution strategies for ditto: CMA-ES (full covariance) and sep-CMA-ES (diagonal), with an
 * ask/tell interface, a seeded generator (src/random/) and JSON-safe checkpoints.
 *
 * @module
 */

export { CmaEs, l2Penalty } from "./cma_es.ts";
export type { CmaEsOptions, CmaEsStoredOptions, CovarianceModel } from "./cma_es/strategy.ts";
export type { BestSolution, CmaEsState } from "./cma_es/state.ts";
export type { StopCriterion, StopReasons } from "./cma_es/stop.ts";
export { decodeFloat64, encodeFloat64, type SymmetricEigen, symmetricEigen } from "./linalg.ts";
