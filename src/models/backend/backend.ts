/**
 * Chooses, initialises and describes the TensorFlow.js backend.
 *
 * Four backends are supported:
 * - `wasm` (default): the XNNPACK-based WebAssembly backend, with this project's fast
 *   convolution-gradient kernels registered on top (see `wasm_kernels.ts`).
 * - `cpu`: the plain JavaScript backend (slow; the numerical reference in tests).
 * - `tensorflow`: libtensorflow through `@tensorflow/tfjs-node-gpu`, else `@tensorflow/tfjs-node`.
 *   These packages are not dependencies of ditto: their install downloads libtensorflow, so the
 *   user opts in (see {@linkcode TENSORFLOW_INSTALL_HELP}). They are loaded by dynamic import only
 *   when asked for.
 * - `webgpu`: `@tensorflow/tfjs-backend-webgpu` on Deno's WebGPU (`navigator.gpu`), loaded only
 *   when asked for (imported, it would outrank `wasm` as tfjs's default). It needs an adapter:
 *   a GPU, or a software one such as Mesa's llvmpipe; {@linkcode BackendInfo.adapter} says
 *   which. It cannot read tensors synchronously (`dataSync` needs a canvas Deno does not
 *   have), so callers read with `await tensor.data()` (e.g. `ConvVAE.trainStepAsync`).
 *
 * Works the same in the main thread and inside Deno Workers.
 *
 * @module
 */
import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs-core";
// The union package registers the gradient functions (tfjs-core alone does not).
import "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmKernels } from "./wasm_kernels.ts";

/** The backends ditto can run on. */
export const BACKEND_NAMES = ["wasm", "cpu", "tensorflow", "webgpu"] as const;

/**
 * The backends that can read a tensor synchronously (`dataSync`), all but `webgpu`: what the
 * stages that read synchronously (the encoder engine's weights, the driver) accept.
 */
export const SYNC_BACKEND_NAMES = ["wasm", "cpu", "tensorflow"] as const;

/** One of {@linkcode BACKEND_NAMES}. */
export type BackendName = typeof BACKEND_NAMES[number];

/** The backend used when none is asked for. */
export const DEFAULT_BACKEND: BackendName = "wasm";

/** What {@linkcode initBackend} returns: a JSON-safe description to record in run.json. */
export interface BackendInfo {
  /** The backend asked for. */
  name: BackendName;
  /** The name tfjs registered it under (`wasm`, `cpu`, `tensorflow`). */
  tfjsBackend: string;
  /** The npm package that provides it and its version. */
  package: string;
  /** Version of that package. */
  version: string;
  /** Version of @tensorflow/tfjs-core. */
  tfjsCoreVersion: string;
  /** Whether WebAssembly SIMD is in use (`false` for non-wasm backends). */
  simd: boolean;
  /** Compute threads of the backend (`null` when the backend does not say). */
  threads: number | null;
  /** Whether ditto's fast wasm convolution-gradient kernels are registered. */
  fastKernels: boolean;
  /** The WebGPU adapter in use (only for `webgpu`). */
  adapter?: WebGpuAdapterInfo;
}

/** What Deno's WebGPU says of an adapter (`GPUAdapter.info`), recorded in run.json. */
export interface WebGpuAdapterInfo {
  /** Vendor (a name, or the PCI vendor id as a string). */
  vendor: string;
  /** Architecture family; may be empty. */
  architecture: string;
  /** Device (a name, or the PCI device id as a string). */
  device: string;
  /** Human-readable description, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** Whether it is a fallback (software) adapter, as the implementation reports it. */
  isFallbackAdapter: boolean;
}

/** Options of {@linkcode initBackend}. */
export interface InitBackendOptions {
  /** Which backend to use; default {@linkcode DEFAULT_BACKEND}. */
  backend?: BackendName;
  /**
   * Register ditto's fast kernels for the wasm backend (default true). Without them the wasm
   * backend cannot train convolutional networks (no Conv2DBackpropFilter kernel).
   */
  fastKernels?: boolean;
}

/** Thrown when a backend cannot be loaded on this machine. */
export class BackendUnavailableError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackendUnavailableError";
  }
}

/** How to install the optional `tensorflow` backend; part of its error message. */
export const TENSORFLOW_INSTALL_HELP = [
  "The 'tensorflow' backend needs @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu",
  "(CUDA), which download libtensorflow when installed. Install one, matching tfjs 4.22.0:",
  "  deno add npm:@tensorflow/tfjs-node@4.22.0",
  "  deno install --allow-scripts=npm:@tensorflow/tfjs-node@4.22.0",
  "(or the same with tfjs-node-gpu), then run again with --backend tensorflow.",
].join("\n");

/**
 * Checks that `name` is a backend ditto knows.
 *
 * @example
 * ```ts
 * import { parseBackendName } from "./backend.ts";
 * parseBackendName("wasm"); // "wasm"
 * ```
 */
export function parseBackendName(name: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(name)) return name as BackendName;
  throw new TypeError(
    `Cannot use backend '${name}': expected one of ${BACKEND_NAMES.join(", ")}`,
  );
}

