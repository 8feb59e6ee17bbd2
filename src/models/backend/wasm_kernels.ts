/**
 * Fast convolution-gradient kernels for the tfjs wasm backend.
 *
 * The stock wasm backend has no `Conv2DBackpropFilter` kernel, and its `Conv2DBackpropInput`
 * (also the forward pass of every transposed convolution) is a naive loop. These kernels
 * rewrite both in terms of what the backend does fast (XNNPACK convolution and matrix multiply)
 * plus cheap data movement:
 *
 * - filter gradient: with the batch as channels and the input channels as batch, the filter
 *   gradient is a stride-1 convolution of the transposed input with dy as a filter dilated by
 *   the stride: one XNNPACK convolution;
 * - input gradient / transposed convolution: a sub-pixel decomposition. Each of the `s*s` output
 *   phases of a stride-`s` transposed convolution is a stride-1 convolution of `dy` with a
 *   sub-kernel; all phases run as one XNNPACK convolution with `s*s*inC` output channels,
 *   followed by DepthToSpace. A 1x1 `dy` (the decoder's first layer) is one matrix product.
 *
 * Forward convolutions over few channels with a stride (the encoder's RGB input) run as
 * stride-1 convolutions of the space-to-depth input, and a convolution with a single output
 * position as a matrix product.
 *
 * The transposes, padding and interleaving around those calls are plain loops in JS on the
 * wasm heap (the stock Transpose/Pad/Slice kernels cost more than the convolutions here).
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
 * Strategy switches of the kernels, for benchmarks and tests: the input gradient by `gemm`
 * (GEMM + col2im), `subpixel` (one convolution + DepthToSpace) or `auto` (the cheaper by a
 * cost model; default).
 */
export const wasmKernelTuning: { backpropInput: "auto" | "gemm" | "subpixel" } = {
  backpropInput: "auto",
};

/** A Float32Array view of a tensor's data on the wasm heap (valid until the next allocation). */
function heapView(backend: WasmBackend, info: TensorInfo): Float32Array {
  const offset = backend.dataIdMap.get(info.dataId).memoryOffset / 4;
  const size = info.shape.reduce((a, b) => a * b, 1);
  return (backend.wasm.HEAPF32 as Float32Array).subarray(offset, offset + size);
}

function checkFloat32(kernel: string, ...infos: TensorInfo[]): void {
  for (const info of infos) {
    if (info.dtype !== "float32") {
      throw new TypeError(`Cannot run ${kernel}: expected float32 tensors, got ${info.dtype}`);
    }
  }
}

/**
 * dW[i, j, ci, co] = sum over (n, oh, ow) of x[n, oh*s + i - padTop, ow*s + j - padLeft, ci] *
 * dy[n, oh, ow, co]. Seen with ci as the batch and n as the channels, this is a stride-1
 * convolution of x' = x^T [ci, rows, cols, n] with the filter dy' [oh, ow, n, co] dilated by s:
 * one XNNPACK convolution, after two transposes written in JS.
 */
