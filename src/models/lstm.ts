/**
 * A fast LSTM for TensorFlow.js, with the weight layout of the Keras/tfjs `lstm` layer
 * (kernel [in, 4h], recurrent_kernel [h, 4h], bias [4h], gates i, f, c, o; tanh/sigmoid).
 *
 * Unlike the tfjs layer, which unrolls each time step into many small ops and lets autodiff
 * record all of them, {@linkcode lstmSequence}:
 * - projects the inputs of all time steps with one matrix product,
 * - runs one fused cell per step (one product, one split, five element-wise ops),
 * - has a hand-written gradient for the whole sequence (`tf.customGrad`): backprop through time
 *   runs one product per step, and the weight gradients are one product each over all steps.
 *
 * It runs on any tfjs backend. On the wasm backend the MDN-RNN trainer uses the SIMD kernels of
 * `src/models/mdn_rnn_engine/` instead (same maths, far fewer op dispatches).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** LSTM weights in the Keras layout. */
export interface LstmWeights {
  /** Input kernel [inputSize, 4*units]. */
  kernel: tf.Tensor2D;
  /** Recurrent kernel [units, 4*units]. */
  recurrentKernel: tf.Tensor2D;
  /** Bias [4*units]. */
  bias: tf.Tensor1D;
}

/** Options of {@linkcode lstmSequence}. */
export interface LstmSequenceOptions {
  /** Initial hidden state [batch, units]; zeros when absent. */
  initialH?: tf.Tensor2D;
  /** Initial cell state [batch, units]; zeros when absent. */
  initialC?: tf.Tensor2D;
}

/** The state of an LSTM after a step. */
export interface LstmState {
  /** Hidden state (the output) [batch, units]. */
  h: tf.Tensor2D;
  /** Cell state [batch, units]. */
  c: tf.Tensor2D;
}

function checkShapes(x: tf.Tensor, w: LstmWeights): { units: number; inputSize: number } {
  const units = w.recurrentKernel.shape[0];
  const inputSize = x.shape[x.rank - 1];
  if (
    w.kernel.shape[0] !== inputSize || w.kernel.shape[1] !== 4 * units ||
    w.recurrentKernel.shape[1] !== 4 * units || w.bias.shape[0] !== 4 * units
  ) {
    throw new RangeError(
      `Cannot run LSTM: weights [${w.kernel.shape}], [${w.recurrentKernel.shape}], ` +
        `[${w.bias.shape}] do not fit input size ${inputSize} and ${units} units`,
    );
  }
  return { units, inputSize };
}

/**
 * Step t of a time-major [T, B, n] tensor. A gather, not a slice or split: the wasm backend's
 * Slice copies its whole input first, which made per-step slicing quadratic in T.
 */
function timeStep(x: tf.Tensor, t: number): tf.Tensor2D {
  return tf.gather(x, t) as tf.Tensor2D;
}

/** One fused cell step from pre-activations z = x Wk + h Wr + b. */
function cell(z: tf.Tensor2D, c: tf.Tensor2D, units: number) {
  const [zi, zf, zg, zo] = tf.split(z, [units, units, units, units], 1);
  const i = tf.sigmoid(zi), f = tf.sigmoid(zf), g = tf.tanh(zg), o = tf.sigmoid(zo);
  const cNew = tf.add(tf.mul(f, c), tf.mul(i, g)) as tf.Tensor2D;
  const tc = tf.tanh(cNew);
  const h = tf.mul(o, tc) as tf.Tensor2D;
  return { i, f, g, o, c: cNew, tc, h };
}

/**
 * Runs an LSTM over a whole sequence: x [batch, time, inputSize] -> hidden states
 * [batch, time, units]. Differentiable with respect to x, the weights and the initial state.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { lstmSequence } from "./lstm.ts";
 * const w = {
 *   kernel: tf.randomNormal([3, 8]) as tf.Tensor2D,
 *   recurrentKernel: tf.randomNormal([2, 8]) as tf.Tensor2D,
 *   bias: tf.zeros([8]) as tf.Tensor1D,
 * };
 * const h = lstmSequence(tf.randomNormal([4, 5, 3]) as tf.Tensor3D, w); // [4, 5, 2]
 * ```
 */
