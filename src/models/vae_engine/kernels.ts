/**
 * The VAE training engine's WebAssembly SIMD kernels, generated at runtime with the toolkit of
 * `src/models/simd/`: the register-blocked products (fused multiply-add), the packing kernels,
 * and `patch`, which moves the patches of a stride-2 convolution between an NHWC image and
 * row-major patch rows in either direction: gathering (im2col: a convolution's input, a
 * transposed convolution's output gradient) or scatter-adding (col2im: a convolution's input
 * gradient, a transposed convolution's output).
 *
 * @module
 */
import {
  assembleModule,
  FuncBuilder,
  gemmFunc,
  I32,
  packFunc,
  packLanesFunc,
  packT4Func,
  USE_FMA,
  V128,
} from "../simd/mod.ts";

/** Stride of every convolution of the VAE. */
export const STRIDE = 2;

/**
 * Emits `patch(img, rowBytes, imgBytes, ow, ohw, m0, m1, segBytes, pixBytes, k, cols,
 * colRowBytes)`: for each patch m in m0 .. m1-1 (image b = m / ohw, patch row oy, column ox),
 * the k kernel rows of segBytes contiguous bytes starting at img + b*imgBytes +
 * 2*oy*rowBytes + ox*pixBytes + kh*rowBytes, and the patch row cols + (m - m0)*colRowBytes
 * (kernel rows one after another). Gathering copies image to patch row; scattering adds the
 * patch row into the image (patches overlap, so scattering runs in order on one thread).
 */