function conv2DBackpropFilter(
  args: { inputs: NamedTensorInfoMap; backend: WasmBackend; attrs: NamedAttrMap },
): TensorInfo {
  const { backend, attrs } = args;
  const x = args.inputs.x as TensorInfo;
  const dy = args.inputs.dy as TensorInfo;
  checkFloat32("Conv2DBackpropFilter", x, dy);
  const filterShape = attrs.filterShape as [number, number, number, number];
  const g = geometry(x.shape as [number, number, number, number], filterShape, attrs);
  const { batch: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = g;
  const kh = g.filterHeight;
  const kw = g.filterWidth;
  const co = g.outChannels;
  const sh = g.strideHeight;
  const sw = g.strideWidth;
  // Only the rows/cols the convolution reads: the padded window [0, s*(OH-1) + k).
  const rows = sh * (OH - 1) + kh;
  const cols = sw * (OW - 1) + kw;
  const xT = backend.makeOutput([C, rows, cols, N], "float32");
  const dyT = backend.makeOutput([OH, OW, N, co], "float32");
  {
    const src = heapView(backend, x);
    const dst = heapView(backend, xT);
    const padded = g.padTop > 0 || g.padLeft > 0 || rows > H + g.padTop ||
      cols > W + g.padLeft;
    if (padded) dst.fill(0);
    // xT[c, r, q, n] = x[n, r - padTop, q - padLeft, c]
    for (let r = 0; r < rows; r++) {
      const row = r - g.padTop;
      if (row < 0 || row >= H) continue;
      for (let q = 0; q < cols; q++) {
        const col = q - g.padLeft;
        if (col < 0 || col >= W) continue;
        const base = (r * cols + q) * N;
        const plane = rows * cols * N;
        for (let n = 0; n < N; n++) {
          let a = ((n * H + row) * W + col) * C;
          let d = base + n;
          for (let c = 0; c < C; c++, d += plane) dst[d] = src[a++];
        }
      }
    }
    const dyv = heapView(backend, dy);
    const t = heapView(backend, dyT);
    // dyT[oh, ow, n, :] = dy[n, oh, ow, :], runs of co contiguous values.
    for (let n = 0; n < N; n++) {
      for (let p = 0; p < OH * OW; p++) {
        const a = (n * OH * OW + p) * co;
        t.set(dyv.subarray(a, a + co), (p * N + n) * co);
      }
    }
  }
  const conv = run(backend, "Conv2D", { x: xT, filter: dyT }, {
    strides: [1, 1],
    pad: "valid",
    dataFormat: "NHWC",
    dilations: [sh, sw],
    dimRoundingMode: undefined as unknown as string,
  });
  dispose(backend, xT, dyT);
  // conv is [C, kh, kw, co]; the filter layout is [kh, kw, C, co].
  const out = backend.makeOutput(filterShape, "float32");
  {
    const src = heapView(backend, conv);
    const dst = heapView(backend, out);
    for (let c = 0; c < C; c++) {
      for (let ij = 0; ij < kh * kw; ij++) {
        const a = (c * kh * kw + ij) * co;
        dst.set(src.subarray(a, a + co), (ij * C + c) * co);
      }
    }
  }
  dispose(backend, conv);
  return out;
}

/**
 * dx = transposed convolution of dy with the filter [kh, kw, ci, co].
 *
 * Sub-pixel decomposition: output row h = s*m + p (phase p) only meets filter rows i = p + s*a,
 * so each of the s*s phases is a stride-1 convolution of dy with a sub-kernel of
 * ceil(k/s) taps (zero-padded). All phases run as one XNNPACK convolution of the zero-padded dy
 * with s*s*ci output channels; the phases are then interleaved (DepthToSpace) and cropped to the
 * input window in JS. A 1x1 dy (the decoder's first layer) is one matrix product instead.
 */
function conv2DBackpropInput(
  args: { inputs: NamedTensorInfoMap; backend: WasmBackend; attrs: NamedAttrMap },
): TensorInfo {
  const { backend, attrs } = args;
  const dy = args.inputs.dy as TensorInfo;
  const filter = args.inputs.filter as TensorInfo;
  checkFloat32("Conv2DBackpropInput", dy, filter);
  const inputShape = attrs.inputShape as [number, number, number, number];
  const filterShape = filter.shape as [number, number, number, number];
  const g = geometry(inputShape, filterShape, attrs);
  const [kh, kw, ci, co] = filterShape;
  const { batch: N, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const sh = g.strideHeight;
  const sw = g.strideWidth;
  if (OH === 1 && OW === 1) return backpropInputOnePosition(backend, dy, filter, g);

  const ka = Math.ceil(kh / sh);
  const kb = Math.ceil(kw / sw);
  // Sub-pixel multiplies zero taps and border positions; GEMM + col2im multiplies only what is
  // needed but moves positions*kh*kw*ci values through JS. Rough cost of one such value: 12 MACs.
  const subPixelMacs = N * (OH + ka - 1) * (OW + kb - 1) * ka * kb * co * sh * sw * ci;
  const gemmMacs = N * OH * OW * kh * kw * ci * (co + 12);
  const strategy = wasmKernelTuning.backpropInput;
  if (strategy === "gemm" || (strategy === "auto" && gemmMacs < subPixelMacs)) {
    return backpropInputGemm(backend, dy, filter, g);
  }
  const phaseChannels = sh * sw * ci;
  const bigFilter = backend.makeOutput([ka, kb, co, phaseChannels], "float32");
  const PH = OH + 2 * (ka - 1);
  const PW = OW + 2 * (kb - 1);
  const dyPadded = backend.makeOutput([N, PH, PW, co], "float32");
  {
    // bigFilter[a, b, o, (p*sw + q)*ci + c] = W[(ka-1-a)*sh + p, (kb-1-b)*sw + q, c, o]
    const w = heapView(backend, filter);
    const f = heapView(backend, bigFilter);
    f.fill(0);
    for (let a = 0; a < ka; a++) {
      for (let p = 0; p < sh; p++) {
        const i = (ka - 1 - a) * sh + p;
        if (i >= kh) continue;
        for (let b = 0; b < kb; b++) {
          for (let q = 0; q < sw; q++) {
            const j = (kb - 1 - b) * sw + q;
            if (j >= kw) continue;
            for (let c = 0; c < ci; c++) {
              let src = ((i * kw + j) * ci + c) * co;
              let dst = (a * kb + b) * co * phaseChannels + (p * sw + q) * ci + c;
              for (let o = 0; o < co; o++, dst += phaseChannels) f[dst] = w[src++];
            }
          }
        }
      }
    }
    const d = heapView(backend, dy);
    const padded = heapView(backend, dyPadded);
    padded.fill(0);
    const run = OW * co;
    for (let n = 0; n < N; n++) {
      for (let r = 0; r < OH; r++) {
        const a = (n * OH + r) * run;
        padded.set(d.subarray(a, a + run), ((n * PH + r + ka - 1) * PW + kb - 1) * co);
      }
    }
  }
  const phases = run(backend, "Conv2D", { x: dyPadded, filter: bigFilter }, {
    strides: [1, 1],
    pad: "valid",
    dataFormat: "NHWC",
    dilations: [1, 1],
    dimRoundingMode: undefined as unknown as string,
  });
  dispose(backend, dyPadded, bigFilter);
  const M = OH + ka - 1;
  const MW = OW + kb - 1;
  const out = backend.makeOutput(inputShape, "float32");
  {
    const src = heapView(backend, phases);
    const dst = heapView(backend, out);
    let d = 0;
    for (let n = 0; n < N; n++) {
      for (let h = 0; h < H; h++) {
        const hf = h + g.padTop;
        const m = Math.floor(hf / sh);
        const p = hf - m * sh;
        for (let w = 0; w < W; w++, d += ci) {
          const wf = w + g.padLeft;
          const mw = Math.floor(wf / sw);
          const q = wf - mw * sw;
          if (m >= M || mw >= MW) {
            dst.fill(0, d, d + ci);
            continue;
          }
          const a = ((n * M + m) * MW + mw) * phaseChannels + (p * sw + q) * ci;
          dst.set(src.subarray(a, a + ci), d);
        }
      }
    }
  }
  dispose(backend, phases);
  return out;
}

/**
 * dx by one untransposed XNNPACK product cols = dy [positions, co] x W^T [co, kh*kw*ci], then
 * col2im (overlap-add of the columns into dx) in JS.
 */
function backpropInputGemm(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const { batch: N, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = g;
  const k = kh * kw * ci;
  const wT = backend.makeOutput([1, co, k], "float32");
  {
    const w = heapView(backend, filter);
    const t = heapView(backend, wT);
    for (let r = 0; r < k; r++) {
      for (let c = 0; c < co; c++) t[c * k + r] = w[r * co + c];
    }
  }
  const positions = N * OH * OW;
  const dy2d = reshape(backend, dy, [1, positions, co]);
  const cols = run(backend, "BatchMatMul", { a: dy2d, b: wT }, {
    transposeA: false,
    transposeB: false,
  });
  dispose(backend, dy2d, wT);
  const out = backend.makeOutput([N, H, W, ci], "float32");
  const src = heapView(backend, cols);
  const dst = heapView(backend, out);
  dst.fill(0);
  let p = 0;
  for (let n = 0; n < N; n++) {
    const imageBase = n * H * W * ci;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++, p++) {
        let s = p * k;
        for (let i = 0; i < kh; i++) {
          const row = oh * g.strideHeight + i - g.padTop;
          if (row < 0 || row >= H) {
            s += kw * ci;
            continue;
          }
          const rowBase = imageBase + row * W * ci;
          for (let j = 0; j < kw; j++) {
            const col = ow * g.strideWidth + j - g.padLeft;
            if (col < 0 || col >= W) {
              s += ci;
              continue;
            }
            let d = rowBase + col * ci;
            for (let c = 0; c < ci; c++) dst[d++] += src[s++];
          }
        }
      }
    }
  }
  dispose(backend, cols);
  return out;
}

/** dx for a 1x1 dy: dx patch^T [kh*kw*ci, batch] = W [kh*kw*ci, co] x dy^T [co, batch]. */
function backpropInputOnePosition(
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const { batch: N, inHeight: H, inWidth: W } = g;
  const k = kh * kw * ci;
  const dyT = backend.makeOutput([1, co, N], "float32");
  {
    const d = heapView(backend, dy);
    const t = heapView(backend, dyT);
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < co; o++) t[o * N + n] = d[n * co + o];
    }
  }
  const w2d = reshape(backend, filter, [1, k, co]);
  const productT = run(backend, "BatchMatMul", { a: w2d, b: dyT }, {
    transposeA: false,
    transposeB: false,
  });
  dispose(backend, w2d, dyT);
  const out = backend.makeOutput([N, H, W, ci], "float32");
  {
    const src = heapView(backend, productT);
    const dst = heapView(backend, out);
    dst.fill(0);
    // Full-frame row i lands at h = i - padTop.
    for (let i = 0; i < kh; i++) {
      const h = i - g.padTop;
      if (h < 0 || h >= H) continue;
      for (let j = 0; j < kw; j++) {
        const w = j - g.padLeft;
        if (w < 0 || w >= W) continue;
        for (let c = 0; c < ci; c++) {
          const row = ((i * kw + j) * ci + c) * N;
          let d = (h * W + w) * ci + c;
          for (let n = 0; n < N; n++, d += H * W * ci) dst[d] = src[row + n];
        }
      }
    }
  }
  dispose(backend, productT);
  return out;
}

