/**
 * Evolution strategies for ditto: CMA-ES (full covariance) and sep-CMA-ES (diagonal), with an
 * ask/tell interface, a seeded generator (src/random/) and JSON-safe checkpoints.
 *
 * @module
 */

export {
  type BestSolution,
  CmaEs,
  type CmaEsOptions,
  type CmaEsState,
  type CmaEsStoredOptions,
  type CovarianceModel,
  l2Penalty,
  type StopCriterion,
  type StopReasons,
} from "./cma_es.ts";
export { decodeFloat64, encodeFloat64, type SymmetricEigen, symmetricEigen } from "./linalg.ts";