/**
 * Makes `backend` the active tfjs backend and describes it.
 *
 * Calling it again with the same backend is cheap; with another backend, it switches.
 *
 * @example
 * ```ts
 * import { initBackend } from "./backend.ts";
 * const info = await initBackend({ backend: "wasm" });
 * console.log(info.name, info.simd, info.threads);
 * ```
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const name = parseBackendName(options.backend ?? DEFAULT_BACKEND);
  const fastKernels = name === "wasm" && (options.fastKernels ?? true);
  if (name === "wasm") {
    if (fastKernels) registerWasmKernels();
    await setBackendOrThrow("wasm");
    // deno-lint-ignore no-explicit-any
    const wasmBackend = tf.backend() as any;
    const wasmModule = await import("@tensorflow/tfjs-backend-wasm");
    return {
      name,
      tfjsBackend: "wasm",
      package: "@tensorflow/tfjs-backend-wasm",
      version: wasmModule.version_wasm,
      tfjsCoreVersion: tf.version_core,
      simd: Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")),
      threads: Number(wasmBackend.wasm.tfjs.getThreadsCount()),
      fastKernels,
    };
  }
  if (name === "cpu") {
    await setBackendOrThrow("cpu");
    const cpuModule = await import("@tensorflow/tfjs-backend-cpu");
    return {
      name,
      tfjsBackend: "cpu",
      package: "@tensorflow/tfjs-backend-cpu",
      version: cpuModule.version_cpu,
      tfjsCoreVersion: tf.version_core,
      simd: false,
      threads: 1,
      fastKernels: false,
    };
  }
  if (name === "webgpu") {
    const adapter = await webGpuAdapter();
    // The package registers the backend when imported; only then, so it cannot become the
    // default of runs that did not ask for it.
    await import("@tensorflow/tfjs-backend-webgpu");
    await setBackendOrThrow("webgpu");
    // The package exports no version; its package.json has it.
    const { version } = createRequire(import.meta.url)(
      "@tensorflow/tfjs-backend-webgpu/package.json",
    ) as { version: string };
    return {
      name,
      tfjsBackend: "webgpu",
      package: "@tensorflow/tfjs-backend-webgpu",
      version,
      tfjsCoreVersion: tf.version_core,
      simd: false,
      threads: null,
      fastKernels: false,
      adapter,
    };
  }
  const loaded = await importTensorflowNode();
  await setBackendOrThrow("tensorflow");
  return {
    name,
    tfjsBackend: "tensorflow",
    package: loaded.package,
    version: loaded.version,
    tfjsCoreVersion: tf.version_core,
    simd: false,
    threads: null,
    fastKernels: false,
  };
}

/**
 * The WebGPU adapter tfjs will get (the default one, as `requestAdapter()` gives it), described;
 * throws {@linkcode BackendUnavailableError} when this Deno has no WebGPU or no adapter.
 *
 * @example
 * ```ts ignore
 * import { webGpuAdapter } from "./backend.ts";
 * console.log((await webGpuAdapter()).description); // e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"
 * ```
 */
export async function webGpuAdapter(): Promise<WebGpuAdapterInfo> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  if (gpu === undefined) {
    throw new BackendUnavailableError(
      "Cannot use the 'webgpu' backend: this Deno has no WebGPU (navigator.gpu is undefined)",
    );
  }
  const adapter = await gpu.requestAdapter();
  if (adapter === null) {
    throw new BackendUnavailableError(
      "Cannot use the 'webgpu' backend: navigator.gpu.requestAdapter() found no adapter " +
        "(no GPU, and no software adapter such as Mesa's llvmpipe)",
    );
  }
  const info = adapter.info;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
  };
}

async function setBackendOrThrow(tfjsName: string): Promise<void> {
  if (tf.getBackend() === tfjsName) return;
  let ok = false;
  try {
    ok = await tf.setBackend(tfjsName);
  } catch (error) {
    throw new BackendUnavailableError(`Cannot initialise the '${tfjsName}' backend: ${error}`, {
      cause: error,
    });
  }
  if (!ok) {
    throw new BackendUnavailableError(
      `Cannot initialise the '${tfjsName}' backend: tf.setBackend() returned false`,
    );
  }
}

async function importTensorflowNode(): Promise<{ package: string; version: string }> {
  const errors: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    // A non-literal specifier keeps the optional package out of type checking and the lock file.
    const specifier: string = pkg;
    try {
      const mod = await import(specifier);
      const version = String(mod.version?.["tfjs-node"] ?? mod.version_node ?? "unknown");
      return { package: pkg, version };
    } catch (error) {
      errors.push(`${pkg}: ${error instanceof Error ? error.message.split("\n")[0] : error}`);
    }
  }
  throw new BackendUnavailableError(
    `Cannot load the 'tensorflow' backend: neither package could be imported\n  ${
      errors.join("\n  ")
    }\n${TENSORFLOW_INSTALL_HELP}`,
  );
}
