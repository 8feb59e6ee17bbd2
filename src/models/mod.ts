/**
 * The World Models networks and the TensorFlow.js backend they run on.
 *
 * @module
 */
export * from "./backend/mod.ts";
export * from "./vae.ts";
export * from "./vae_parallel.ts";
export * from "./lstm.ts";
export * from "./mdn_rnn.ts";
export * from "./controller.ts";
