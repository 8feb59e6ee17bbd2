import assert from "node:assert/strict";
import { assembleModule, F32, FuncBuilder, I32, V128 } from "../../../src/models/simd/mod.ts";

type Fn = (...args: number[]) => number;

/** Assembles one exported function `f`, checks the module validates, and instantiates it. */
function build(fn: FuncBuilder): { f: Fn; memory: WebAssembly.Memory } {
  const bytes = assembleModule([{ name: "f", fn }]);
  assert.deepEqual(WebAssembly.validate(bytes), true, "the module does not validate");
  const memory = new WebAssembly.Memory({ initial: 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return { f: inst.exports.f as Fn, memory };
}

const code = (fn: FuncBuilder) => fn.code;
const fb = () => new FuncBuilder([I32]);

Deno.test("the assembler encodes instructions as the binary format spells them", () => {
  assert.deepEqual(code(fb().get(0).i32(-1).add()), [0x20, 0x00, 0x41, 0x7f, 0x6a]);
  assert.deepEqual(code(fb().get(200).set(128).tee(127)), [
    0x20,
    0xc8,
    0x01,
    0x21,
    0x80,
    0x01,
    0x22,
    0x7f,
  ]);
  // i32.const: signed LEB128 of the two's complement.
  assert.deepEqual(code(fb().i32(63)), [0x41, 0x3f]);
  assert.deepEqual(code(fb().i32(64)), [0x41, 0xc0, 0x00]);
  assert.deepEqual(code(fb().i32(-64)), [0x41, 0x40]);
  assert.deepEqual(code(fb().i32(-65)), [0x41, 0xbf, 0x7f]);
  assert.deepEqual(code(fb().i32(0x7fffffff)), [0x41, 0xff, 0xff, 0xff, 0xff, 0x07]);
  assert.deepEqual(code(fb().i32(-0x80000000)), [0x41, 0x80, 0x80, 0x80, 0x80, 0x78]);
  assert.deepEqual(code(fb().i32(0x807fffff)), [0x41, 0xff, 0xff, 0xff, 0x83, 0x78]);
  assert.deepEqual(code(fb().i32(0xffffffff)), [0x41, 0x7f]);
  // Branch depths: unsigned LEB128.
  assert.deepEqual(code(fb().br(0).brIf(127)), [0x0c, 0x00, 0x0d, 0x7f]);
  assert.deepEqual(code(fb().br(128).brIf(300)), [0x0c, 0x80, 0x01, 0x0d, 0xac, 0x02]);
  assert.deepEqual(code(fb().block().loop().if().else().end()), [
    0x02,
    0x40,
    0x03,
    0x40,
    0x04,
    0x40,
    0x05,
    0x0b,
  ]);
  assert.deepEqual(code(fb().call(3)), [0x10, 0x03]);
  // Loads and stores: opcode, alignment exponent, offset.
  assert.deepEqual(code(fb().f32Load().f32Store(300)), [0x2a, 0x02, 0x00, 0x38, 0x02, 0xac, 0x02]);
  assert.deepEqual(code(fb().vload(16)), [0xfd, 0x00, 0x04, 0x10]);
  assert.deepEqual(code(fb().vstore(200)), [0xfd, 0x0b, 0x04, 0xc8, 0x01]);
  assert.deepEqual(code(fb().vsplatLoad(4)), [0xfd, 0x09, 0x02, 0x04]);
  // SIMD opcodes are LEB128 after the 0xfd prefix; lane indices are raw bytes.
  assert.deepEqual(code(fb().vmadd()), [0xfd, 0x85, 0x02]);
  assert.deepEqual(code(fb().vadd().vconvertS()), [0xfd, 0xe4, 0x01, 0xfd, 0xfa, 0x01]);
  assert.deepEqual(code(fb().splat().lane(3)), [0xfd, 0x13, 0xfd, 0x1f, 0x03]);
  assert.deepEqual(code(fb().f32(1)), [0x43, 0x00, 0x00, 0x80, 0x3f]);
  assert.deepEqual(code(fb().vconst(-2)), [
    0xfd,
    0x0c,
    ...[0, 1, 2, 3].flatMap(() => [0, 0, 0, 0xc0]),
  ]);
  assert.deepEqual(
    code(fb().shuffle32([0, 4, 1, 5])),
    [0xfd, 0x0d, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23],
  );
});

Deno.test("assembleModule writes the sections of a module importing env.memory", () => {
  const inc = new FuncBuilder([I32], [I32]).get(0).i32(1).add();
  const withLocals = new FuncBuilder([]);
  withLocals.local(I32);
  withLocals.local(V128);
  const bytes = assembleModule([{ name: "inc", fn: inc }, { name: "l", fn: withLocals }]);
  const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
  assert.deepEqual([...bytes], [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x09, 0x02, 0x60, 0x01, I32, 0x01, I32, 0x60, 0x00, 0x00], // types
    ...[0x02, 0x0f, 0x01, 0x03, ...ascii("env"), 0x06, ...ascii("memory"), 0x02, 0x00, 0x01],
    ...[0x03, 0x03, 0x02, 0x00, 0x01], // function i has type i
    ...[0x07, 0x0b, 0x02, 0x03, ...ascii("inc"), 0x00, 0x00, 0x01, ...ascii("l"), 0x00, 0x01],
    ...[0x0a, 0x10, 0x02], // code: two bodies, each sized
    ...[0x07, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x0b], // no locals
    ...[0x06, 0x02, 0x01, I32, 0x01, V128, 0x0b], // two locals, one entry each
  ]);
  assert.deepEqual(WebAssembly.validate(bytes), true);
});

for (const depth of [1, 63, 64, 100, 127, 128, 200, 300]) {
  Deno.test(`br and br_if out of ${depth} nested blocks validate and land where they should`, () => {
    // depth + 3 blocks, each end followed by acc += 1: a branch to label `depth` lands after
    // the end of block `depth` (counted from the innermost), so 3 increments (+ 1 for br, whose
    // labels start with the if around it) follow it; not branching adds 1000 and all of them.
    const blocks = depth + 3;
    const nest = (branch: (f: FuncBuilder) => void): Fn => {
      const f = new FuncBuilder([I32], [I32]);
      const acc = f.local(I32);
      for (let i = 0; i < blocks; i++) f.block();
      branch(f);
      f.i32(1000).set(acc);
      for (let i = 0; i < blocks; i++) f.end().get(acc).i32(1).add().set(acc);
      f.get(acc);
      return build(f).f;
    };
    const brIf = nest((f) => f.get(0).brIf(depth));
    assert.deepEqual([brIf(1), brIf(0)], [3, 1000 + blocks]);
    const br = nest((f) => f.get(0).if().br(depth).end());
    assert.deepEqual([br(1), br(0)], [4, 1000 + blocks]);
  });
}

Deno.test("i32 constants of every LEB128 length run to their 32-bit value", () => {
  const constants = [
    0,
    1,
    -1,
    63,
    64,
    -64,
    -65,
    127,
    128,
    8191,
    8192,
    -8193,
    1 << 20,
    -(1 << 27),
    0x7fffffff,
    -0x80000000,
    0x80000000,
    0xffffffff,
    0x807fffff,
    0x3f000000,
  ];
  for (const value of constants) {
    const { f } = build(new FuncBuilder([], [I32]).i32(value));
    assert.deepEqual(f(), value | 0, `i32.const ${value}`);
    // The same constant splat across a vector and stored.
    const v = new FuncBuilder([]).i32(0).i32(value).visplat().vstore(32);
    const { f: store, memory } = build(v);
    store();
    assert.deepEqual([...new Int32Array(memory.buffer, 32, 4)], [0, 1, 2, 3].map(() => value | 0));
  }
});

Deno.test("memory offsets and local indices past one LEB128 byte address what they name", () => {
  const fn = new FuncBuilder([F32], [F32]);
  const locals = Array.from({ length: 200 }, () => fn.local(F32));
  fn.get(0).set(locals[150]);
  fn.i32(0).get(locals[150]).f32Store(300);
  fn.i32(4).f32Load(296).get(locals[150]).fadd();
  const { f, memory } = build(fn);
  assert.deepEqual(f(1.5), 3);
  assert.deepEqual(new Float32Array(memory.buffer)[75], 1.5);
});

Deno.test("the assembler rejects immediates it cannot encode", () => {
  assert.throws(() => fb().br(-1), { name: "RangeError", message: /unsigned 32-bit/ });
  assert.throws(() => fb().get(1.5), { name: "RangeError", message: /unsigned 32-bit/ });
  assert.throws(() => fb().i32(2 ** 32), {
    name: "RangeError",
    message: /32-bit integer constant/,
  });
  assert.throws(() => fb().i32(-(2 ** 31) - 1), {
    name: "RangeError",
    message: /32-bit integer constant/,
  });
});
