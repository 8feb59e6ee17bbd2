/**
 * WebAssembly SIMD kernels for training an LSTM + mixture-density head, generated at runtime by
 * {@linkcode assembleModule}.
 *
 * Why not tfjs ops: the recurrence is 300 small sequential steps, and in the tfjs wasm backend
 * each op costs tens to hundreds of microseconds (its `tanh`/`sigmoid` are scalar loops), and
 * its matrix product reaches only about half of what a register-blocked SIMD kernel reaches on
 * packed operands. Here a whole training step (forward, loss, backward) runs in one wasm
 * module on one linear memory, with:
 *
 * - `gemm`: C (=|+=) A x B on packed panels (4 rows x 8 columns register block);
 * - `pack`: copies a strided matrix into panels (this also performs every transpose);
 * - `gates_fwd` / `gates_bwd`: the fused LSTM cell and its gradient, vectorised (exp by a
 *   Cephes-style polynomial), gate order i, f, c, o as in Keras.
 *
 * Only the products use relaxed SIMD (see {@linkcode USE_FMA}); everything else is plain SIMD.
 *
 * @module
 */
import { assembleModule, F32, FuncBuilder, I32, V128 } from "./wasm_asm.ts";

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

/**
 * Emits `pack(src, sRow, sK, rows, K, dst, w)`: dst[(ib*K + k)*w + r] = src[(ib*w+r)*sRow +
 * k*sK] (byte strides), rows past `rows` zero-filled up to a multiple of w.
 */
