/**
 * The machine's WebAssembly SIMD ceiling, measured: a kernel that does nothing but fused
 * multiply-adds (`f32x4.relaxed_madd`) into `accumulators` independent registers, so that the
 * FMA latency is hidden and only the FMA units' throughput limits it. Every engine's GFLOP/s
 * is judged against this figure (bench/simd_bench.ts prints it as `simd_peak_gflops`).
 *
 * @example Two passes of the loop and the value they leave
 * ```ts
 * import { peakModule, peakFlops, peakExpected } from "./peak.ts";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const { exports } = new WebAssembly.Instance(peakModule(8), { env: { memory } });
 * (exports.peak as (n: number, out: number) => void)(2, 0);
 * console.log(new Float32Array(memory.buffer)[0] === peakExpected(8, 2)); // true
 * console.log(peakFlops(8, 2)); // 8 accumulators x 4 unrolled x 2 passes x 4 lanes x 2 flops
 * ```
 *
 * @module
 */
import { assembleModule, FuncBuilder, I32, V128 } from "./asm.ts";

/** Multiply-adds per accumulator in one pass of the loop (unrolled, to make the branch cheap). */
export const PEAK_UNROLL = 4;

/** The factor and the addend of every multiply-add: acc = acc * A + B converges to 1. */
const A = 0.5, B = 0.5;

/**
 * The kernel `peak(passes, out)`: `accumulators` f32x4 registers start at 0, each pass does
 * {@linkcode PEAK_UNROLL} `acc = acc * 0.5 + 0.5` on each, and at the end the sum of every lane of
 * every accumulator is stored at byte offset `out` (so that the work is not dead code).
 */
export function peakFunc(accumulators: number): FuncBuilder {
  if (!Number.isInteger(accumulators) || accumulators < 1) {
    throw new RangeError(`Cannot build the peak kernel with ${accumulators} accumulators`);
  }
  const f = new FuncBuilder([I32, I32]);
  const [passes, out] = [0, 1];
  const a = f.local(V128), b = f.local(V128);
  const acc = Array.from({ length: accumulators }, () => f.local(V128));
  f.vconst(A).set(a).vconst(B).set(b);
  for (const r of acc) f.vconst(0).set(r);
  f.block().loop();
  f.get(passes).eqz().brIf(1);
  for (let u = 0; u < PEAK_UNROLL; u++) {
    for (const r of acc) f.get(r).get(a).get(b).vmadd().set(r);
  }
  f.get(passes).i32(1).sub().set(passes).br(0);
  f.end().end();
  // Sum of the accumulators, then of the four lanes.
  f.get(acc[0]);
  for (const r of acc.slice(1)) f.get(r).vadd();
  const sum = f.local(V128);
  f.set(sum).get(out);
  f.get(sum).lane(0).get(sum).lane(1).fadd().get(sum).lane(2).fadd().get(sum).lane(3).fadd();
  f.f32Store();
  return f;
}

/** The compiled module exporting `peak` (see {@linkcode peakFunc}); it imports `env.memory`. */
export function peakModule(accumulators: number): WebAssembly.Module {
  return new WebAssembly.Module(assembleModule([{ name: "peak", fn: peakFunc(accumulators) }]));
}

/** Floating-point operations of `passes` passes (a multiply-add counts as two). */
export function peakFlops(accumulators: number, passes: number): number {
  return accumulators * PEAK_UNROLL * passes * 4 * 2;
}

/** The f32 the kernel stores after `passes` passes, computed the same way in JavaScript. */
export function peakExpected(accumulators: number, passes: number): number {
  let x = 0;
  for (let i = 0; i < passes * PEAK_UNROLL; i++) x = Math.fround(Math.fround(x * A) + B);
  let sum = 0;
  for (let i = 0; i < accumulators; i++) sum = Math.fround(sum + x);
  return Math.fround(Math.fround(Math.fround(sum + sum) + sum) + sum);
}
