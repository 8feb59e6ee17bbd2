/**
 * Inference of the ConvVAE's encoder (frames -> mu, logvar) in one runtime-generated WebAssembly
 * SIMD module, for the hot paths that only encode: the `encode` stage, the controller's
 * per-step encoding of real frames, evaluation.
 *
 * Why not the tfjs wasm backend: its XNNPACK convolution is built without FMA, and every layer
 * costs a round trip through tfjs tensors; here each convolution is an im2col into 4-row panels
 * (fused with the 4x4 SIMD transposes that packing needs anyway, a few hundred rows at a time so
 * the panel stays in L2) followed by the register-blocked fused multiply-add product of
 * {@linkcode gemmFunc}, and bias + ReLU in one pass. The result equals the tfjs encoder's up to
 * float rounding (tested), and is the same bytes on every run and thread.
 *
 * @module
 */
import {
  assembleModule,
  emitTranspose4,
  FuncBuilder,
  gemmFunc,
  I32,
  MR,
  NR,
  USE_FMA,
  V128,
} from "./simd/mod.ts";

import { createPool, type WorkerPool } from "../pool/mod.ts";

/** One convolution (4x4, stride 2, valid, ReLU) or the final dense layer, in HWIO order. */
export interface EncoderLayerWeights {
  /** Kernel, [kh, kw, cin, cout] (conv) or [in, out] (dense), row-major as tfjs stores it. */
  kernel: Float32Array;
  /** Bias, [cout]. */
  bias: Float32Array;
}

/** The weights of the encoder, as tfjs's `encoder.getWeights()` lists them. */
export interface EncoderWeights {
  /** The four convolutions, 3->32->64->128->256 channels. */
  convs: EncoderLayerWeights[];
  /** Dense 1,024 -> zSize for the mean. */
  mu: EncoderLayerWeights;
  /** Dense 1,024 -> zSize for the log variance. */
  logvar: EncoderLayerWeights;
}

/** Latent means and log variances of a batch, `batch * zSize` values each. */
export interface EncodedBatch {
  /** Means. */
  mu: Float32Array<ArrayBuffer>;
  /** Log variances. */
  logvar: Float32Array<ArrayBuffer>;
}

const SIZE = 64;
const CHANNELS = 3;
const FRAME = SIZE * SIZE * CHANNELS;
const KERNEL = 4;
const STRIDE = 2;
/** Bytes of im2col panels packed per product call: the chunk stays in L2 while it is read. */
const CHUNK_BYTES = 192 * 1024;

/**
 * Emits `im2col(src, rowBytes, imgBytes, ow, ohw, m0, m1, seg, pixBytes, dst)`: 4-row panels of
 * the patches of output pixels m0 .. m1-1 (m1 - m0 a multiple of 4; pixels past `last` repeat
 * it), patch order (kh, kw, cin) as in tfjs's HWIO kernels. `seg` = 4 * cin floats (a multiple
 * of 4) is one kernel row of a patch, contiguous in NHWC.
 */