/**
 * A strided convolution over few input channels (the encoder's RGB input) uses SIMD lanes
 * poorly in XNNPACK. With the input rearranged space-to-depth (s*s*c channels) and the filter to
 * match, it becomes a stride-1 convolution with kernel k/s, the same maths. Returns undefined
 * when the case does not apply (then the caller runs the stock kernel). Used for Conv2D and
 * FusedConv2D (bias and activation pass through unchanged).
 */
function spaceToDepthConv(
  stock: KernelConfig,
  args: { inputs: NamedTensorInfoMap; backend: WasmBackend; attrs: NamedAttrMap },
): TensorInfo | undefined {
  const x = args.inputs.x as TensorInfo;
  const filter = args.inputs.filter as TensorInfo;
  const { attrs, backend } = args;
  const strides = attrs.strides as number | [number, number];
  const [sh, sw] = typeof strides === "number" ? [strides, strides] : strides;
  const dilations = attrs.dilations as number | [number, number] | undefined;
  const undilated = dilations === undefined || dilations === 1 ||
    (Array.isArray(dilations) && dilations.every((d) => d === 1));
  const [n, h, w, c] = x.shape;
  const [kh, kw, , co] = filter.shape;
  if (
    x.dtype !== "float32" || c >= 8 || sh !== sw || sh < 2 || kh % sh !== 0 || kw % sw !== 0 ||
    attrs.pad !== "valid" || !undilated || (attrs.dataFormat ?? "NHWC") !== "NHWC"
  ) {
    return undefined;
  }
  const s = sh;
  const h2 = Math.floor(h / s);
  const w2 = Math.floor(w / s);
  const c2 = s * s * c;
  const x2 = backend.makeOutput([n, h2, w2, c2], "float32");
  const f2 = backend.makeOutput([kh / s, kw / s, c2, co], "float32");
  {
    // x2[n, a, b, (p*s + q)*c + ch] = x[n, a*s + p, b*s + q, ch]
    const src = heapView(backend, x);
    const dst = heapView(backend, x2);
    let d = 0;
    for (let img = 0; img < n; img++) {
      for (let a = 0; a < h2; a++) {
        for (let b = 0; b < w2; b++) {
          for (let p = 0; p < s; p++) {
            const base = ((img * h + a * s + p) * w + b * s) * c;
            for (let k = 0; k < s * c; k++) dst[d++] = src[base + k];
          }
        }
      }
    }
    // f2[i2, j2, (p*s + q)*c + ch, o] = filter[i2*s + p, j2*s + q, ch, o]
    const fv = heapView(backend, filter);
    const fd = heapView(backend, f2);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const i2 = Math.floor(i / s);
        const j2 = Math.floor(j / s);
        const lane = ((i % s) * s + (j % s)) * c;
        for (let ch = 0; ch < c; ch++) {
          const from = ((i * kw + j) * c + ch) * co;
          const to = ((i2 * (kw / s) + j2) * c2 + lane + ch) * co;
          fd.set(fv.subarray(from, from + co), to);
        }
      }
    }
  }
  const out = stock.kernelFunc(
    {
      inputs: { ...args.inputs, x: x2, filter: f2 },
      backend,
      attrs: { ...attrs, strides: [1, 1] },
    } as unknown as Parameters<KernelConfig["kernelFunc"]>[0],
  ) as TensorInfo;
  dispose(backend, x2, f2);
  return out;
}

