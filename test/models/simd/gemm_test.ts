import assert from "node:assert/strict";
import {
  assembleModule,
  type FuncDef,
  gemmFunc,
  gemmLongK,
  K_CHUNK,
  layoutArena,
  NR,
  packFunc,
  packLanesFunc,
} from "../../../src/models/simd/mod.ts";

type Kernel = (...args: number[]) => void;

/** Deterministic values in [-1, 1). */
function noise(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 8) / (1 << 23) - 1;
  }
  return out;
}

/**
 * A x B in f32 the kernel's way: k ascending, each product and sum rounded (no FMA), starting
 * from `start` (C before an accumulating product) or the column's bias.
 */
function reference(
  a: Float32Array,
  b: Float32Array,
  [M, K, N]: number[],
  { bias, relu = false, start }: { bias?: Float32Array; relu?: boolean; start?: Float32Array } = {},
): Float32Array {
  const c = new Float32Array(M * N);
  for (let r = 0; r < M; r++) {
    for (let j = 0; j < N; j++) {
      let acc = start ? start[r * N + j] : bias ? bias[j] : 0;
      for (let k = 0; k < K; k++) acc = Math.fround(acc + Math.fround(a[r * K + k] * b[k * N + j]));
      c[r * N + j] = relu ? Math.max(acc, 0) : acc;
    }
  }
  return c;
}

function instantiate(funcs: FuncDef[]): { memory: WebAssembly.Memory; fn: Record<string, Kernel> } {
  const bytes = assembleModule(funcs);
  assert.equal(WebAssembly.validate(bytes), true);
  const memory = new WebAssembly.Memory({ initial: 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return { memory, fn: inst.exports as Record<string, Kernel> };
}

const SHAPES = [[5, 1, 8], [4, 2, 16], [7, 7, 24], [9, 33, 16], [1, 64, 8]]; // M, K, N

for (const mr of [1, 2, 3, 4]) {
  for (const pOuter of [false, true]) {
    Deno.test(`gemm (${mr}-row blocks, ${pOuter ? "column" : "row"} panels outer) equals A x B`, () => {
      const variants = [
        { name: "plain", fn: gemmFunc(pOuter, { mr }) },
        { name: "fma", fn: gemmFunc(pOuter, { mr, fma: true }) },
        { name: "epilogue", fn: gemmFunc(pOuter, { mr, epilogue: true }) },
        { name: "pack", fn: packFunc() },
      ];
      const { memory, fn: k } = instantiate(variants);
      for (const [si, [M, K, N]] of SHAPES.entries()) {
        const Mp = Math.ceil(M / mr) * mr;
        const { at, f32 } = layoutArena(memory, {
          a: M * K,
          aP: Mp * K,
          b: K * N,
          bP: K * N,
          c: Mp * N,
          bias: N,
        });
        const a = noise(M * K, si), b = noise(K * N, si + 50), bias = noise(N, si + 90);
        f32.set(a, at.a / 4);
        f32.set(b, at.b / 4);
        f32.set(bias, at.bias / 4);
        k.pack(at.a, K * 4, 4, M, K, at.aP, mr);
        k.pack(at.b, 4, N * 4, N, K, at.bP, NR);
        const args = [at.aP, mr * 4, K * mr * 4, at.bP, NR * 4, K * NR * 4, at.c, N * 4];
        const run = (kernel: Kernel, ...extra: number[]) => {
          kernel(...args, Mp / mr, N / NR, K, ...extra);
          return f32.slice(at.c / 4, at.c / 4 + M * N);
        };
        const shape = `${M}x${K}x${N}`;
        const product = run(k.plain, 0);
        assert.deepEqual(product, reference(a, b, [M, K, N]), shape);
        // acc = 1 adds to what C holds.
        const start = product;
        assert.deepEqual(run(k.plain, 1), reference(a, b, [M, K, N], { start }), `${shape} +=`);
        const fused = run(k.fma, 0), want = reference(a, b, [M, K, N]);
        for (let i = 0; i < want.length; i++) {
          assert.ok(Math.abs(fused[i] - want[i]) <= 1e-5 * K, `fma ${shape} [${i}]`);
        }
        const withBias = reference(a, b, [M, K, N], { bias });
        assert.deepEqual(run(k.epilogue, 0, at.bias, 0), withBias, `${shape} bias`);
        const relu = reference(a, b, [M, K, N], { bias, relu: true });
        assert.ok(relu.some((v) => v === 0) && relu.some((v) => v > 0));
        assert.deepEqual(run(k.epilogue, 0, at.bias, 1), relu, `${shape} bias relu`);
      }
    });
  }
}

Deno.test("gemmLongK cuts a long depth into chunks and still equals A x B", () => {
  const { memory, fn: k } = instantiate([
    { name: "gemmP", fn: gemmFunc(true) },
    { name: "pack", fn: packFunc() },
    { name: "packLanes8", fn: packLanesFunc(8) },
  ]);
  const [M, K, N] = [8, 2 * K_CHUNK + 37, 16];
  const { at, f32 } = layoutArena(memory, {
    a: M * K,
    aP: M * K,
    b: K * N,
    c: M * N,
    scratch: K_CHUNK * N,
  });
  const a = noise(M * K, 3), b = noise(K * N, 4);
  f32.set(a, at.a / 4);
  f32.set(b, at.b / 4);
  k.pack(at.a, K * 4, 4, M, K, at.aP, 4);
  // B is read as row-major lanes and packed chunk by chunk into the scratch buffer.
  gemmLongK({ memory, gemmP: k.gemmP, packLanes8: k.packLanes8 }, {
    a: at.aP,
    sAk: 16,
    sAp: K * 16,
    b: at.b,
    sBk: N * 4,
    sBp: NR * 4,
    c: at.c,
    ldc: N * 4,
    mPanels: M / 4,
    nPanels: N / NR,
    K,
  }, at.scratch);
  assert.deepEqual(f32.slice(at.c / 4, at.c / 4 + M * N), reference(a, b, [M, K, N]));
});
