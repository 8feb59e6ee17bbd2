/**
 * Vectorised transcendental functions, emitted inline into a kernel on f32x4 values: exp by a
 * Cephes-style polynomial with exponent bits built in integer lanes, log (Cephes logf), and the
 * sigmoid and tanh built on exp. Their constants live in locals declared once per function by
 * {@linkcode vecConsts}.
 *
 * @module
 */
import { type FuncBuilder, V128 } from "./asm.ts";

/**
 * The local holding each constant of the emitters, by name: the constants are hoisted into
 * locals because V8 rebuilds a `v128.const` on every use.
 */
export interface VecConsts {
  [name: string]: number;
}

const FLOAT_CONSTANTS: Record<string, number> = {
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

/** Declares and initialises the constant locals of {@linkcode emitExp} and the others here. */
export function vecConsts(f: FuncBuilder): VecConsts {
  const c: VecConsts = {};
  for (const [name, value] of Object.entries(FLOAT_CONSTANTS)) {
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
export function emitExp(f: FuncBuilder, c: VecConsts, x: number, n: number): void {
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
export function emitLog(f: FuncBuilder, c: VecConsts, x: number, e: number, m: number): void {
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

/** Pushes sigmoid of the f32x4 on top of the stack. */
export function emitSigmoid(f: FuncBuilder, c: VecConsts, x: number, n: number): void {
  f.vneg();
  emitExp(f, c, x, n);
  f.get(c.one).vadd().set(x);
  f.get(c.one).get(x).vdiv();
}

/** Pushes tanh of the f32x4 on top of the stack: 2*sigmoid(2x) - 1. */
export function emitTanh(f: FuncBuilder, c: VecConsts, x: number, n: number): void {
  f.get(c.two).vmul();
  emitSigmoid(f, c, x, n);
  f.get(c.two).vmul().get(c.one).vsub();
}