export function lstmSequence(
  x: tf.Tensor3D,
  weights: LstmWeights,
  options: LstmSequenceOptions = {},
): tf.Tensor3D {
  const { units, inputSize } = checkShapes(x, weights);
  const [batch, time] = x.shape;
  if (time < 1) throw new RangeError("Cannot run LSTM: the sequence is empty");
  const h0 = options.initialH ?? tf.zeros([batch, units]) as tf.Tensor2D;
  const c0 = options.initialC ?? tf.zeros([batch, units]) as tf.Tensor2D;
  const run = tf.customGrad((...args: unknown[]) => {
    const [xs, kernel, rk, bias, hInit, cInit] = args as [
      tf.Tensor3D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor1D,
      tf.Tensor2D,
      tf.Tensor2D,
    ];
    const save = args[6] as (t: tf.Tensor[]) => void;
    // Time-major [T*B, I] so that step t is a contiguous row block.
    const xFlat = tf.reshape(tf.transpose(xs, [1, 0, 2]), [time * batch, inputSize]) as tf.Tensor2D;
    const proj = tf.add(tf.matMul(xFlat, kernel), bias) as tf.Tensor2D;
    const projTime = tf.reshape(proj, [time, batch, 4 * units]);
    let h = hInit, c = cInit;
    const acts: tf.Tensor2D[] = [], cs: tf.Tensor2D[] = [], tcs: tf.Tensor2D[] = [];
    const hs: tf.Tensor2D[] = [];
    for (let t = 0; t < time; t++) {
      // A scope per step keeps the number of live tensors (and the wasm heap's free lists)
      // small; without it the step cost grows with the sequence length.
      const s = tf.tidy(() => {
        const z = tf.add(timeStep(projTime, t), tf.matMul(h, rk)) as tf.Tensor2D;
        const g = cell(z, c, units);
        return { act: tf.concat([g.i, g.f, g.g, g.o], 1) as tf.Tensor2D, c: g.c, tc: g.tc, h: g.h };
      });
      acts.push(s.act);
      cs.push(s.c);
      tcs.push(s.tc);
      hs.push(s.h);
      h = s.h;
      c = s.c;
    }
    const hsTime = tf.stack(hs) as tf.Tensor3D; // [T, B, H]
    save([xFlat, tf.stack(acts), tf.stack(cs), tf.stack(tcs), hsTime, hInit, cInit]);
    const value = tf.transpose(hsTime, [1, 0, 2]) as tf.Tensor3D;
    const gradFunc = (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
      const [xF, actsAll, csAll, tcsAll, hsAll, hStart, cStart] = saved as [
        tf.Tensor2D,
        tf.Tensor3D,
        tf.Tensor3D,
        tf.Tensor3D,
        tf.Tensor3D,
        tf.Tensor2D,
        tf.Tensor2D,
      ];
      const dyTime = tf.transpose(dy, [1, 0, 2]);
      // The wasm backend's matMul is fast only for non-transposed operands.
      const rkT = tf.transpose(rk) as tf.Tensor2D;
      let dhNext = tf.zerosLike(hStart) as tf.Tensor2D;
      let dcNext = tf.zerosLike(cStart) as tf.Tensor2D;
      const dzs: tf.Tensor2D[] = new Array(time);
      for (let t = time - 1; t >= 0; t--) {
        const prev = { dh: dhNext, dc: dcNext };
        const r = tf.tidy(() => {
          const [i, f, g, o] = tf.split(timeStep(actsAll, t), 4, 1);
          const tc = timeStep(tcsAll, t);
          const cPrev = t > 0 ? timeStep(csAll, t - 1) : cStart;
          const dh = tf.add(timeStep(dyTime, t), prev.dh);
          const dc = tf.add(prev.dc, tf.mul(tf.mul(dh, o), tf.sub(1, tf.square(tc))));
          const dzo = tf.mul(tf.mul(dh, tc), tf.mul(o, tf.sub(1, o)));
          const dzi = tf.mul(tf.mul(dc, g), tf.mul(i, tf.sub(1, i)));
          const dzg = tf.mul(tf.mul(dc, i), tf.sub(1, tf.square(g)));
          const dzf = tf.mul(tf.mul(dc, cPrev), tf.mul(f, tf.sub(1, f)));
          const dz = tf.concat([dzi, dzf, dzg, dzo], 1) as tf.Tensor2D;
          return { dz, dc: tf.mul(dc, f) as tf.Tensor2D, dh: tf.matMul(dz, rkT) as tf.Tensor2D };
        });
        prev.dh.dispose();
        prev.dc.dispose();
        dzs[t] = r.dz;
        dcNext = r.dc;
        dhNext = r.dh;
      }
      const dzAll = tf.concat(dzs, 0) as tf.Tensor2D; // [T*B, 4H]
      const hPrev = tf.concat(
        [hStart, tf.reshape(tf.slice(hsAll, [0, 0, 0], [time - 1, batch, units]), [-1, units])],
        0,
      ) as tf.Tensor2D;
      const dKernel = tf.matMul(tf.transpose(xF), dzAll);
      const dRk = tf.matMul(tf.transpose(hPrev), dzAll);
      const dBias = tf.sum(dzAll, 0);
      const dxFlat = tf.matMul(dzAll, tf.transpose(kernel));
      const dx = tf.transpose(tf.reshape(dxFlat, [time, batch, inputSize]), [1, 0, 2]);
      return [dx, dKernel, dRk, dBias, dhNext, dcNext];
    };
    return { value, gradFunc };
  });
  const out = run(x, weights.kernel, weights.recurrentKernel, weights.bias, h0, c0) as tf.Tensor3D;
  if (!options.initialH) h0.dispose();
  if (!options.initialC) c0.dispose();
  return out;
}

/**
 * One LSTM step (forward only, no tape needed): x [batch, inputSize] and the state in,
 * the next state out. This is what controllers and dreams call once per frame.
 */
export function lstmStep(x: tf.Tensor2D, state: LstmState, weights: LstmWeights): LstmState {
  const { units } = checkShapes(x, weights);
  return tf.tidy(() => {
    const z = tf.add(
      tf.add(tf.matMul(x, weights.kernel), tf.matMul(state.h, weights.recurrentKernel)),
      weights.bias,
    ) as tf.Tensor2D;
    const s = cell(z, state.c, units);
    return { h: s.h, c: s.c };
  });
}
