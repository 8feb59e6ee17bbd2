/**
 * Backend selection for ditto's models: `initBackend({ backend })` picks and initialises the
 * TensorFlow.js backend (`wasm` by default, `cpu`, or the optional `tensorflow`) and returns a
 * description to record in run.json. The wasm backend gets ditto's fast convolution-gradient
 * kernels.
 *
 * @module
 */
export * from "./backend.ts";
export { registerWasmKernels, WASM_KERNEL_CONFIGS, wasmKernelTuning } from "./wasm_kernels.ts";
export { fileHandler, WEIGHTS_FILE } from "./layers_io.ts";
