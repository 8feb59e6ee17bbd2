import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend, wasmKernelTuning } from "../../../src/models/backend/mod.ts";

type Shape4 = [number, number, number, number];
interface Case {
  x: Shape4;
  filter: Shape4;
  stride: number | [number, number];
  pad: "valid" | "same";
}

// Small shapes covering what the VAE uses (k4/k5/k6, stride 2, valid, a 1x1 dy) and more.
const CASES: Case[] = [
  { x: [2, 9, 9, 3], filter: [4, 4, 3, 5], stride: 2, pad: "valid" },
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], stride: 1, pad: "same" },
  { x: [2, 10, 11, 2], filter: [5, 5, 2, 3], stride: 2, pad: "same" },
  { x: [3, 13, 13, 4], filter: [5, 5, 4, 3], stride: 2, pad: "valid" },
  { x: [2, 14, 14, 3], filter: [6, 6, 3, 2], stride: 2, pad: "valid" },
  { x: [2, 7, 8, 3], filter: [3, 2, 3, 2], stride: [3, 2], pad: "valid" },
  { x: [2, 5, 5, 4], filter: [5, 5, 4, 6], stride: 2, pad: "valid" }, // 1x1 dy
];

function values(shape: number[], seed: number): Float32Array {
  // A fixed LCG keeps inputs identical on both backends.
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let state = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

function conv(x: tf.Tensor, filter: tf.Tensor, c: Case): tf.Tensor4D {
  return tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, c.stride, c.pad);
}

