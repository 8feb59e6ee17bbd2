/**
 * Fast convolution-gradient kernels for the tfjs wasm backend.
 *
 * The stock wasm backend has no `Conv2DBackpropFilter` kernel, and its `Conv2DBackpropInput`
 * (also the forward pass of every transposed convolution) is a naive loop. These kernels
 * rewrite both in terms of what the backend does fast (XNNPACK convolution and matrix multiply)
 * plus cheap data movement:
 *
 * - filter gradient: im2col of the (padded) input by strided slices, then one matrix product
 *   `patches^T x dy`;
 * - input gradient / transposed convolution: a sub-pixel decomposition. Each of the `s*s` output
 *   phases of a stride-`s` transposed convolution is a stride-1 convolution of `dy` with a
 *   sub-kernel; all phases run as one stride-1 convolution with `s*s*inC` output channels,
 *   followed by DepthToSpace. A 1x1 `dy` (the decoder's first layer) is a plain matrix product.
 *
 * Only NHWC and dilation 1 are handled, which is all tfjs asks of these kernels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { backend_util } from "@tensorflow/tfjs-core";
import type {
  KernelConfig,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from "@tensorflow/tfjs-core";

// The wasm backend is untyped from the outside; only dataIdMap/disposeData are used.
// deno-lint-ignore no-explicit-any
type WasmBackend = any;

/** Runs a registered wasm kernel directly on TensorInfos (no tape, no engine bookkeeping). */
function run(
  backend: WasmBackend,
  name: string,
  inputs: NamedTensorInfoMap | TensorInfo[],
  attrs: NamedAttrMap = {},
): TensorInfo {
  const kernel = tf.getKernel(name, "wasm");
  if (kernel === undefined) {
    throw new Error(`Cannot run kernel ${name}: it is not registered for the wasm backend`);
  }
  // Concat takes its inputs as an array; the typings say a map.
  return kernel.kernelFunc({
    inputs: inputs as NamedTensorInfoMap,
    backend,
    attrs,
  }) as TensorInfo;
}

function dispose(backend: WasmBackend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

function reshape(backend: WasmBackend, x: TensorInfo, shape: number[]): TensorInfo {
  return run(backend, "Reshape", { x }, { shape });
}

/** Pads with zeros; returns `x` itself (with an extra reference) when nothing to pad. */
function pad(backend: WasmBackend, x: TensorInfo, paddings: [number, number][]): TensorInfo {
  if (paddings.every(([a, b]) => a === 0 && b === 0)) {
    return reshape(backend, x, x.shape);
  }
  return run(backend, "PadV2", { x }, { paddings, constantValue: 0 });
}

/**
 * Places `x` (rows/cols indexed from the padded frame's origin) into the padded frame and crops
 * the unpadded window: rows [top, top + height), cols [left, left + width).
 */
function fitWindow(
  backend: WasmBackend,
  x: TensorInfo,
  top: number,
  left: number,
  height: number,
  width: number,
): TensorInfo {
  const [n, h, w, c] = x.shape;
  const padBottom = Math.max(0, top + height - h);
  const padRight = Math.max(0, left + width - w);
  const padded = pad(backend, x, [[0, 0], [0, padBottom], [0, padRight], [0, 0]]);
  if (top === 0 && left === 0 && padded.shape[1] === height && padded.shape[2] === width) {
    return padded;
  }
  const out = run(backend, "Slice", { x: padded }, {
    begin: [0, top, left, 0],
    size: [n, height, width, c],
  });
  dispose(backend, padded);
  return out;
}

interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

function geometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: NamedAttrMap,
): ConvGeometry {
  const dataFormat = (attrs.dataFormat ?? "NHWC") as string;
  if (dataFormat !== "NHWC") {
    throw new RangeError(`Cannot compute convolution gradient: data format ${dataFormat}`);
  }
  const info = backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as "valid",
    attrs.dimRoundingMode as "floor" | undefined,
    false,
    "channelsLast",
  );
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * dW[i, j, ci, co] = sum over (n, oh, ow) of xPadded[n, oh*s + i, ow*s + j, ci] * dy[n, oh, ow, co].
 */
function conv2DBackpropFilter(
  args: { inputs: NamedTensorInfoMap; backend: WasmBackend; attrs: NamedAttrMap },
): TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs.x as TensorInfo;
  const dy = args.inputs.dy as TensorInfo;
  const filterShape = attrs.filterShape as [number, number, number, number];
  const g = geometry(x.shape as [number, number, number, number], filterShape, attrs);
  const rowsNeeded = g.padTop + g.strideHeight * (g.outHeight - 1) + g.filterHeight;
  const colsNeeded = g.padLeft + g.strideWidth * (g.outWidth - 1) + g.filterWidth;
  const padded = pad(backend, x, [
    [0, 0],
    [g.padTop, Math.max(0, rowsNeeded - g.padTop - g.inHeight)],
    [g.padLeft, Math.max(0, colsNeeded - g.padLeft - g.inWidth)],
    [0, 0],
  ]);
  const slices: TensorInfo[] = [];
  for (let i = 0; i < g.filterHeight; i++) {
    for (let j = 0; j < g.filterWidth; j++) {
      slices.push(run(backend, "StridedSlice", { x: padded }, {
        begin: [0, i, j, 0],
        end: [
          g.batch,
          i + g.strideHeight * (g.outHeight - 1) + 1,
          j + g.strideWidth * (g.outWidth - 1) + 1,
          g.inChannels,
        ],
        strides: [1, g.strideHeight, g.strideWidth, 1],
        beginMask: 0,
        endMask: 0,
        ellipsisMask: 0,
        newAxisMask: 0,
        shrinkAxisMask: 0,
      }));
    }
  }
  dispose(backend, padded);
  const patches = slices.length === 1
    ? slices[0]
    : run(backend, "Concat", slices as unknown as NamedTensorInfoMap, { axis: 3 });
  if (slices.length > 1) dispose(backend, ...slices);
  const positions = g.batch * g.outHeight * g.outWidth;
  const k = g.filterHeight * g.filterWidth * g.inChannels;
  const patches2d = reshape(backend, patches, [1, positions, k]);
  const dy2d = reshape(backend, dy, [1, positions, g.outChannels]);
  const product = run(backend, "BatchMatMul", { a: patches2d, b: dy2d }, {
    transposeA: true,
    transposeB: false,
  });
  dispose(backend, patches, patches2d, dy2d);
  const out = reshape(backend, product, filterShape);
  dispose(backend, product);
  return out;
}