function packFunc(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32, I32]);
  const [src, sRow, sK, rows, K, dst, w] = [0, 1, 2, 3, 4, 5, 6];
  const ib = f.local(I32), k = f.local(I32), r = f.local(I32), row = f.local(I32);
  const sp = f.local(I32), dp = f.local(I32), nb = f.local(I32), rowBase = f.local(I32);
  // nb = ceil(rows / w)
  f.get(rows).get(w).add().i32(1).sub().get(w).divU().set(nb);
  f.get(dst).set(dp);
  f.i32(0).set(ib);
  f.block().loop();
  {
    f.get(ib).get(w).mul().set(rowBase);
    f.i32(0).set(k);
    f.block().loop();
    {
      f.i32(0).set(r);
      f.block().loop();
      {
        f.get(rowBase).get(r).add().tee(row).get(rows).ltS().if();
        f.get(dp).get(src).get(row).get(sRow).mul().add().get(k).get(sK).mul().add().tee(sp)
          .f32Load().f32Store();
        f.else();
        f.get(dp).f32(0).f32Store();
        f.end();
        f.get(dp).i32(4).add().set(dp);
        f.get(r).i32(1).add().tee(r).get(w).ltS().brIf(0);
      }
      f.end().end();
      f.get(k).i32(1).add().tee(k).get(K).ltS().brIf(0);
    }
    f.end().end();
    f.get(ib).i32(1).add().tee(ib).get(nb).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/**
 * Emits `packLanes(src, sK, K, nPanels, dst)` for panels whose `w` lanes are contiguous in the
 * source (w = 4 or 8): dst[(ib*K + k)*w + r] = src[ib*w*4 + k*sK + 4r] (bytes), with SIMD copies.
 */
function packLanesFunc(w: number): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32]);
  const [src, sK, K, nP, dst] = [0, 1, 2, 3, 4];
  const ib = f.local(I32), k = f.local(I32), sp = f.local(I32), dp = f.local(I32);
  f.get(dst).set(dp);
  f.i32(0).set(ib);
  f.block().loop();
  {
    f.get(src).get(ib).i32(w * 4).mul().add().set(sp);
    f.get(K).set(k);
    f.block().loop();
    {
      for (let v = 0; v < w / 4; v++) f.get(dp).get(sp).vload(16 * v).vstore(16 * v);
      f.get(dp).i32(w * 4).add().set(dp);
      f.get(sp).get(sK).add().set(sp);
      f.get(k).i32(1).sub().tee(k).brIf(0);
    }
    f.end().end();
    f.get(ib).i32(1).add().tee(ib).get(nP).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/**
 * Emits the 4x4 transpose of the rows in locals `r` (f32x4 each) to 64 bytes at `dp`: column j
 * of the rows becomes the vector at dp + 16j. `t` are four scratch v128 locals.
 */
export function emitTranspose4(f: FuncBuilder, r: number[], t: number[], dp: number): void {
  f.get(r[0]).get(r[1]).shuffle32([0, 4, 1, 5]).set(t[0]);
  f.get(r[0]).get(r[1]).shuffle32([2, 6, 3, 7]).set(t[1]);
  f.get(r[2]).get(r[3]).shuffle32([0, 4, 1, 5]).set(t[2]);
  f.get(r[2]).get(r[3]).shuffle32([2, 6, 3, 7]).set(t[3]);
  f.get(dp).get(t[0]).get(t[2]).shuffle32([0, 1, 4, 5]).vstore(0);
  f.get(dp).get(t[0]).get(t[2]).shuffle32([2, 3, 6, 7]).vstore(16);
  f.get(dp).get(t[1]).get(t[3]).shuffle32([0, 1, 4, 5]).vstore(32);
  f.get(dp).get(t[1]).get(t[3]).shuffle32([2, 3, 6, 7]).vstore(48);
}

/**
 * Emits `packT4(src, ld, K, nPanels, dst)`: MR=4-row panels of a row-major matrix (row stride
 * `ld` bytes), K a multiple of 4: dst[(ib*K + k)*4 + r] = src[(ib*4 + r)*ld + 4k], by 4x4
 * SIMD transposes.
 */
function packT4Func(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32]);
  const [src, ld, K, nP, dst] = [0, 1, 2, 3, 4];
  const ib = f.local(I32), k = f.local(I32), sp = f.local(I32), dp = f.local(I32);
  const r = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const t = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(dst).set(dp);
  f.i32(0).set(ib);
  f.block().loop();
  {
    f.get(src).get(ib).get(ld).mul().i32(4).mul().add().set(sp);
    f.i32(0).set(k);
    f.block().loop();
    {
      for (let i = 0; i < 4; i++) f.get(sp).get(ld).i32(i).mul().add().vload(0).set(r[i]);
      emitTranspose4(f, r, t, dp);
      f.get(dp).i32(64).add().set(dp);
      f.get(sp).i32(16).add().set(sp);
      f.get(k).i32(4).add().tee(k).get(K).ltS().brIf(0);
    }
    f.end().end();
    f.get(ib).i32(1).add().tee(ib).get(nP).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/** Constants of the vectorised exp, hoisted into locals: V8 rebuilds a v128.const on every use. */
interface ExpConsts {
  [name: string]: number;
}

const EXP_CONSTANTS: Record<string, number> = {
  hi: 88.3762626647949,
  lo: -87.3365447504,
  log2e: Math.LOG2E,
  magic: 12582912, // 1.5 * 2^23: adding it rounds to an integer held in the low mantissa bits
  c1: 0.693359375,
  c2: -2.12194440e-4,
  p0: 1.9875691500e-4,
  p1: 1.3981999507e-3,
  p2: 8.3334519073e-3,
  p3: 4.1665795894e-2,
  p4: 1.6666665459e-1,
  p5: 5.0000001201e-1,
  zero: 0,
  one: 1,
  two: 2,
  half: 0.5,
  sqrthf: Math.SQRT1_2,
  l0: 7.0376836292e-2,
  l1: -1.1514610310e-1,
  l2: 1.1676998740e-1,
  l3: -1.2420140846e-1,
  l4: 1.4249322787e-1,
  l5: -1.6668057665e-1,
  l6: 2.0000714765e-1,
  l7: -2.4999993993e-1,
  l8: 3.3333331174e-1,
};

/** Declares and initialises the constant locals used by {@linkcode emitExp}. */
function expConsts(f: FuncBuilder): ExpConsts {
  const c: ExpConsts = {};
  for (const [name, value] of Object.entries(EXP_CONSTANTS)) {
    c[name] = f.local(V128);
    f.vconst(value).set(c[name]);
  }
  c.bias127 = f.local(V128);
  f.i32(127).visplat().set(c.bias127);
  c.i126 = f.local(V128);
  f.i32(126).visplat().set(c.i126);
  c.mantMask = f.local(V128);
  f.i32(0x807fffff).visplat().set(c.mantMask);
  c.halfBits = f.local(V128);
  f.i32(0x3f000000).visplat().set(c.halfBits);
  return c;
}

/** Pushes exp(v) for the f32x4 on top of the stack (uses scratch locals x, n). */
function emitExp(f: FuncBuilder, c: ExpConsts, x: number, n: number): void {
  // x = clamp(x); t = x*log2e + magic rounds to n; r = x - n*ln2 (in two parts);
  // exp = poly(r) * 2^n, where 2^n's bits are (bits(n + magic) + 127) << 23.
  f.get(c.hi).vmin().get(c.lo).vmax().set(x);
  f.get(x).get(c.log2e).vmul().get(c.magic).vadd().get(c.magic).vsub().set(n);
  f.get(x).get(n).get(c.c1).vmul().vsub().get(n).get(c.c2).vmul().vsub().set(x);
  f.get(c.p0).get(x).vmul().get(c.p1).vadd();
  f.get(x).vmul().get(c.p2).vadd();
  f.get(x).vmul().get(c.p3).vadd();
  f.get(x).vmul().get(c.p4).vadd();
  f.get(x).vmul().get(c.p5).vadd();
  f.get(x).vmul().get(x).vmul().get(x).vadd().get(c.one).vadd();
  f.get(n).get(c.magic).vadd().get(c.bias127).viadd().i32(23).vishl();
  f.vmul();
}

/** Pushes log(v) (v > 0, normal) for the f32x4 on top of the stack; Cephes logf. */
function emitLog(f: FuncBuilder, c: ExpConsts, x: number, e: number, m: number): void {
  f.set(x);
  // x = m * 2^e with m in [0.5, 1)
  f.get(x).i32(23).vishrU().get(c.i126).visub().set(e);
  f.get(x).get(c.mantMask).vand().get(c.halfBits).vor().set(m);
  // if m < sqrt(1/2): e -= 1, m = 2m - 1, else m = m - 1 (mask lanes are -1 as integers)
  f.get(m).get(c.sqrthf).vlt().set(x);
  f.get(e).get(x).viadd().vconvertS().set(e);
  f.get(m).get(m).get(x).vand().vadd().get(c.one).vsub().set(m);
  // y = m^3 P(m) - 2.12e-4 e - m^2 / 2; log = m + y + 0.693359375 e
  f.get(c.l0).get(m).vmul().get(c.l1).vadd();
  for (const k of ["l2", "l3", "l4", "l5", "l6", "l7", "l8"]) f.get(m).vmul().get(c[k]).vadd();
  f.get(m).vmul().get(m).vmul().get(m).vmul();
  f.get(e).get(c.c2).vmul().vadd();
  f.get(m).get(m).vmul().get(c.half).vmul().vsub();
  f.get(m).vadd().get(e).get(c.c1).vmul().vadd();
}

/**
 * mdn_loss(y, ldy, hb, zt, ldz, rows, dhb, acc, scale): mixture NLL and its gradient for `rows`
 * rows of head outputs in the kernel's column order (field*K + j)*Z + d (field: logit, mean,
 * log-std), 4 latent dimensions per vector. Adds the bias hb, replaces y by dLoss/dy (times
 * `scale`), adds the gradient to dhb, and adds M + log(S / se) per lane to acc (the NLL of a
 * dimension is log(sqrt(2 pi)) minus that).
 */
function mdnLossFunc(zSize: number, mixtures: number): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32, I32, I32, F32]);
  const [y, ldy, hb, zt, ldz, rows, dhb, accOut, scale] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const K = mixtures, Z4 = zSize * 4;
  const c = expConsts(f);
  const x = f.local(V128), n = f.local(V128), t = f.local(V128);
  const vs = f.local(V128), acc = f.local(V128), vz = f.local(V128);
  const l = Array.from({ length: K }, () => f.local(V128));
  const p = Array.from({ length: K }, () => f.local(V128));
  const inv = Array.from({ length: K }, () => f.local(V128));
  const e = Array.from({ length: K }, () => f.local(V128));
  const a = Array.from({ length: K }, () => f.local(V128));
  const m = f.local(V128), se = f.local(V128), mx = f.local(V128), sa = f.local(V128);
  const row = f.local(I32), d = f.local(I32), yp = f.local(I32), hp = f.local(I32);
  const gp = f.local(I32);
  const off = (field: number, j: number) => (field * K + j) * Z4;
  f.get(scale).splat().set(vs);
  f.get(accOut).vload(0).set(acc);
  f.i32(0).set(row);
  f.block().loop();
  {
    f.i32(0).set(d);
    f.block().loop();
    {
      f.get(y).get(row).get(ldy).mul().add().get(d).add().set(yp);
      f.get(hb).get(d).add().set(hp);
      f.get(dhb).get(d).add().set(gp);
      f.get(zt).get(row).get(ldz).mul().add().get(d).add().vload(0).set(vz);
      // logits and their max
      for (let j = 0; j < K; j++) {
        f.get(yp).vload(off(0, j)).get(hp).vload(off(0, j)).vadd().set(l[j]);
        if (j === 0) f.get(l[0]).set(m);
        else f.get(m).get(l[j]).vmax().set(m);
      }
      f.get(c.zero).set(se);
      for (let j = 0; j < K; j++) {
        f.get(l[j]).get(m).vsub();
        emitExp(f, c, x, n);
        f.tee(p[j]).get(se).vadd().set(se);
      }
      for (let j = 0; j < K; j++) {
        // t = log-std, inv = exp(-t), e = (z - mu) * inv, a = (l - m) - e^2 / 2 - t
        f.get(yp).vload(off(2, j)).get(hp).vload(off(2, j)).vadd().set(t);
        f.get(t).vneg();
        emitExp(f, c, x, n);
        f.set(inv[j]);
        f.get(vz).get(yp).vload(off(1, j)).get(hp).vload(off(1, j)).vadd().vsub().get(inv[j]).vmul()
          .set(e[j]);
        f.get(l[j]).get(m).vsub().get(e[j]).get(e[j]).vmul().get(c.half).vmul().vsub().get(t).vsub()
          .set(a[j]);
        if (j === 0) f.get(a[0]).set(mx);
        else f.get(mx).get(a[j]).vmax().set(mx);
      }
      f.get(c.zero).set(sa);
      for (let j = 0; j < K; j++) {
        f.get(a[j]).get(mx).vsub();
        emitExp(f, c, x, n);
        f.tee(a[j]).get(sa).vadd().set(sa);
      }
      f.get(sa).get(se).vdiv();
      emitLog(f, c, x, n, t);
      f.get(mx).vadd().get(acc).vadd().set(acc);
      // gradients: w = a/sa, pi = p/se
      f.get(c.one).get(sa).vdiv().set(sa);
      f.get(c.one).get(se).vdiv().get(vs).vmul().set(se); // se := scale / se
      f.get(sa).get(vs).vmul().set(sa); // sa := scale / sa
      for (let j = 0; j < K; j++) {
        f.get(a[j]).get(sa).vmul().set(a[j]); // scale * w
        // dlogit = scale * (pi - w)
        f.get(p[j]).get(se).vmul().get(a[j]).vsub().set(t);
        f.get(yp).get(t).vstore(off(0, j));
        f.get(gp).get(gp).vload(off(0, j)).get(t).vadd().vstore(off(0, j));
        // dmu = -scale * w * e * inv
        f.get(c.zero).get(a[j]).get(e[j]).vmul().get(inv[j]).vmul().vsub().set(t);
        f.get(yp).get(t).vstore(off(1, j));
        f.get(gp).get(gp).vload(off(1, j)).get(t).vadd().vstore(off(1, j));
        // dlogstd = scale * w * (1 - e^2)
        f.get(a[j]).get(c.one).get(e[j]).get(e[j]).vmul().vsub().vmul().set(t);
        f.get(yp).get(t).vstore(off(2, j));
        f.get(gp).get(gp).vload(off(2, j)).get(t).vadd().vstore(off(2, j));
      }
      f.get(d).i32(16).add().tee(d).i32(Z4).ltS().brIf(0);
    }
    f.end().end();
    f.get(row).i32(1).add().tee(row).get(rows).ltS().brIf(0);
  }
  f.end().end();
  f.get(accOut).get(acc).vstore(0);
  return f;
}

