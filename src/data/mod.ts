/**
 * Datasets on disk in formats NumPy reads: `.npy` arrays and rollout datasets.
 *
 * @module
 */

export * from "./float16.ts";
export * from "./npy/mod.ts";
export * from "./rollouts.ts";
export * from "./series.ts";
