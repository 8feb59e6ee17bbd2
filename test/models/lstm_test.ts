import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { initBackend } from "../../src/models/backend/mod.ts";
import { lstmSequence, lstmStep } from "../../src/models/lstm.ts";

const BATCH = 3, TIME = 5, INPUT = 4, UNITS = 6;

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert(a.shape.join() === b.shape.join(), `shapes ${a.shape} vs ${b.shape}`);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** The reference: tfjs's own lstm layer with the same weights. */
function referenceLayer(kernel: tf.Tensor, rk: tf.Tensor, bias: tf.Tensor) {
  const layer = tfl.layers.lstm({
    units: UNITS,
    returnSequences: true,
    recurrentActivation: "sigmoid", // the layer defaults to hardSigmoid
  });
  layer.apply(tf.zeros([BATCH, TIME, INPUT])); // builds the layer
  layer.setWeights([kernel, rk, bias]);
  return layer;
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`lstmSequence() equals the tfjs lstm layer's outputs and gradients on ${backend}`, async () => {
    await initBackend({ backend });
    tf.tidy(() => {
      const x = tf.randomNormal([BATCH, TIME, INPUT], 0, 1, "float32", 1) as tf.Tensor3D;
      const kernel = tf.randomNormal([INPUT, 4 * UNITS], 0, 0.5, "float32", 2) as tf.Tensor2D;
      const rk = tf.randomNormal([UNITS, 4 * UNITS], 0, 0.5, "float32", 3) as tf.Tensor2D;
      const bias = tf.randomNormal([4 * UNITS], 0, 0.5, "float32", 4) as tf.Tensor1D;
      // A weighting of the outputs so that every gradient entry matters differently.
      const r = tf.randomNormal([BATCH, TIME, UNITS], 0, 1, "float32", 5);
      const layer = referenceLayer(kernel, rk, bias);

      const ours = lstmSequence(x, { kernel, recurrentKernel: rk, bias });
      const theirs = layer.apply(x) as tf.Tensor;
      assert(maxAbsDiff(ours, theirs) < 1e-5, `forward differs by ${maxAbsDiff(ours, theirs)}`);

      const ourGrads = tf.grads((xx, k, rr, b) =>
        tf.sum(tf.mul(
          lstmSequence(xx as tf.Tensor3D, {
            kernel: k as tf.Tensor2D,
            recurrentKernel: rr as tf.Tensor2D,
            bias: b as tf.Tensor1D,
          }),
          r,
        ))
      )([x, kernel, rk, bias]);
      const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
      const dxRef = tf.grad((xx) => tf.sum(tf.mul(layer.apply(xx) as tf.Tensor, r)))(x);
      const { grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar,
        vars,
      );
      const refGrads = [dxRef, ...vars.map((v) => grads[v.name])];
      const names = ["x", "kernel", "recurrentKernel", "bias"];
      for (let i = 0; i < 4; i++) {
        const d = maxAbsDiff(ourGrads[i], refGrads[i]);
        assert(d < 1e-4, `gradient of ${names[i]} differs by ${d}`);
        assert(tf.max(tf.abs(refGrads[i])).dataSync()[0] > 1e-3, `${names[i]} gradient is trivial`);
      }
    });
  });
}

Deno.test("lstmSequence() honours the initial state and matches lstmStep() step by step", async () => {
  await initBackend({ backend: "cpu" });
  tf.tidy(() => {
    const x = tf.randomNormal([BATCH, TIME, INPUT], 0, 1, "float32", 6) as tf.Tensor3D;
    const w = {
      kernel: tf.randomNormal([INPUT, 4 * UNITS], 0, 0.5, "float32", 7) as tf.Tensor2D,
      recurrentKernel: tf.randomNormal([UNITS, 4 * UNITS], 0, 0.5, "float32", 8) as tf.Tensor2D,
      bias: tf.randomNormal([4 * UNITS], 0, 0.5, "float32", 9) as tf.Tensor1D,
    };
    const h0 = tf.randomNormal([BATCH, UNITS], 0, 1, "float32", 10) as tf.Tensor2D;
    const c0 = tf.randomNormal([BATCH, UNITS], 0, 1, "float32", 11) as tf.Tensor2D;
    const seq = lstmSequence(x, w, { initialH: h0, initialC: c0 });
    let state = { h: h0, c: c0 };
    const steps = tf.unstack(x, 1) as tf.Tensor2D[];
    for (let t = 0; t < TIME; t++) {
      state = lstmStep(steps[t], state, w);
      const ref = tf.squeeze(tf.slice(seq, [0, t, 0], [BATCH, 1, UNITS]), [1]);
      assert(maxAbsDiff(state.h, ref) < 1e-6);
    }
    // The initial state's gradient flows (checked against a finite difference).
    const loss = (h: tf.Tensor) =>
      tf.sum(lstmSequence(x, w, { initialH: h as tf.Tensor2D, initialC: c0 }));
    const g = tf.grad(loss)(h0).dataSync()[0];
    const eps = 1e-2;
    const plus = loss(tf.add(h0, tf.oneHot([0], BATCH * UNITS).reshape([BATCH, UNITS]).mul(eps)));
    const minus = loss(tf.sub(h0, tf.oneHot([0], BATCH * UNITS).reshape([BATCH, UNITS]).mul(eps)));
    const fd = (plus.dataSync()[0] - minus.dataSync()[0]) / (2 * eps);
    assert(Math.abs(fd - g) < 1e-3, `finite difference ${fd} vs gradient ${g}`);
  });
});

Deno.test("lstmSequence() rejects weights of the wrong shape", () => {
  tf.tidy(() => {
    const x = tf.zeros([1, 2, INPUT]) as tf.Tensor3D;
    let message = "";
    try {
      lstmSequence(x, {
        kernel: tf.zeros([INPUT + 1, 4 * UNITS]) as tf.Tensor2D,
        recurrentKernel: tf.zeros([UNITS, 4 * UNITS]) as tf.Tensor2D,
        bias: tf.zeros([4 * UNITS]) as tf.Tensor1D,
      });
    } catch (e) {
      message = (e as Error).message;
    }
    assert(message.startsWith("Cannot run LSTM"), message);
  });
});
