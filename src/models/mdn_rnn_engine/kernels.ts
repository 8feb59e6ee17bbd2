/**
 * The MDN-RNN's own WebAssembly SIMD kernels, generated at runtime with the toolkit of
 * `src/models/simd/`: besides the products and packing kernels,
 *
 * - `gatesFwd` / `gatesBwd`: the fused LSTM cell and its gradient, vectorised, gate order
 *   i, f, c, o as in Keras;
 * - `mdnLoss`: the mixture negative log-likelihood and its gradient, 4 latent dimensions per
 *   vector.
 *
 * Why not tfjs ops: the recurrence is 300 small sequential steps, and in the tfjs wasm backend
 * each op costs tens to hundreds of microseconds (its `tanh`/`sigmoid` are scalar loops), and
 * its matrix product reaches only about half of what a register-blocked SIMD kernel reaches on
 * packed operands. Here a whole training step (forward, loss, backward) runs in one wasm
 * module on one linear memory.
 *
 * @module
 */
import {
  assembleModule,
  emitExp,
  emitLog,
  emitSigmoid,
  emitTanh,
  F32,
  FuncBuilder,
  gemmFunc,
  I32,
  NR,
  packFunc,
  packLanesFunc,
  packT4Func,
  USE_FMA,
  V128,
  vecConsts,
} from "../simd/mod.ts";

/**
 * Emits `mdnLoss(y, ldy, hb, zt, ldz, rows, dhb, acc, scale)`: mixture NLL and its gradient
 * for `rows` rows of head outputs in the kernel's column order (field*K + j)*Z + d (field:
 * logit, mean, log-std), 4 latent dimensions per vector. Adds the bias hb, replaces y by dLoss/dy (times
 * `scale`), adds the gradient to dhb, and adds M + log(S / se) per lane to acc (the NLL of a
 * dimension is log(sqrt(2 pi)) minus that).
 */
function mdnLossFunc(zSize: number, mixtures: number): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32, I32, I32, F32]);
  const [y, ldy, hb, zt, ldz, rows, dhb, accOut, scale] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const K = mixtures, Z4 = zSize * 4;
  const c = vecConsts(f);
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

/**
 * Emits `gatesFwd(g, bias, cPrev, cOut, hOut, tcOut, rows)`: g holds the pre-activations
 * [rows, 4H] (without bias); replaced in place by the activations i, f, tanh(c~), o.
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
  const c = vecConsts(f);
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
 * Emits `gatesBwd(act, dhA, dhB, cPrev, tc, dc, rows)`: act holds i, f, tanh(c~), o
 * [rows, 4H] and is replaced by the pre-activation gradients; dc (in: from step t+1, out: to step t-1).
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
  /** The module's memory (the engines grow it with `layoutArena`). */
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
