import assert from "node:assert/strict";
import {
  assembleModule,
  emitExp,
  emitLog,
  emitSigmoid,
  emitTanh,
  FuncBuilder,
  I32,
  V128,
  vecConsts,
} from "../../../src/models/simd/mod.ts";

type Emit = (f: FuncBuilder, c: ReturnType<typeof vecConsts>, s: number[]) => void;

const FUNCTIONS: { name: string; emit: Emit; want: (x: number) => number; inputs: number[] }[] = [
  {
    name: "exp",
    emit: (f, c, [x, n]) => emitExp(f, c, x, n),
    want: Math.exp,
    inputs: [-87, -20, -1, -0.3, 0, 1e-6, 0.5, 1, 3.7, 20, 88],
  },
  {
    name: "log",
    emit: (f, c, [x, e, m]) => emitLog(f, c, x, e, m),
    want: Math.log,
    inputs: [1e-30, 1e-5, 0.1, 0.5, 0.70710677, 0.7071069, 1, 1.5, 2, 10, 12345.678, 3e30],
  },
  {
    name: "sigmoid",
    emit: (f, c, [x, n]) => emitSigmoid(f, c, x, n),
    want: (x) => 1 / (1 + Math.exp(-x)),
    inputs: [-80, -10, -1, -0.01, 0, 0.01, 1, 10, 80],
  },
  {
    name: "tanh",
    emit: (f, c, [x, n]) => emitTanh(f, c, x, n),
    want: Math.tanh,
    inputs: [-40, -5, -1, -0.2, 0, 0.2, 1, 5, 40],
  },
];

for (const { name, emit, want, inputs } of FUNCTIONS) {
  Deno.test(`the vectorised ${name} matches its float64 value to a few ulp`, () => {
    // f(src, dst, n): dst[i] = name(src[i]) for n floats, one vector at a time.
    const f = new FuncBuilder([I32, I32, I32]);
    const c = vecConsts(f);
    const scratch = [f.local(V128), f.local(V128), f.local(V128)];
    f.block().loop();
    f.get(1).get(0).vload(0);
    emit(f, c, scratch);
    f.vstore(0);
    f.get(0).i32(16).add().set(0);
    f.get(1).i32(16).add().set(1);
    f.get(2).i32(4).sub().tee(2).i32(0).geS().brIf(0);
    f.end().end();
    const bytes = assembleModule([{ name: "f", fn: f }]);
    assert.equal(WebAssembly.validate(bytes), true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const run = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
      .exports.f as (...args: number[]) => void;
    const n = Math.ceil(inputs.length / 4) * 4;
    const f32 = new Float32Array(memory.buffer);
    f32.set(inputs);
    run(0, n * 4, n - 4);
    for (const [i, x] of inputs.entries()) {
      const got = f32[n + i], exact = want(Math.fround(x));
      const err = Math.abs(got - exact);
      assert.ok(err <= 4e-7 * Math.abs(exact) + 1e-7, `${name}(${x}) = ${got}, want ${exact}`);
    }
  });
}