/**
 * dx = transposed convolution of dy with the filter, computed by the sub-pixel decomposition.
 */
function conv2DBackpropInput(
  args: { inputs: NamedTensorInfoMap; backend: WasmBackend; attrs: NamedAttrMap },
): TensorInfo {
  const { backend, attrs } = args;
  const dy = args.inputs.dy as TensorInfo;
  const filter = args.inputs.filter as TensorInfo;
  const inputShape = attrs.inputShape as [number, number, number, number];
  const filterShape = filter.shape as [number, number, number, number];
  const g = geometry(inputShape, filterShape, attrs);
  const [kh, kw, ci, co] = filterShape;
  const sh = g.strideHeight;
  const sw = g.strideWidth;
  let full: TensorInfo;
  if (g.outHeight === 1 && g.outWidth === 1) {
    // One dy position: dx patch = dy x W^T, a matrix product.
    const dy2d = reshape(backend, dy, [1, g.batch, co]);
    const w2d = reshape(backend, filter, [1, kh * kw * ci, co]);
    const product = run(backend, "BatchMatMul", { a: dy2d, b: w2d }, {
      transposeA: false,
      transposeB: true,
    });
    full = reshape(backend, product, [g.batch, kh, kw, ci]);
    dispose(backend, dy2d, w2d, product);
  } else {
    // Sub-kernel taps per phase, after padding the kernel to a multiple of the stride.
    const ka = Math.ceil(kh / sh);
    const kb = Math.ceil(kw / sw);
    const wPadded = pad(backend, filter, [[0, ka * sh - kh], [0, kb * sw - kw], [0, 0], [0, 0]]);
    const w6 = reshape(backend, wPadded, [ka, sh, kb, sw, ci, co]);
    const wFlipped = run(backend, "Reverse", { x: w6 }, { dims: [0, 2] });
    const wPhases = run(backend, "Transpose", { x: wFlipped }, { perm: [0, 2, 5, 1, 3, 4] });
    const bigFilter = reshape(backend, wPhases, [ka, kb, co, sh * sw * ci]);
    dispose(backend, wPadded, w6, wFlipped, wPhases);
    const dyPadded = pad(backend, dy, [[0, 0], [ka - 1, ka - 1], [kb - 1, kb - 1], [0, 0]]);
    const phases = run(backend, "Conv2D", { x: dyPadded, filter: bigFilter }, {
      strides: [1, 1],
      pad: "valid",
      dataFormat: "NHWC",
      dilations: [1, 1],
      dimRoundingMode: undefined as unknown as string,
    });
    dispose(backend, dyPadded, bigFilter);
    if (sh === sw) {
      full = run(backend, "DepthToSpace", { x: phases }, { blockSize: sh, dataFormat: "NHWC" });
    } else {
      // DepthToSpace needs a square block: interleave with reshape + transpose instead.
      const [n, m, mw] = phases.shape;
      const p6 = reshape(backend, phases, [n, m, mw, sh, sw, ci]);
      const t6 = run(backend, "Transpose", { x: p6 }, { perm: [0, 1, 3, 2, 4, 5] });
      full = reshape(backend, t6, [n, m * sh, mw * sw, ci]);
      dispose(backend, p6, t6);
    }
    dispose(backend, phases);
  }
  const out = fitWindow(backend, full, g.padTop, g.padLeft, g.inHeight, g.inWidth);
  dispose(backend, full);
  return out;
}

/** The kernel configs this module registers, for inspection and tests. */
export const WASM_KERNEL_CONFIGS: readonly KernelConfig[] = [
  {
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: conv2DBackpropFilter as unknown as KernelConfig["kernelFunc"],
  },
  {
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    kernelFunc: conv2DBackpropInput as unknown as KernelConfig["kernelFunc"],
  },
];

/**
 * Registers the fast kernels for the wasm backend, replacing the stock Conv2DBackpropInput.
 * Idempotent; call it before or after `tf.setBackend("wasm")`.
 */
export function registerWasmKernels(): void {
  for (const config of WASM_KERNEL_CONFIGS) {
    const existing = tf.getKernel(config.kernelName, "wasm");
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing !== undefined) tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel(config);
  }
}