/** dL/dx and dL/dfilter for L = sum(conv(x, filter) * dy) on the current backend. */
function gradients(c: Case): { dx: Float32Array; dFilter: Float32Array; dyShape: number[] } {
  return tf.tidy(() => {
    const x = tf.tensor(values(c.x, 1), c.x);
    const filter = tf.tensor(values(c.filter, 2), c.filter);
    const dyShape = conv(x, filter, c).shape;
    const dy = tf.tensor(values(dyShape, 3), dyShape);
    const [dx, dFilter] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a, b, c))([x, filter], dy);
    return {
      dx: dx.dataSync() as Float32Array,
      dFilter: dFilter.dataSync() as Float32Array,
      dyShape,
    };
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

Deno.test("wasm Conv2DBackpropFilter and Conv2DBackpropInput match the cpu backend", async () => {
  try {
    for (const strategy of ["gemm", "subpixel"] as const) {
      for (const c of CASES) {
        await initBackend({ backend: "cpu" });
        const reference = gradients(c);
        await initBackend({ backend: "wasm" });
        wasmKernelTuning.backpropInput = strategy;
        const fast = gradients(c);
        const label = `${JSON.stringify(c)} (${strategy})`;
        assert.ok(maxAbsDiff(fast.dx, reference.dx) < 1e-4, `dx differs for ${label}`);
        assert.ok(maxAbsDiff(fast.dFilter, reference.dFilter) < 1e-4, `dFilter differs: ${label}`);
      }
    }
  } finally {
    wasmKernelTuning.backpropInput = "auto";
  }
});

Deno.test("wasm conv2dTranspose forward matches the cpu backend at the VAE decoder's shapes", async () => {
  const layers: { x: Shape4; filter: Shape4; out: Shape4 }[] = [
    { x: [2, 1, 1, 16], filter: [5, 5, 8, 16], out: [2, 5, 5, 8] },
    { x: [2, 5, 5, 8], filter: [5, 5, 4, 8], out: [2, 13, 13, 4] },
    { x: [2, 13, 13, 4], filter: [6, 6, 3, 4], out: [2, 30, 30, 3] },
    { x: [2, 30, 30, 3], filter: [6, 6, 3, 3], out: [2, 64, 64, 3] },
  ];
  for (const l of layers) {
    const run = () =>
      tf.tidy(() =>
        tf.conv2dTranspose(
          tf.tensor(values(l.x, 4), l.x) as tf.Tensor4D,
          tf.tensor(values(l.filter, 5), l.filter) as tf.Tensor4D,
          l.out,
          2,
          "valid",
        ).dataSync() as Float32Array
      );
    await initBackend({ backend: "cpu" });
    const reference = run();
    await initBackend({ backend: "wasm" });
    const fast = run();
    assert.ok(maxAbsDiff(fast, reference) < 1e-4, `conv2dTranspose differs for ${l.x}`);
  }
});

Deno.test("wasm convolution gradients agree with finite differences", async () => {
  await initBackend({ backend: "wasm" });
  for (const c of [CASES[0], CASES[2], CASES[4], CASES[6]]) {
    const { dx, dFilter, dyShape } = gradients(c);
    const dy = tf.tensor(values(dyShape, 3), dyShape);
    const base = { x: values(c.x, 1), filter: values(c.filter, 2) };
    // L is linear in each argument, so a central difference is exact up to rounding.
    const loss = (x: Float32Array, filter: Float32Array) =>
      tf.tidy(() =>
        tf.sum(tf.mul(conv(tf.tensor(x, c.x), tf.tensor(filter, c.filter), c), dy)).dataSync()[0]
      );
    const eps = 0.05;
    for (const [name, analytic] of [["x", dx], ["filter", dFilter]] as const) {
      for (let probe = 0; probe < 6; probe++) {
        const index = Math.floor((probe + 0.5) * analytic.length / 6);
        const plus = { x: base.x.slice(), filter: base.filter.slice() };
        const minus = { x: base.x.slice(), filter: base.filter.slice() };
        plus[name][index] += eps;
        minus[name][index] -= eps;
        const numeric = (loss(plus.x, plus.filter) - loss(minus.x, minus.filter)) / (2 * eps);
        assert.ok(
          Math.abs(numeric - analytic[index]) < 2e-3 * (1 + Math.abs(numeric)),
          `d/d${name}[${index}] for ${JSON.stringify(c)}: ${analytic[index]} vs ${numeric}`,
        );
      }
    }
    dy.dispose();
  }
});

Deno.test("wasm convolution gradient kernels release their intermediate tensors", async () => {
  await initBackend({ backend: "wasm" });
  gradients(CASES[2]); // warm-up: the first call may allocate caches
  const before = tf.memory().numBytes;
  // deno-lint-ignore no-explicit-any
  const backend = tf.backend() as any;
  const dataBefore = backend.dataIdMap.numDataIds();
  gradients(CASES[2]);
  gradients(CASES[6]);
  assert.equal(tf.memory().numBytes, before);
  assert.equal(backend.dataIdMap.numDataIds(), dataBefore);
});

Deno.test("wasm Conv2D with a single output position matches the cpu backend", async () => {
  const forward = () =>
    tf.tidy(() =>
      tf.conv2d(
        tf.tensor(values([3, 5, 5, 4], 6), [3, 5, 5, 4]) as tf.Tensor4D,
        tf.tensor(values([5, 5, 4, 7], 7), [5, 5, 4, 7]) as tf.Tensor4D,
        2,
        "valid",
      ).dataSync() as Float32Array
    );
  await initBackend({ backend: "cpu" });
  const reference = forward();
  await initBackend({ backend: "wasm" });
  const fast = forward();
  assert.equal(fast.length, 21);
  assert.ok(maxAbsDiff(fast, reference) < 1e-4);
});

Deno.test("wasm strided Conv2D and FusedConv2D over RGB input match the cpu backend", async () => {
  // The encoder's first layer shape (space-to-depth path), plus an odd size and stride 3.
  const cases: { x: Shape4; filter: Shape4; stride: number }[] = [
    { x: [2, 64, 64, 3], filter: [4, 4, 3, 5], stride: 2 },
    { x: [2, 11, 13, 3], filter: [4, 2, 3, 4], stride: 2 },
    { x: [1, 10, 10, 2], filter: [3, 3, 2, 3], stride: 3 },
  ];
  for (const c of cases) {
    const forward = () =>
      tf.tidy(() => {
        const x = tf.tensor(values(c.x, 8), c.x) as tf.Tensor4D;
        const filter = tf.tensor(values(c.filter, 9), c.filter) as tf.Tensor4D;
        const bias = tf.tensor1d(values([c.filter[3]], 10));
        const plain = tf.conv2d(x, filter, c.stride, "valid");
        const fused = tf.fused.conv2d({
          x,
          filter,
          strides: c.stride,
          pad: "valid",
          bias,
          activation: "relu",
        });
        return tf.concat([plain.flatten(), fused.flatten()]);
      });
    await initBackend({ backend: "cpu" });
    const reference = forward();
    const referenceValues = reference.dataSync() as Float32Array;
    await initBackend({ backend: "wasm" });
    const fast = forward();
    assert.ok(
      maxAbsDiff(fast.dataSync() as Float32Array, referenceValues) < 1e-4,
      `differs for ${JSON.stringify(c)}`,
    );
    tf.dispose([reference, fast]);
  }
});