/**
 * Conv2D whose output is a single position (valid padding, input the size of the filter, as in
 * the gradient of the decoder's first transposed convolution) is a matrix product
 * x [batch, kh*kw*ci] x W [kh*kw*ci, co]; XNNPACK's matrix product is several times faster than
 * its convolution there. Every other case goes to the stock kernel.
 */
function makeConv2D(stock: KernelConfig): KernelConfig["kernelFunc"] {
  const kernel = (
    args: { inputs: NamedTensorInfoMap; backend: WasmBackend; attrs: NamedAttrMap },
  ): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    const filter = args.inputs.filter as TensorInfo;
    const [n, h, w, ci] = x.shape;
    const [kh, kw, , co] = filter.shape;
    const dilations = args.attrs.dilations;
    const undilated = dilations === undefined || dilations === 1 ||
      (Array.isArray(dilations) && dilations.every((d) => d === 1));
    const onePosition = h === kh && w === kw && args.attrs.pad === "valid" && undilated &&
      (args.attrs.dataFormat ?? "NHWC") === "NHWC" && x.dtype === "float32";
    if (!onePosition) {
      return spaceToDepthConv(stock, args) ?? stock.kernelFunc(
        args as unknown as Parameters<KernelConfig["kernelFunc"]>[0],
      ) as TensorInfo;
    }
    // out^T [co, n] = W^T [co, k] x x^T [k, n]: XNNPACK packs the right-hand operand on every
    // call, and x^T is far smaller than the (fresh every training step) filter.
    const backend = args.backend;
    const k = kh * kw * ci;
    const wT = backend.makeOutput([1, co, k], "float32");
    const xT = backend.makeOutput([1, k, n], "float32");
    {
      const wv = heapView(backend, filter);
      const t = heapView(backend, wT);
      for (let r = 0; r < k; r++) {
        for (let c = 0; c < co; c++) t[c * k + r] = wv[r * co + c];
      }
      const xv = heapView(backend, x);
      const u = heapView(backend, xT);
      for (let b = 0; b < n; b++) {
        for (let r = 0; r < k; r++) u[r * n + b] = xv[b * k + r];
      }
    }
    const productT = run(backend, "BatchMatMul", { a: wT, b: xT }, {
      transposeA: false,
      transposeB: false,
    });
    dispose(backend, wT, xT);
    const out = backend.makeOutput([n, 1, 1, co], "float32");
    {
      const src = heapView(backend, productT);
      const dst = heapView(backend, out);
      for (let c = 0; c < co; c++) {
        for (let b = 0; b < n; b++) dst[b * co + c] = src[c * n + b];
      }
    }
    dispose(backend, productT);
    return out;
  };
  return kernel as unknown as KernelConfig["kernelFunc"];
}