function im2colFunc(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [src, rowBytes, imgBytes, ow, ohw, m0, m1, seg, pixBytes, dst, last] = [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
  ];
  const m = f.local(I32), dp = f.local(I32), kh = f.local(I32), j = f.local(I32);
  const b = f.local(I32), rem = f.local(I32), px = f.local(I32), segBytes = f.local(I32);
  const base = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const r = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const t = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(seg).i32(4).mul().set(segBytes);
  f.get(dst).set(dp);
  f.get(m0).set(m);
  f.block().loop();
  {
    for (let i = 0; i < 4; i++) {
      // px = min(m + i, last); base = src + b*imgBytes + 2*oy*rowBytes + ox*pixBytes
      f.get(m).i32(i).add().set(px);
      f.get(px).get(last).geS().if().get(last).set(px).end();
      f.get(px).get(ohw).divU().set(b);
      f.get(px).get(b).get(ohw).mul().sub().set(rem);
      f.get(src).get(b).get(imgBytes).mul().add();
      f.get(rem).get(ow).divU().get(rowBytes).mul().i32(STRIDE).mul().add();
      f.get(rem).get(rem).get(ow).divU().get(ow).mul().sub().get(pixBytes).mul().add();
      f.set(base[i]);
    }
    f.i32(0).set(kh);
    f.block().loop();
    {
      f.i32(0).set(j);
      f.block().loop();
      {
        for (let i = 0; i < 4; i++) f.get(base[i]).get(j).add().vload(0).set(r[i]);
        emitTranspose4(f, r, t, dp);
        f.get(dp).i32(64).add().set(dp);
        f.get(j).i32(16).add().tee(j).get(segBytes).ltS().brIf(0);
      }
      f.end().end();
      for (let i = 0; i < 4; i++) f.get(base[i]).get(rowBytes).add().set(base[i]);
      f.get(kh).i32(1).add().tee(kh).i32(KERNEL).ltS().brIf(0);
    }
    f.end().end();
    f.get(m).i32(4).add().tee(m).get(m1).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/**
 * Emits `bytesToFloats(src, n, dst)`: dst[i] = src[i] / 255 for n bytes (n a multiple of 8),
 * the same rounding as `value / 255` in JavaScript stored to a Float32Array.
 */
function bytesToFloatsFunc(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32]);
  const [src, n, dst] = [0, 1, 2];
  const end = f.local(I32), v = f.local(V128), scale = f.local(V128);
  f.vconst(255).set(scale);
  f.get(src).get(n).add().set(end);
  f.get(n).eqz().if().br(1).end();
  f.block().loop();
  {
    f.get(src).vload8x8U(0).set(v);
    f.get(dst).get(v).vextendLow16U().vconvertS().get(scale).vdiv().vstore(0);
    f.get(dst).get(v).vextendHigh16U().vconvertS().get(scale).vdiv().vstore(16);
    f.get(dst).i32(32).add().set(dst);
    f.get(src).i32(8).add().tee(src).get(end).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

interface Kernels {
  memory: WebAssembly.Memory;
  gemmI: (...args: number[]) => void;
  im2col: (...args: number[]) => void;
  bytesToFloats: (...args: number[]) => void;
}

let compiled: WebAssembly.Module | undefined;

function createKernels(): Kernels {
  compiled ??= new WebAssembly.Module(assembleModule([
    { name: "gemmI", fn: gemmFunc(false, { fma: USE_FMA, epilogue: true }) },
    { name: "im2col", fn: im2colFunc() },
    { name: "bytesToFloats", fn: bytesToFloatsFunc() },
  ]));
  const memory = new WebAssembly.Memory({ initial: 16 });
  const ex = new WebAssembly.Instance(compiled, { env: { memory } }).exports as Record<
    string,
    (...args: number[]) => void
  >;
  return {
    memory,
    gemmI: ex.gemmI,
    im2col: ex.im2col,
    bytesToFloats: ex.bytesToFloats,
  };
}

interface ConvLayer {
  inSize: number;
  cin: number;
  outSize: number;
  cout: number;
  /** K = 16 * cin. */
  depth: number;
  /** Byte offsets of the packed kernel (NR-column panels) and the bias. */
  kernel: number;
  bias: number;
  /** Output pixels per product call (a multiple of MR). */
  chunk: number;
}

/** Packs a row-major [K, N] matrix into NR-column panels: dst[(p*K + k)*NR + c]. */
function packColumns(w: Float32Array, k: number, n: number): Float32Array {
  const out = new Float32Array(k * n);
  for (let p = 0; p < n / NR; p++) {
    for (let i = 0; i < k; i++) {
      for (let c = 0; c < NR; c++) out[(p * k + i) * NR + c] = w[i * n + p * NR + c];
    }
  }
  return out;
}

/** Byte offsets of one batch size's buffers in the module's memory. */
interface Plan {
  bytes: number;
  input: number;
  acts: number[];
  scratch: number;
  out: number;
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * The encoder of a {@linkcode ConvVAE} as a single WASM SIMD program. Build it from the tfjs
 * weights (`EncoderEngine.fromWeights(...)`, or `encoderEngine(vae)` from vae_encode.ts), then call
 * {@linkcode EncoderEngine.encode} with uint8 frames.
 *
 * @example
 * ```ts
 * import { ConvVAE } from "./vae.ts";
 * import { encoderEngine } from "./vae_encode.ts";
 * import { initBackend } from "./backend/mod.ts";
 * await initBackend({ backend: "wasm" });
 * const vae = new ConvVAE({ seed: 1 });
 * const frames = new Uint8Array(2 * 64 * 64 * 3);
 * const { mu, logvar } = encoderEngine(vae).encode(frames, 2);
 * ```
 */
export class EncoderEngine {
  /** Latent size. */
  readonly zSize: number;
  #k: Kernels;
  #layers: ConvLayer[] = [];
  #dense = 0;
  #denseBias = 0;
  #headColumns = 0;
  #weightsEnd = 0;
  #capacity = -1;
  #plan?: Plan;

  private constructor(weights: EncoderWeights) {
    this.zSize = weights.mu.bias.length;
    if (weights.convs.length !== 4 || weights.logvar.bias.length !== this.zSize) {
      throw new RangeError("Cannot build the encoder engine: expected 4 convolutions and 2 heads");
    }
    this.#k = createKernels();
    const blocks: Float32Array[] = [];
    let offset = 0;
    const place = (data: Float32Array) => {
      const at = offset;
      blocks.push(data);
      offset += roundUp(data.length, 4) * 4;
      return at;
    };
    let size = SIZE, cin = CHANNELS;
    for (const { kernel, bias } of weights.convs) {
      const cout = bias.length;
      const depth = KERNEL * KERNEL * cin;
      if (kernel.length !== depth * cout || cout % NR !== 0) {
        throw new RangeError(
          `Cannot build the encoder engine: convolution ${this.#layers.length + 1} has ` +
            `${kernel.length} weights, expected 4x4x${cin}x${cout}`,
        );
      }
      const outSize = Math.floor((size - KERNEL) / STRIDE) + 1;
      this.#layers.push({
        inSize: size,
        cin,
        outSize,
        cout,
        depth,
        kernel: place(packColumns(kernel, depth, cout)),
        bias: place(bias),
        chunk: Math.max(MR, Math.floor(CHUNK_BYTES / (depth * 4 * MR)) * MR),
      });
      size = outSize;
      cin = cout;
    }
    const flat = size * size * cin;
    const z = this.zSize;
    if (weights.mu.kernel.length !== flat * z || weights.logvar.kernel.length !== flat * z) {
      throw new RangeError(
        `Cannot build the encoder engine: the heads must map ${flat} features to ${z}`,
      );
    }
    // mu and logvar as one product: [flat, cols], columns 0..z-1 the mean, z..2z-1 the log
    // variance, zero columns up to a whole register block.
    const cols = roundUp(2 * z, NR);
    const both = new Float32Array(flat * cols);
    for (let i = 0; i < flat; i++) {
      both.set(weights.mu.kernel.subarray(i * z, (i + 1) * z), i * cols);
      both.set(weights.logvar.kernel.subarray(i * z, (i + 1) * z), i * cols + z);
    }
    const bothBias = new Float32Array(cols);
    bothBias.set(weights.mu.bias);
    bothBias.set(weights.logvar.bias, z);
    this.#headColumns = cols;
    this.#dense = place(packColumns(both, flat, cols));
    this.#denseBias = place(bothBias);
    this.#weightsEnd = offset;
    this.#grow(offset);
    const f32 = new Float32Array(this.#k.memory.buffer);
    let at = 0;
    for (const block of blocks) {
      f32.set(block, at / 4);
      at += roundUp(block.length, 4) * 4;
    }
  }

  /** Builds the engine from the encoder's weights (copied; later training does not reach it). */
  static fromWeights(weights: EncoderWeights): EncoderEngine {
    return new EncoderEngine(weights);
  }

  #grow(bytes: number): void {
    const have = this.#k.memory.buffer.byteLength;
    if (bytes > have) this.#k.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** Lays out activations for `batch` frames (kept for later calls of the same or less). */
  #prepare(batch: number): Plan {
    if (this.#plan && batch <= this.#capacity) return this.#plan;
    let offset = roundUp(this.#weightsEnd, 64);
    const take = (floats: number) => {
      const at = offset;
      offset = roundUp(offset + floats * 4, 64);
      return at;
    };
    const bytes = take(batch * FRAME / 4);
    const input = take(batch * FRAME);
    const acts: number[] = [];
    let scratch = 0;
    for (const layer of this.#layers) {
      const pixels = batch * layer.outSize * layer.outSize;
      // Rows past the batch (up to the chunk) are computed and ignored.
      acts.push(take((roundUp(pixels, layer.chunk) + MR) * layer.cout));
      scratch = Math.max(scratch, layer.chunk * layer.depth);
    }
    const denseRows = roundUp(batch, MR);
    scratch = Math.max(scratch, denseRows * this.#layers[3].cout * 4);
    const scratchAt = take(scratch);
    const out = take(denseRows * this.#headColumns);
    this.#grow(offset);
    this.#capacity = batch;
    this.#plan = { bytes, input, acts, scratch: scratchAt, out };
    return this.#plan;
  }

  /**
   * Encodes `batch` uint8 RGB frames ([batch, 64, 64, 3], row-major; read as value / 255) to
   * the latent mean and log variance.
   */
  encode(frames: Uint8Array, batch: number): EncodedBatch {
    if (!Number.isInteger(batch) || batch < 0 || frames.length !== batch * FRAME) {
      throw new RangeError(
        `Cannot encode frames: expected ${batch * FRAME} bytes for ${batch} frames of ` +
          `64x64x3, got ${frames.length}`,
      );
    }
    const z = this.zSize, cols = this.#headColumns;
    if (batch === 0) return { mu: new Float32Array(0), logvar: new Float32Array(0) };
    const plan = this.#prepare(batch);
    const k = this.#k;
    new Uint8Array(k.memory.buffer, plan.bytes, frames.length).set(frames);
    k.bytesToFloats(plan.bytes, frames.length, plan.input);
    let src = plan.input;
    this.#layers.forEach((layer, li) => {
      const dst = plan.acts[li];
      const pixels = batch * layer.outSize * layer.outSize;
      const rowBytes = layer.inSize * layer.cin * 4;
      for (let m0 = 0; m0 < pixels; m0 += layer.chunk) {
        const rows = Math.min(layer.chunk, roundUp(pixels - m0, MR));
        k.im2col(
          src,
          rowBytes,
          rowBytes * layer.inSize,
          layer.outSize,
          layer.outSize * layer.outSize,
          m0,
          m0 + rows,
          4 * layer.cin,
          STRIDE * layer.cin * 4,
          plan.scratch,
          pixels - 1,
        );
        k.gemmI(
          plan.scratch,
          MR * 4,
          layer.depth * MR * 4,
          layer.kernel,
          NR * 4,
          layer.depth * NR * 4,
          dst + m0 * layer.cout * 4,
          layer.cout * 4,
          rows / MR,
          layer.cout / NR,
          layer.depth,
          0,
          layer.bias,
          1,
        );
      }
      src = dst;
    });
    // The flattened 2x2x256 maps are rows of 1,024 in NHWC order, as tfjs's Flatten gives.
    const flat = this.#layers[3].outSize ** 2 * this.#layers[3].cout;
    const rows = roundUp(batch, MR);
    const f32 = new Float32Array(k.memory.buffer);
    const a = plan.scratch / 4;
    for (let i = 0; i < rows / MR; i++) {
      for (let r = 0; r < MR; r++) {
        const row = Math.min(i * MR + r, batch - 1);
        const from = src / 4 + row * flat;
        for (let j = 0; j < flat; j++) f32[a + (i * flat + j) * MR + r] = f32[from + j];
      }
    }
    k.gemmI(
      plan.scratch,
      MR * 4,
      flat * MR * 4,
      this.#dense,
      NR * 4,
      flat * NR * 4,
      plan.out,
      cols * 4,
      rows / MR,
      cols / NR,
      flat,
      0,
      this.#denseBias,
      0,
    );
    const out = new Float32Array(k.memory.buffer, plan.out, batch * cols);
    const mu = new Float32Array(batch * z);
    const logvar = new Float32Array(batch * z);
    for (let i = 0; i < batch; i++) {
      mu.set(out.subarray(i * cols, i * cols + z), i * z);
      logvar.set(out.subarray(i * cols + z, i * cols + 2 * z), i * z);
    }
    return { mu, logvar };
  }
}

/** The methods of a {@linkcode ParallelEncoder} helper Worker (vae_encoder_worker.ts). */
export type EncoderWorkerMethods = {
  init: { payload: EncoderWeights; result: void };
  encode: { payload: { frames: Uint8Array; batch: number }; result: EncodedBatch };
};

/** Options of {@linkcode ParallelEncoder.create}. */
export interface ParallelEncoderOptions {
  /** Threads sharing each batch, the calling thread included; default 2. */
  workers?: number;
}

/**
 * {@linkcode EncoderEngine} over several threads: each batch is split between the calling
 * thread and `workers - 1` helper Workers, each running its own engine. Every frame's latents
 * are computed the same way whatever the split, so the result equals a single engine's, bit
 * for bit.
 */
export class ParallelEncoder {
  readonly #engine: EncoderEngine;
  readonly #helpers: WorkerPool<EncoderWorkerMethods>;

  private constructor(engine: EncoderEngine, helpers: WorkerPool<EncoderWorkerMethods>) {
    this.#engine = engine;
    this.#helpers = helpers;
  }

  /** Starts the helper Workers with a copy of `weights` and waits until they are ready. */
  static async create(
    weights: EncoderWeights,
    options: ParallelEncoderOptions = {},
  ): Promise<ParallelEncoder> {
    const workers = options.workers ?? 2;
    if (!Number.isInteger(workers) || workers < 1) {
      throw new RangeError(`Cannot start the encoder: workers must be >= 1, got ${workers}`);
    }
    const engine = EncoderEngine.fromWeights(weights);
    const helpers = await createPool<EncoderWorkerMethods>(
      new URL("./vae_encoder_worker.ts", import.meta.url),
      weights,
      workers - 1,
      { context: "Cannot encode in a Worker" },
    );
    return new ParallelEncoder(engine, helpers);
  }

  /** Threads in use, the calling one included. */
  get workers(): number {
    return this.#helpers.size + 1;
  }

  /** Encodes `batch` uint8 frames, as {@linkcode EncoderEngine.encode}. */
  async encode(frames: Uint8Array, batch: number): Promise<EncodedBatch> {
    if (!Number.isInteger(batch) || batch < 0 || frames.length !== batch * FRAME) {
      throw new RangeError(
        `Cannot encode frames: expected ${batch * FRAME} bytes for ${batch} frames of ` +
          `64x64x3, got ${frames.length}`,
      );
    }
    const shares = Math.max(1, Math.min(batch, this.workers));
    const bounds = Array.from({ length: shares + 1 }, (_, i) => Math.round((i * batch) / shares));
    const pending = Array.from({ length: shares - 1 }, (_, i) => {
      const [from, to] = [bounds[i + 1], bounds[i + 2]];
      const part = frames.slice(from * FRAME, to * FRAME);
      return this.#helpers.request("encode", { frames: part, batch: to - from }, {
        worker: i,
        transfer: [part.buffer],
      });
    });
    const own = this.#engine.encode(frames.subarray(0, bounds[1] * FRAME), bounds[1]);
    const parts = [own, ...await Promise.all(pending)];
    if (parts.length === 1) return own;
    const z = this.#engine.zSize;
    const mu = new Float32Array(batch * z), logvar = new Float32Array(batch * z);
    parts.forEach((part, i) => {
      mu.set(part.mu, bounds[i] * z);
      logvar.set(part.logvar, bounds[i] * z);
    });
    return { mu, logvar };
  }

  /** Stops the helper Workers. */
  close(): void {
    this.#helpers.close();
  }
}
