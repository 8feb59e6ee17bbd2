/**
 * ditto's toolkit for WebAssembly SIMD engines generated at runtime: an assembler
 * ({@linkcode assembleModule}, {@linkcode FuncBuilder}), the register-blocked product
 * ({@linkcode gemmFunc}, {@linkcode gemmLongK}) and the packing kernels feeding it, vectorised
 * exp/log/sigmoid/tanh to inline into kernels, and the arena that places buffers in a module's
 * memory ({@linkcode layoutArena}).
 *
 * @example A product of 4x2 by 2x8 in one register block
 * ```ts
 * import { assembleModule, gemmFunc, layoutArena } from "./mod.ts";
 * const module = new WebAssembly.Module(assembleModule([{ name: "gemm", fn: gemmFunc(false) }]));
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm as (
 *   ...args: number[]
 * ) => void;
 * const { at, f32 } = layoutArena(memory, { a: 8, b: 16, c: 32 });
 * f32.fill(1, at.a / 4, at.a / 4 + 8); // A panel: 2 k x 4 rows, all ones
 * f32.fill(2, at.b / 4, at.b / 4 + 16); // B panel: 2 k x 8 columns, all twos
 * gemm(at.a, 16, 32, at.b, 32, 64, at.c, 32, 1, 1, 2, 0);
 * console.log(f32[at.c / 4]); // 4
 * ```
 *
 * @module
 */
export { assembleModule, F32, FuncBuilder, type FuncDef, I32, V128 } from "./asm.ts";
export {
  type GemmArgs,
  gemmFunc,
  type GemmFuncOptions,
  gemmLongK,
  K_CHUNK,
  type LongKKernels,
  MR,
  NR,
  USE_FMA,
} from "./gemm.ts";
export { emitTranspose4, packFunc, packLanesFunc, packT4Func } from "./pack.ts";
export { emitExp, emitLog, emitSigmoid, emitTanh, type VecConsts, vecConsts } from "./vmath.ts";
export { type Arena, ARENA_ALIGN, layoutArena } from "./arena.ts";
