/**
 * Environments: CarRacing (gym v0 on box2d-wasm) and a Worker-based vector runner.
 *
 * @example Usage
 * ```ts
 * import { CarRacing, VectorEnv } from "./mod.ts";
 * const env = await CarRacing.create({ observation: "pixels64" });
 * env.reset({ seed: 1 });
 * env.close();
 * ```
 *
 * @module
 */

export * from "./car_racing/mod.ts";
export * from "./vector/mod.ts";
