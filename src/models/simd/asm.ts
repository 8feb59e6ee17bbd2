/**
 * A minimal WebAssembly binary assembler, enough to generate small SIMD compute kernels at
 * runtime from TypeScript (no build step, no binary blobs in the repository).
 *
 * Only what ditto's kernels need is covered: i32/f32/v128 values, one imported memory,
 * structured control flow, loads/stores, fixed-width SIMD arithmetic and one relaxed-SIMD
 * instruction (`relaxed_madd`, a fused multiply-add on CPUs with FMA). Every integer immediate
 * (indices, branch depths, offsets, constants) is LEB128-encoded as the binary format requires;
 * only lane indices, shuffle masks and float constants are raw bytes.
 *
 * @example Assemble and run `x + 1`
 * ```ts
 * import { assembleModule, FuncBuilder, I32 } from "./asm.ts";
 * const inc = new FuncBuilder([I32], [I32]).get(0).i32(1).add();
 * const module = new WebAssembly.Module(assembleModule([{ name: "inc", fn: inc }]));
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const { exports } = new WebAssembly.Instance(module, { env: { memory } });
 * console.log((exports.inc as (x: number) => number)(41)); // 42
 * ```
 *
 * @module
 */

/** Value types. */
export const I32 = 0x7f;
/** 32-bit float value type. */
export const F32 = 0x7d;
/** 128-bit SIMD value type. */
export const V128 = 0x7b;

/** Appends `n` (an integer in [0, 2^32)) as unsigned LEB128. */
function uleb(n: number, out: number[]): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`Cannot encode ${n} as an unsigned 32-bit immediate`);
  }
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

/** Appends `n` as signed LEB128 of its 32-bit two's complement (so 0xffffffff is -1). */
function sleb(n: number, out: number[]): void {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) {
    throw new RangeError(`Cannot encode ${n} as a 32-bit integer constant`);
  }
  n |= 0;
  while (true) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

/** Appends `bytes` to `out` (a loop: spreading a long function body would overflow the stack). */
function append(out: number[], bytes: ArrayLike<number>): void {
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]);
}

function str(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  append(out, bytes);
}

/** Builds the body of one function; every method appends one instruction and returns `this`. */
export class FuncBuilder {
  /** Encoded instructions. */
  readonly code: number[] = [];
  /** Types of the declared locals (after the parameters). */
  readonly localTypes: number[] = [];

  /** Creates a builder for a function with `params` parameters of the given types. */
  constructor(readonly params: number[], readonly results: number[] = []) {}

  /** Declares a local and returns its index. */
  local(type: number): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  /** Appends raw opcode bytes. */
  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  /** Appends a SIMD-prefixed instruction with immediates. */
  private simd(opcode: number, ...imm: number[]): this {
    this.code.push(0xfd);
    uleb(opcode, this.code);
    this.code.push(...imm);
    return this;
  }

  /** Appends a load/store with its memory argument. */
  private mem(opcode: number, offset: number, align: number, isSimd = false): this {
    if (isSimd) {
      this.code.push(0xfd);
      uleb(opcode, this.code);
    } else this.code.push(opcode);
    uleb(align, this.code);
    uleb(offset, this.code);
    return this;
  }