function patchFunc(scatter: boolean): FuncBuilder {
  const f = new FuncBuilder(Array(12).fill(I32));
  const [img, rowBytes, imgBytes, ow, ohw, m0, m1, segBytes, pixBytes, k, cols, colRowBytes] = [
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
    11,
  ];
  const m = f.local(I32), b = f.local(I32), rem = f.local(I32), oy = f.local(I32);
  const base = f.local(I32), colp = f.local(I32), kh = f.local(I32), j = f.local(I32);
  const vecEnd = f.local(I32);
  f.get(segBytes).i32(~15).and().set(vecEnd);
  f.get(m0).set(m);
  f.block().loop();
  {
    f.get(m).get(ohw).divU().set(b);
    f.get(m).get(b).get(ohw).mul().sub().set(rem);
    f.get(rem).get(ow).divU().set(oy);
    f.get(img).get(b).get(imgBytes).mul().add();
    f.get(oy).get(rowBytes).mul().i32(STRIDE).mul().add();
    f.get(rem).get(oy).get(ow).mul().sub().get(pixBytes).mul().add().set(base);
    f.get(cols).get(m).get(m0).sub().get(colRowBytes).mul().add().set(colp);
    f.i32(0).set(kh);
    f.block().loop();
    {
      f.i32(0).set(j);
      f.get(vecEnd).if();
      f.block().loop();
      if (scatter) {
        f.get(base).get(j).add().get(base).get(j).add().vload(0);
        f.get(colp).get(j).add().vload(0).vadd().vstore(0);
      } else {
        f.get(colp).get(j).add().get(base).get(j).add().vload(0).vstore(0);
      }
      f.get(j).i32(16).add().tee(j).get(vecEnd).ltS().brIf(0);
      f.end().end();
      f.end();
      f.block();
      f.get(j).get(segBytes).geS().brIf(0);
      f.loop();
      if (scatter) {
        f.get(base).get(j).add().get(base).get(j).add().f32Load();
        f.get(colp).get(j).add().f32Load().fadd().f32Store();
      } else {
        f.get(colp).get(j).add().get(base).get(j).add().f32Load().f32Store();
      }
      f.get(j).i32(4).add().tee(j).get(segBytes).ltS().brIf(0);
      f.end().end();
      f.get(base).get(rowBytes).add().set(base);
      f.get(colp).get(segBytes).add().set(colp);
      f.get(kh).i32(1).add().tee(kh).get(k).ltS().brIf(0);
    }
    f.end().end();
    f.get(m).i32(1).add().tee(m).get(m1).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/** Emits `biasRelu(buf, rows, cols, bias)`: buf = max(buf + bias, 0) row by row, cols % 4 = 0. */
function biasReluFunc(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32]);
  const [buf, rows, cols, bias] = [0, 1, 2, 3];
  const r = f.local(I32), c = f.local(I32), p = f.local(I32), zero = f.local(V128);
  f.i32(0).visplat().set(zero);
  f.get(buf).set(p);
  f.i32(0).set(r);
  f.block().loop();
  {
    f.i32(0).set(c);
    f.block().loop();
    {
      f.get(p).get(p).vload(0).get(bias).get(c).add().vload(0).vadd().get(zero).vmax().vstore(0);
      f.get(p).i32(16).add().set(p);
      f.get(c).i32(16).add().tee(c).get(cols).i32(4).mul().ltS().brIf(0);
    }
    f.end().end();
    f.get(r).i32(1).add().tee(r).get(rows).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/** Emits `reluMask(dy, y, n)`: dy = y > 0 ? dy : 0 over n floats (n % 4 = 0, n > 0). */
function reluMaskFunc(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32]);
  const [dy, y, n] = [0, 1, 2];
  const end = f.local(I32), zero = f.local(V128);
  f.i32(0).visplat().set(zero);
  f.get(dy).get(n).i32(4).mul().add().set(end);
  f.block().loop();
  {
    f.get(dy).get(dy).vload(0).get(zero).get(y).vload(0).vlt().vand().vstore(0);
    f.get(y).i32(16).add().set(y);
    f.get(dy).i32(16).add().tee(dy).get(end).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/** Emits `colSums(src, rows, cols, dst)`: dst += the sums of the columns (cols % 4 = 0). */
function colSumsFunc(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32]);
  const [src, rows, cols, dst] = [0, 1, 2, 3];
  const r = f.local(I32), c = f.local(I32), p = f.local(I32), colBytes = f.local(I32);
  f.get(cols).i32(4).mul().set(colBytes);
  f.get(src).set(p);
  f.i32(0).set(r);
  f.block().loop();
  {
    f.i32(0).set(c);
    f.block().loop();
    {
      f.get(dst).get(c).add().get(dst).get(c).add().vload(0).get(p).vload(0).vadd().vstore(0);
      f.get(p).i32(16).add().set(p);
      f.get(c).i32(16).add().tee(c).get(colBytes).ltS().brIf(0);
    }
    f.end().end();
    f.get(r).i32(1).add().tee(r).get(rows).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/** The exported kernels of one module instance (one per engine, on its own memory). */
export interface VaeKernels {
  /** The module's memory. */
  memory: WebAssembly.Memory;
  /** `gemmFunc(true, { epilogue })`: column panels outer, bias and ReLU epilogue. */
  gemmPE: (...args: number[]) => void;
  /** `gemmFunc(false)`: row panels outer, plain. */
  gemmI: (...args: number[]) => void;
  /** `packFunc()`: strided copy into panels. */
  pack: (...args: number[]) => void;
  /** `packLanesFunc(8)`: row-major lanes into NR-column panels. */
  packLanes8: (...args: number[]) => void;
  /** `packT4Func()`: row-major rows into MR-row panels. */
  packT4: (...args: number[]) => void;
  /** `patchFunc(false)`: im2col. */
  gather: (...args: number[]) => void;
  /** `patchFunc(true)`: col2im (adds). */
  scatter: (...args: number[]) => void;
  /** `biasReluFunc()`. */
  biasRelu: (...args: number[]) => void;
  /** `reluMaskFunc()`. */
  reluMask: (...args: number[]) => void;
  /** `colSumsFunc()`. */
  colSums: (...args: number[]) => void;
}

let compiled: WebAssembly.Module | undefined;

/** Instantiates the kernels on a fresh memory (the module is compiled once per thread). */
export function createVaeKernels(): VaeKernels {
  compiled ??= new WebAssembly.Module(assembleModule([
    { name: "gemmPE", fn: gemmFunc(true, { fma: USE_FMA, epilogue: true }) },
    { name: "gemmI", fn: gemmFunc(false, { fma: USE_FMA }) },
    { name: "pack", fn: packFunc() },
    { name: "packLanes8", fn: packLanesFunc(8) },
    { name: "packT4", fn: packT4Func() },
    { name: "gather", fn: patchFunc(false) },
    { name: "scatter", fn: patchFunc(true) },
    { name: "biasRelu", fn: biasReluFunc() },
    { name: "reluMask", fn: reluMaskFunc() },
    { name: "colSums", fn: colSumsFunc() },
  ]));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const ex = new WebAssembly.Instance(compiled, { env: { memory } }).exports as Record<
    string,
    (...args: number[]) => void
  >;
  return {
    memory,
    gemmPE: ex.gemmPE,
    gemmI: ex.gemmI,
    pack: ex.pack,
    packLanes8: ex.packLanes8,
    packT4: ex.packT4,
    gather: ex.gather,
    scatter: ex.scatter,
    biasRelu: ex.biasRelu,
    reluMask: ex.reluMask,
    colSums: ex.colSums,
  };
}
