/**
 * Batched CarRacing environments stepped across Deno Workers.
 *
 * @example Usage
 * ```ts
 * import { VectorEnv } from "./mod.ts";
 * const venv = await VectorEnv.create({ n: 4 });
 * await venv.reset([1, 2, 3, 4]);
 * await venv.close();
 * ```
 *
 * @module
 */

export {
  VectorEnv,
  type VectorEnvOptions,
  type VectorInfo,
  type VectorResetResult,
  type VectorStepResult,
} from "./vector_env.ts";