  /** local.get */
  get(i: number): this {
    this.code.push(0x20);
    uleb(i, this.code);
    return this;
  }
  /** local.set */
  set(i: number): this {
    this.code.push(0x21);
    uleb(i, this.code);
    return this;
  }
  /** local.tee */
  tee(i: number): this {
    this.code.push(0x22);
    uleb(i, this.code);
    return this;
  }
  /** i32.const */
  i32(n: number): this {
    this.code.push(0x41);
    sleb(n, this.code);
    return this;
  }
  /** f32.const */
  f32(x: number): this {
    const b = new Uint8Array(new Float32Array([x]).buffer);
    return this.op(0x43, ...b);
  }
  /** block (no result) */
  block(): this {
    return this.op(0x02, 0x40);
  }
  /** loop (no result) */
  loop(): this {
    return this.op(0x03, 0x40);
  }
  /** if (no result) */
  if(): this {
    return this.op(0x04, 0x40);
  }
  /** else */
  else(): this {
    return this.op(0x05);
  }
  /** end */
  end(): this {
    return this.op(0x0b);
  }
  /** br: branch to the label `depth` blocks out (0 = innermost) */
  br(depth: number): this {
    this.code.push(0x0c);
    uleb(depth, this.code);
    return this;
  }
  /** br_if: branch to the label `depth` blocks out if the i32 on the stack is not zero */
  brIf(depth: number): this {
    this.code.push(0x0d);
    uleb(depth, this.code);
    return this;
  }
  /** call */
  call(index: number): this {
    this.code.push(0x10);
    uleb(index, this.code);
    return this;
  }
  /** drop */
  drop(): this {
    return this.op(0x1a);
  }
  /** i32.add */
  add(): this {
    return this.op(0x6a);
  }
  /** i32.sub */
  sub(): this {
    return this.op(0x6b);
  }
  /** i32.mul */
  mul(): this {
    return this.op(0x6c);
  }
  /** i32.shl */
  shl(): this {
    return this.op(0x74);
  }
  /** i32.shr_u */
  shrU(): this {
    return this.op(0x76);
  }
  /** i32.and */
  and(): this {
    return this.op(0x71);
  }
  /** i32.div_u */
  divU(): this {
    return this.op(0x6e);
  }
  /** i32.lt_s */
  ltS(): this {
    return this.op(0x48);
  }
  /** i32.ge_s */
  geS(): this {
    return this.op(0x4e);
  }
  /** i32.eqz */
  eqz(): this {
    return this.op(0x45);
  }
  /** i32.ne */
  ne(): this {
    return this.op(0x47);
  }
  /** f32.load */
  f32Load(offset = 0): this {
    return this.mem(0x2a, offset, 2);
  }
  /** f32.store */
  f32Store(offset = 0): this {
    return this.mem(0x38, offset, 2);
  }
  /** f32.add */
  fadd(): this {
    return this.op(0x92);
  }
  /** f32.sub */
  fsub(): this {
    return this.op(0x93);
  }
  /** f32.mul */
  fmul(): this {
    return this.op(0x94);
  }
  /** v128.load */
  vload(offset = 0): this {
    return this.mem(0x00, offset, 4, true);
  }
  /** v128.load8x8_u: 8 bytes zero-extended to eight i16 lanes */
  vload8x8U(offset = 0): this {
    return this.mem(0x02, offset, 3, true);
  }
  /** i32x4.extend_low_i16x8_u */
  vextendLow16U(): this {
    return this.simd(0xa9);
  }
  /** i32x4.extend_high_i16x8_u */
  vextendHigh16U(): this {
    return this.simd(0xaa);
  }
  /** v128.load32_splat */
  vsplatLoad(offset = 0): this {
    return this.mem(0x09, offset, 2, true);
  }
  /** v128.store */
  vstore(offset = 0): this {
    return this.mem(0x0b, offset, 4, true);
  }
  /** v128.const with the same f32 in every lane */
  vconst(x: number): this {
    const b = new Uint8Array(new Float32Array([x, x, x, x]).buffer);
    return this.simd(0x0c, ...b);
  }
  /** i8x16.shuffle of two vectors, selecting f32 lanes (0-3 first operand, 4-7 second) */
  shuffle32(lanes: [number, number, number, number]): this {
    const bytes: number[] = [];
    for (const l of lanes) for (let i = 0; i < 4; i++) bytes.push(l * 4 + i);
    return this.simd(0x0d, ...bytes);
  }
  /** v128.and */
  vand(): this {
    return this.simd(0x4e);
  }
  /** v128.or */
  vor(): this {
    return this.simd(0x50);
  }
  /** f32x4.lt (all-ones lanes where true) */
  vlt(): this {
    return this.simd(0x43);
  }
  /** f32x4.convert_i32x4_s */
  vconvertS(): this {
    return this.simd(0xfa);
  }
  /** i32x4.shr_u (shift amount i32 on the stack) */
  vishrU(): this {
    return this.simd(0xad);
  }
  /** i32x4.sub */
  visub(): this {
    return this.simd(0xb1);
  }
  /** f32x4.relaxed_madd: a * b + c, fused where the CPU has FMA (rounding may then differ) */
  vmadd(): this {
    return this.simd(0x105);
  }
  /** f32x4.splat */
  splat(): this {
    return this.simd(0x13);
  }
  /** f32x4.extract_lane */
  lane(i: number): this {
    return this.simd(0x1f, i);
  }
  /** f32x4.add */
  vadd(): this {
    return this.simd(0xe4);
  }
  /** f32x4.sub */
  vsub(): this {
    return this.simd(0xe5);
  }
  /** f32x4.mul */
  vmul(): this {
    return this.simd(0xe6);
  }
  /** f32x4.div */
  vdiv(): this {
    return this.simd(0xe7);
  }
  /** f32x4.min */
  vmin(): this {
    return this.simd(0xe8);
  }
  /** f32x4.max */
  vmax(): this {
    return this.simd(0xe9);
  }
  /** f32x4.neg */
  vneg(): this {
    return this.simd(0xe1);
  }
  /** f32x4.nearest */
  vnearest(): this {
    return this.simd(0x6a);
  }
  /** i32x4.trunc_sat_f32x4_s */
  vtruncS(): this {
    return this.simd(0xf8);
  }
  /** i32x4.add */
  viadd(): this {
    return this.simd(0xae);
  }
  /** i32x4.shl (shift amount i32 on the stack) */
  vishl(): this {
    return this.simd(0xab);
  }
  /** i32x4.splat */
  visplat(): this {
    return this.simd(0x11);
  }
}

/** One exported function of a module. */
export interface FuncDef {
  /** Export name. */
  name: string;
  /** Body and signature. */
  fn: FuncBuilder;
}

/**
 * Assembles functions into a module that imports its memory as `env.memory`.
 */
export function assembleModule(funcs: FuncDef[]): Uint8Array<ArrayBuffer> {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, body: number[]) => {
    out.push(id);
    uleb(body.length, out);
    append(out, body);
  };
  // Types: one per function (simple, duplicates are allowed).
  const types: number[] = [];
  uleb(funcs.length, types);
  for (const { fn } of funcs) {
    types.push(0x60);
    uleb(fn.params.length, types);
    types.push(...fn.params);
    uleb(fn.results.length, types);
    types.push(...fn.results);
  }
  section(1, types);
  const imports: number[] = [1];
  str("env", imports);
  str("memory", imports);
  imports.push(0x02, 0x00, 0x01); // memory, limits: min 1 page, no max
  section(2, imports);
  const fsec: number[] = [];
  uleb(funcs.length, fsec);
  funcs.forEach((_, i) => uleb(i, fsec));
  section(3, fsec);
  const exps: number[] = [];
  uleb(funcs.length, exps);
  funcs.forEach(({ name }, i) => {
    str(name, exps);
    exps.push(0x00);
    uleb(i, exps);
  });
  section(7, exps);
  const code: number[] = [];
  uleb(funcs.length, code);
  for (const { fn } of funcs) {
    const body: number[] = [];
    uleb(fn.localTypes.length, body);
    for (const t of fn.localTypes) body.push(1, t);
    append(body, fn.code);
    body.push(0x0b);
    uleb(body.length, code);
    append(code, body);
  }
  section(10, code);
  return new Uint8Array(out);
}
