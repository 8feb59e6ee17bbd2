/**
 * The register-blocked matrix product on packed panels that every SIMD engine uses, and its
 * driver for long depths.
 *
 * A product `C (=|+=) A x B` walks MR x NR register blocks of C (4 rows x two f32x4 vectors);
 * A is read as MR-row panels (one f32 splat per row and k) and B as NR-column panels (two
 * vector loads per k), both laid out by the packing kernels of `pack.ts` or read in place where
 * the layout already fits. Only the products use relaxed SIMD (see {@linkcode USE_FMA}).
 *
 * @module
 */
import { FuncBuilder, I32, V128 } from "./asm.ts";

/** Rows of the register block; batch sizes that are multiples of it need no padding. */
export const MR = 4;
/** Columns of the register block (two f32x4 vectors). */
export const NR = 8;
/**
 * Whether the products use `f32x4.relaxed_madd` (a fused multiply-add where the CPU has FMA:
 * about 10-15% faster here). V8 fuses on every x86-64 CPU with FMA3 (2013 on) and on arm64, so
 * results are identical across such machines; only a CPU without FMA rounds differently.
 */
export const USE_FMA = true;

/** Options of {@linkcode gemmFunc}. */
export interface GemmFuncOptions {
  /** Rows of the register block; default {@linkcode MR}. */
  mr?: number;
  /** Fused multiply-add (`relaxed_madd`); default false. */
  fma?: boolean;
  /**
   * Adds two parameters, `bias` (byte offset of one f32 per column) and `relu` (0 or 1): with
   * `acc` = 0 the accumulators start from the bias instead of zero, and with `relu` the block is
   * clamped at 0 before it is stored (a layer's whole epilogue, with no second pass over C).
   */
  epilogue?: boolean;
}

/**
 * Emits `C (=|+=) A x B` over mPanels x nPanels register blocks:
 * `(a, sAk, sAp, b, sBk, sBp, c, ldc, mPanels, nPanels, K, acc[, bias, relu])`.
 */
export function gemmFunc(pOuter: boolean, options: GemmFuncOptions = {}): FuncBuilder {
  const { mr = MR, fma = false, epilogue = false } = options;
  // a, sAk, sAp, b, sBk, sBp, c, ldc, mPanels, nPanels, K, acc (, bias, relu)
  const f = new FuncBuilder(Array(epilogue ? 14 : 12).fill(I32));
  const [a, sAk, sAp, b, sBk, sBp, c, ldc, mP, nP, K, acc] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const [bias, relu] = [12, 13];
  const accs = Array.from({ length: mr * 2 }, () => f.local(V128));
  const b0 = f.local(V128), b1 = f.local(V128), va = f.local(V128);
  const ap = f.local(I32), bp = f.local(I32);
  const i = f.local(I32), p = f.local(I32), cp = f.local(I32);
  const k2 = f.local(I32);
  const zero = epilogue ? f.local(V128) : -1;
  const biasAt = epilogue ? f.local(I32) : -1;
  if (epilogue) f.i32(0).visplat().set(zero);

  const step = () => {
    f.get(bp).vload(0).set(b0);
    f.get(bp).vload(16).set(b1);
    for (let r = 0; r < mr; r++) {
      f.get(ap).vsplatLoad(4 * r).set(va);
      if (fma) {
        f.get(va).get(b0).get(accs[2 * r]).vmadd().set(accs[2 * r]);
        f.get(va).get(b1).get(accs[2 * r + 1]).vmadd().set(accs[2 * r + 1]);
      } else {
        f.get(accs[2 * r]).get(va).get(b0).vmul().vadd().set(accs[2 * r]);
        f.get(accs[2 * r + 1]).get(va).get(b1).vmul().vadd().set(accs[2 * r + 1]);
      }
    }
    f.get(ap).get(sAk).add().set(ap);
    f.get(bp).get(sBk).add().set(bp);
  };
  const block = () => {
    // cp = c + i*mr*ldc + p*32
    f.get(c).get(i).get(ldc).mul().i32(mr).mul().add().get(p).i32(32).mul().add().set(cp);
    f.get(acc).if();
    for (let r = 0; r < mr; r++) {
      f.get(cp).vload(0).set(accs[2 * r]);
      f.get(cp).vload(16).set(accs[2 * r + 1]);
      if (r < mr - 1) f.get(cp).get(ldc).add().set(cp);
    }
    f.else();
    if (epilogue) {
      f.get(bias).get(p).i32(32).mul().add().tee(biasAt).vload(0).set(accs[0]);
      f.get(biasAt).vload(16).set(accs[1]);
      for (let r = 2; r < mr * 2; r++) f.get(accs[r % 2]).set(accs[r]);
    } else {
      for (let r = 0; r < mr * 2; r++) f.i32(0).visplat().set(accs[r]);
    }
    f.end();
    f.get(a).get(i).get(sAp).mul().add().set(ap);
    f.get(b).get(p).get(sBp).mul().add().set(bp);
    // k2 = K >> 1 unrolled double steps, then one tail step if K is odd
    f.get(K).i32(1).shrU().set(k2);
    f.get(k2).if();
    f.block().loop();
    step();
    step();
    f.get(k2).i32(1).sub().tee(k2).brIf(0);
    f.end().end();
    f.end();
    f.get(K).i32(1).and().if();
    step();
    f.end();
    f.get(c).get(i).get(ldc).mul().i32(mr).mul().add().get(p).i32(32).mul().add().set(cp);
    if (epilogue) {
      f.get(relu).if();
      for (let r = 0; r < mr * 2; r++) f.get(accs[r]).get(zero).vmax().set(accs[r]);
      f.end();
    }
    for (let r = 0; r < mr; r++) {
      f.get(cp).get(accs[2 * r]).vstore(0);
      f.get(cp).get(accs[2 * r + 1]).vstore(16);
      if (r < mr - 1) f.get(cp).get(ldc).add().set(cp);
    }
  };
  const [outer, outerN, inner, innerN] = pOuter ? [p, nP, i, mP] : [i, mP, p, nP];
  f.i32(0).set(outer);
  f.block().loop();
  f.i32(0).set(inner);
  f.block().loop();
  block();
  f.get(inner).i32(1).add().tee(inner).get(innerN).ltS().brIf(0);
  f.end().end();
  f.get(outer).i32(1).add().tee(outer).get(outerN).ltS().brIf(0);
  f.end().end();
  return f;
}