/** The kernel configs this module registers (the Conv2D wrapper is added at registration). */
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

const registered = new Set<KernelConfig["kernelFunc"]>();

/**
 * Registers the fast kernels for the wasm backend: Conv2DBackpropFilter, a replacement for the
 * stock Conv2DBackpropInput, and a Conv2D that sends single-position outputs to a matrix
 * product. Idempotent; call it before `tf.setBackend("wasm")` (or after: the stock kernels'
 * setup has then already run, which is all the wrappers need).
 */
export function registerWasmKernels(): void {
  for (const config of WASM_KERNEL_CONFIGS) {
    const existing = tf.getKernel(config.kernelName, "wasm");
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing !== undefined) tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel(config);
  }
  const stockConv = tf.getKernel("Conv2D", "wasm");
  if (stockConv === undefined) {
    throw new Error("Cannot register wasm kernels: the wasm backend's Conv2D is not registered");
  }
  if (!registered.has(stockConv.kernelFunc)) {
    const conv = { ...stockConv, kernelFunc: makeConv2D(stockConv) };
    registered.add(conv.kernelFunc);
    tf.unregisterKernel("Conv2D", "wasm");
    tf.registerKernel(conv);
  }
  const stockFused = tf.getKernel("FusedConv2D", "wasm");
  if (stockFused !== undefined && !registered.has(stockFused.kernelFunc)) {
    const fused = {
      ...stockFused,
      kernelFunc: ((args: Parameters<KernelConfig["kernelFunc"]>[0]) =>
        spaceToDepthConv(stockFused, args as never) ??
          stockFused.kernelFunc(args)) as KernelConfig["kernelFunc"],
    };
    registered.add(fused.kernelFunc);
    tf.unregisterKernel("FusedConv2D", "wasm");
    tf.registerKernel(fused);
  }
}