/** Pushes sigmoid of the f32x4 on top of the stack. */
function emitSigmoid(f: FuncBuilder, c: ExpConsts, x: number, n: number): void {
  f.vneg();
  emitExp(f, c, x, n);
  f.get(c.one).vadd().set(x);
  f.get(c.one).get(x).vdiv();
}

/** Pushes tanh of the f32x4 on top of the stack: 2*sigmoid(2x) - 1. */
function emitTanh(f: FuncBuilder, c: ExpConsts, x: number, n: number): void {
  f.get(c.two).vmul();
  emitSigmoid(f, c, x, n);
  f.get(c.two).vmul().get(c.one).vsub();
}

/**
 * gates_fwd(g, bias, cPrev, cOut, hOut, tcOut, rows): g holds the pre-activations [rows, 4H]
 * (without bias); replaced in place by the activations i, f, tanh(c~), o.
 */
function gatesFwdFunc(hidden: number): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32, I32]);
  const [g, bias, cPrev, cOut, hOut, tcOut, rows] = [0, 1, 2, 3, 4, 5, 6];
  const x = f.local(V128), n = f.local(V128);
  const vi = f.local(V128), vf = f.local(V128), vg = f.local(V128), vo = f.local(V128);
  const vc = f.local(V128), vtc = f.local(V128);
  const j = f.local(I32), row = f.local(I32), gp = f.local(I32), bp = f.local(I32);
  const sp = f.local(I32); // state pointer (c, h, tc share the [rows, H] layout)
  const H4 = hidden * 4; // bytes per gate block
  const c = expConsts(f);
  f.i32(0).set(row);
  f.get(g).set(gp);
  f.i32(0).set(sp);
  f.block().loop();
  {
    f.i32(0).set(j);
    f.get(bias).set(bp);
    f.block().loop();
    {
      f.get(gp).vload(0).get(bp).vload(0).vadd();
      emitSigmoid(f, c, x, n);
      f.set(vi);
      f.get(gp).vload(H4).get(bp).vload(H4).vadd();
      emitSigmoid(f, c, x, n);
      f.set(vf);
      f.get(gp).vload(2 * H4).get(bp).vload(2 * H4).vadd();
      emitTanh(f, c, x, n);
      f.set(vg);
      f.get(gp).vload(3 * H4).get(bp).vload(3 * H4).vadd();
      emitSigmoid(f, c, x, n);
      f.set(vo);
      // c = f*cPrev + i*g
      f.get(vf).get(cPrev).get(sp).add().vload(0).vmul().get(vi).get(vg).vmul().vadd().set(vc);
      f.get(vc);
      emitTanh(f, c, x, n);
      f.set(vtc);
      f.get(cOut).get(sp).add().get(vc).vstore(0);
      f.get(tcOut).get(sp).add().get(vtc).vstore(0);
      f.get(hOut).get(sp).add().get(vo).get(vtc).vmul().vstore(0);
      f.get(gp).get(vi).vstore(0);
      f.get(gp).get(vf).vstore(H4);
      f.get(gp).get(vg).vstore(2 * H4);
      f.get(gp).get(vo).vstore(3 * H4);
      f.get(gp).i32(16).add().set(gp);
      f.get(bp).i32(16).add().set(bp);
      f.get(sp).i32(16).add().set(sp);
      f.get(j).i32(4).add().tee(j).i32(hidden).ltS().brIf(0);
    }
    f.end().end();
    f.get(gp).i32(3 * H4).add().set(gp);
    f.get(row).i32(1).add().tee(row).get(rows).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/**
 * gates_bwd(act, dhA, dhB, cPrev, tc, dc, rows): act holds i, f, tanh(c~), o [rows, 4H] and is
 * replaced by the pre-activation gradients; dc (in: from step t+1, out: to step t-1).
 */
function gatesBwdFunc(hidden: number): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32, I32]);
  const [act, dhA, dhB, cPrev, tc, dc, rows] = [0, 1, 2, 3, 4, 5, 6];
  const vi = f.local(V128), vf = f.local(V128), vg = f.local(V128), vo = f.local(V128);
  const dh = f.local(V128), vtc = f.local(V128), vdc = f.local(V128), one = f.local(V128);
  const j = f.local(I32), row = f.local(I32), gp = f.local(I32), sp = f.local(I32);
  const H4 = hidden * 4;
  f.vconst(1).set(one);
  f.i32(0).set(row);
  f.get(act).set(gp);
  f.i32(0).set(sp);
  f.block().loop();
  {
    f.i32(0).set(j);
    f.block().loop();
    {
      f.get(gp).vload(0).set(vi);
      f.get(gp).vload(H4).set(vf);
      f.get(gp).vload(2 * H4).set(vg);
      f.get(gp).vload(3 * H4).set(vo);
      f.get(dhA).get(sp).add().vload(0).get(dhB).get(sp).add().vload(0).vadd().set(dh);
      f.get(tc).get(sp).add().vload(0).set(vtc);
      // dc += dh * o * (1 - tc^2)
      f.get(dc).get(sp).add().vload(0).get(dh).get(vo).vmul().get(one).get(vtc).get(vtc).vmul()
        .vsub().vmul().vadd().set(vdc);
      // do = dh * tc * o * (1 - o)
      f.get(gp).get(dh).get(vtc).vmul().get(vo).vmul().get(one).get(vo).vsub().vmul()
        .vstore(3 * H4);
      // di = dc * g * i * (1 - i)
      f.get(gp).get(vdc).get(vg).vmul().get(vi).vmul().get(one).get(vi).vsub().vmul().vstore(0);
      // dg = dc * i * (1 - g^2)
      f.get(gp).get(vdc).get(vi).vmul().get(one).get(vg).get(vg).vmul().vsub().vmul()
        .vstore(2 * H4);
      // df = dc * cPrev * f * (1 - f)
      f.get(gp).get(vdc).get(cPrev).get(sp).add().vload(0).vmul().get(vf).vmul().get(one).get(vf)
        .vsub().vmul().vstore(H4);
      // dc_prev = dc * f
      f.get(dc).get(sp).add().get(vdc).get(vf).vmul().vstore(0);
      f.get(gp).i32(16).add().set(gp);
      f.get(sp).i32(16).add().set(sp);
      f.get(j).i32(4).add().tee(j).i32(hidden).ltS().brIf(0);
    }
    f.end().end();
    f.get(gp).i32(3 * H4).add().set(gp);
    f.get(row).i32(1).add().tee(row).get(rows).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/** The compiled kernels and their memory. */
export interface RnnKernels {
  /** The module's memory (grown by {@linkcode KernelMemory}). */
  memory: WebAssembly.Memory;
  /** gemm, i-panels outer (A panel reused across all of B). */
  gemmI: (...args: number[]) => void;
  /** gemm, column panels outer (B panel reused across the few A panels). */
  gemmP: (...args: number[]) => void;
  /** Strided copy into panels. */
  pack: (...args: number[]) => void;
  /** SIMD transpose of a row-major matrix into 4-row panels (K a multiple of 4). */
  packT4: (...args: number[]) => void;
  /** SIMD copy into 4-lane panels from lane-contiguous rows. */
  packLanes4: (...args: number[]) => void;
  /** SIMD copy into 8-lane panels from lane-contiguous rows. */
  packLanes8: (...args: number[]) => void;
  /** Fused LSTM cell forward. */
  gatesFwd: (...args: number[]) => void;
  /** Fused LSTM cell backward. */
  gatesBwd: (...args: number[]) => void;
  /** Mixture NLL and gradient (present when zSize is a multiple of 4). */
  mdnLoss?: (...args: number[]) => void;
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
export function gemmLongK(k: RnnKernels, g: GemmArgs, scratch?: number): void {
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

const moduleCache = new Map<string, WebAssembly.Module>();

/**
 * Compiles (once per network shape) and instantiates the kernels on a fresh memory. The
 * mixture-loss kernel is built when `mixture` is given and its zSize is a multiple of 4.
 */
export function createRnnKernels(
  hidden: number,
  mixture?: { zSize: number; mixtures: number },
): RnnKernels {
  // Panels of NR columns tile the hidden units exactly (no partial panels to handle).
  if (hidden % NR !== 0) {
    throw new RangeError(
      `Cannot build LSTM kernels: hidden size ${hidden} is not a multiple of ${NR}`,
    );
  }
  const withLoss = mixture !== undefined && mixture.zSize % 4 === 0;
  const key = `${hidden}:${withLoss ? `${mixture.zSize}x${mixture.mixtures}` : ""}`;
  let mod = moduleCache.get(key);
  if (!mod) {
    const funcs = [
      { name: "gemmI", fn: gemmFunc(false, { fma: USE_FMA }) },
      { name: "gemmP", fn: gemmFunc(true, { fma: USE_FMA }) },
      { name: "pack", fn: packFunc() },
      { name: "packT4", fn: packT4Func() },
      { name: "packLanes4", fn: packLanesFunc(4) },
      { name: "packLanes8", fn: packLanesFunc(8) },
      { name: "gatesFwd", fn: gatesFwdFunc(hidden) },
      { name: "gatesBwd", fn: gatesBwdFunc(hidden) },
    ];
    if (withLoss) {
      funcs.push({ name: "mdnLoss", fn: mdnLossFunc(mixture.zSize, mixture.mixtures) });
    }
    mod = new WebAssembly.Module(assembleModule(funcs));
    moduleCache.set(key, mod);
  }
  const memory = new WebAssembly.Memory({ initial: 16 });
  const inst = new WebAssembly.Instance(mod, { env: { memory } });
  const ex = inst.exports as Record<string, (...args: number[]) => void>;
  return {
    memory,
    gemmI: ex.gemmI,
    gemmP: ex.gemmP,
    pack: ex.pack,
    packT4: ex.packT4,
    packLanes4: ex.packLanes4,
    packLanes8: ex.packLanes8,
    gatesFwd: ex.gatesFwd,
    gatesBwd: ex.gatesBwd,
    mdnLoss: ex.mdnLoss,
  };
}