/** The kernels {@linkcode gemmLongK} calls, as exported by a module built with them. */
export interface LongKKernels {
  /** The module's memory. */
  memory: WebAssembly.Memory;
  /** `gemmFunc(true)`: column panels outer. */
  gemmP: (...args: number[]) => void;
  /** `packLanesFunc(8)` of `pack.ts`. */
  packLanes8: (...args: number[]) => void;
}

/** Rows of K processed per call by {@linkcode gemmLongK}: keeps a B panel chunk in L1. */
export const K_CHUNK = 256;

/** Operands of one product: `C (=|+=) A x B`, all offsets and strides in bytes. */
export interface GemmArgs {
  /** A: element (row r of panel i, k) at a + i*sAp + k*sAk + 4r. */
  a: number;
  /** A stride between consecutive k. */
  sAk: number;
  /** A stride between panels of MR rows. */
  sAp: number;
  /** B: lanes (k, panel p) at b + p*sBp + k*sBk (NR contiguous floats). */
  b: number;
  /** B stride between consecutive k. */
  sBk: number;
  /** B stride between panels of NR columns. */
  sBp: number;
  /** C, row-major. */
  c: number;
  /** C row stride. */
  ldc: number;
  /** Panels of MR rows. */
  mPanels: number;
  /** Panels of NR columns. */
  nPanels: number;
  /** Depth. */
  K: number;
}

/**
 * `C = A x B` for a long K (thousands): K is cut into chunks so that each chunk of a B panel
 * stays in L1 and the chunk of all A panels in L2 (column panels outer). With `scratch`
 * (K_CHUNK * nPanels * NR floats), B is read as row-major lanes (sBp = NR*4) and each chunk is
 * first copied into packed panels there, so B needs no full packed copy.
 */
export function gemmLongK(k: LongKKernels, g: GemmArgs, scratch?: number): void {
  if (g.K === 0) {
    // An empty sum (e.g. a one-step sequence has no recurrent-weight gradient): C = 0.
    const f32 = new Float32Array(k.memory.buffer as ArrayBuffer);
    for (let r = 0; r < g.mPanels * MR; r++) {
      const row = (g.c + r * g.ldc) >> 2;
      f32.fill(0, row, row + g.nPanels * NR);
    }
    return;
  }
  for (let k0 = 0; k0 < g.K; k0 += K_CHUNK) {
    const kc = Math.min(K_CHUNK, g.K - k0);
    let b = g.b + k0 * g.sBk, sBk = g.sBk, sBp = g.sBp;
    if (scratch !== undefined) {
      k.packLanes8(b, sBk, kc, g.nPanels, scratch);
      [b, sBk, sBp] = [scratch, NR * 4, kc * NR * 4];
    }
    k.gemmP(
      g.a + k0 * g.sAk,
      g.sAk,
      g.sAp,
      b,
      sBk,
      sBp,
      g.c,
      g.ldc,
      g.mPanels,
      g.nPanels,
      kc,
      k0 > 0 ? 1 : 0,
    );
  }
}
