/**
 * Single steps of the MDN-RNN for many parallel sequences (the dream, the controller's rollouts)
 * on the same SIMD kernels as training.
 *
 * @module
 */
import { layoutArena, MR, NR } from "../simd/mod.ts";
import { createRnnKernels, type RnnKernels } from "./kernels.ts";
import {
  extraColumns,
  headOutputs,
  type MdnRnnDims,
  type MdnRnnState,
  type MdnRnnWeights,
  type MixtureParams,
} from "./types.ts";

/**
 * Single steps of the LSTM (+ head) for many parallel sequences, on the same kernels: one
 * product of [x, 1, h] with the packed [kernel; bias; recurrentKernel], the fused cell, and
 * optionally the head. Packed weights are reused until the weights' version changes.
 */
export class MdnRnnStepper {
  /** Network sizes. */
  readonly dims: MdnRnnDims;
  /** Head outputs: zSize * mixtures * 3 (+ 1 reward output) (+ 1 done logit). */
  readonly outputs: number;
  private k: RnnKernels;
  private rows = -1;
  private version = -1;
  private buf: Record<string, number> = {};
  private f32 = new Float32Array(0);

  /** Creates a stepper; memory is sized on the first call. */
  constructor(dims: MdnRnnDims) {
    this.dims = dims;
    this.outputs = headOutputs(dims);
    this.k = createRnnKernels(dims.hidden);
  }

  /** Sizes and places the buffers for `n` rows (once per row count). */
  private layout(n: number): void {
    const Bp = Math.ceil(n / MR) * MR;
    if (Bp === this.rows) return;
    const { inputSize: I, hidden: H } = this.dims;
    const Ka = I + 1 + H, G4 = 4 * H, O8 = Math.ceil(this.outputs / NR) * NR;
    const sizes: Record<string, number> = {
      wcat: Ka * G4,
      wP: G4 * Ka,
      wh: H * this.outputs,
      whP: O8 * H,
      zeros: G4,
      xa: Bp * Ka,
      xaP: Bp * Ka,
      g: Bp * G4,
      c: Bp * H,
      cOut: Bp * H,
      hOut: Bp * H,
      tc: Bp * H,
      hP: Bp * H,
      hd: Bp * H,
      y: Bp * O8,
    };
    const { at, f32 } = layoutArena(this.k.memory, sizes);
    this.f32 = f32;
    this.buf = at;
    this.rows = Bp;
    this.version = -1;
  }

  /**
   * One step for `state.batch` rows: x [batch, inputSize] (already concatenated z, a (, r)).
   * Returns fresh state arrays and, if asked, the head's outputs; with `dropMask` [batch,
   * hidden] the head sees h times the mask (the returned state is h itself).
   */
  step(
    weights: MdnRnnWeights,
    version: number,
    x: Float32Array,
    state: MdnRnnState,
    wantMixture: boolean,
    dropMask?: Float32Array,
  ): { state: MdnRnnState; mixture?: MixtureParams } {
    const { inputSize: I, hidden: H, zSize: Z, mixtures: K } = this.dims;
    const O = this.outputs, n = state.batch;
    this.layout(n);
    const k = this.k, b = this.buf, F = this.f32;
    const Bp = this.rows, Ka = I + 1 + H, G4 = 4 * H, O8 = Math.ceil(O / NR) * NR;
    const f = (name: string) => b[name] >> 2;
    if (version !== this.version) {
      F.set(weights.kernel, f("wcat"));
      F.set(weights.bias, f("wcat") + I * G4);
      F.set(weights.recurrentKernel, f("wcat") + (I + 1) * G4);
      F.set(weights.headKernel, f("wh"));
      k.pack(b.wcat, 4, G4 * 4, G4, Ka, b.wP, NR);
      k.pack(b.wh, 4, O * 4, O, H, b.whP, NR);
      this.version = version;
    }
    const xa = f("xa");
    for (let i = 0; i < n; i++) {
      F.set(x.subarray(i * I, i * I + I), xa + i * Ka);
      F[xa + i * Ka + I] = 1;
      F.set(state.h.subarray(i * H, i * H + H), xa + i * Ka + I + 1);
    }
    F.set(state.c, f("c"));
    k.pack(b.xa, Ka * 4, 4, Bp, Ka, b.xaP, MR);
    const gemm = Bp <= 4 * MR ? k.gemmP : k.gemmI;
    gemm(
      b.xaP,
      MR * 4,
      Ka * MR * 4,
      b.wP,
      NR * 4,
      Ka * NR * 4,
      b.g,
      G4 * 4,
      Bp / MR,
      G4 / NR,
      Ka,
      0,
    );
    k.gatesFwd(b.g, b.zeros, b.c, b.cOut, b.hOut, b.tc, Bp);
    const next: MdnRnnState = {
      h: F.slice(f("hOut"), f("hOut") + n * H),
      c: F.slice(f("cOut"), f("cOut") + n * H),
      batch: n,
    };
    if (!wantMixture) return { state: next };
    if (dropMask) {
      if (dropMask.length !== n * H) {
        throw new RangeError(`Cannot step: dropMask has ${dropMask.length} values, not ${n}x${H}`);
      }
      const hd = f("hd"), hOut = f("hOut");
      F.fill(0, hd, hd + Bp * H);
      for (let i = 0; i < n * H; i++) F[hd + i] = F[hOut + i] * dropMask[i];
    }
    k.packT4(dropMask ? b.hd : b.hOut, H * 4, H, Bp / MR, b.hP);
    gemm(b.hP, MR * 4, H * MR * 4, b.whP, NR * 4, H * NR * 4, b.y, O8 * 4, Bp / MR, O8 / NR, H, 0);
    const y = F.subarray(f("y"), f("y") + Bp * O8);
    const hb = weights.headBias;
    const logPi = new Float32Array(n * Z * K), mu = new Float32Array(n * Z * K);
    const logSigma = new Float32Array(n * Z * K);
    const col = extraColumns(this.dims);
    const rewardOut = col.reward >= 0 ? new Float32Array(n) : undefined;
    const doneLogit = col.done >= 0 ? new Float32Array(n) : undefined;
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < Z; d++) {
        const src = i * O8 + d * 3 * K, hbase = d * 3 * K, dst = (i * Z + d) * K;
        let m = -Infinity;
        for (let j = 0; j < K; j++) m = Math.max(m, y[src + j] + hb[hbase + j]);
        let se = 0;
        for (let j = 0; j < K; j++) se += Math.exp(y[src + j] + hb[hbase + j] - m);
        const lse = m + Math.log(se);
        for (let j = 0; j < K; j++) {
          logPi[dst + j] = y[src + j] + hb[hbase + j] - lse;
          mu[dst + j] = y[src + K + j] + hb[hbase + K + j];
          logSigma[dst + j] = y[src + 2 * K + j] + hb[hbase + 2 * K + j];
        }
      }
      if (rewardOut) rewardOut[i] = y[i * O8 + col.reward] + hb[col.reward];
      if (doneLogit) doneLogit[i] = y[i * O8 + col.done] + hb[col.done];
    }
    const mixture: MixtureParams = { logPi, mu, logSigma, batch: n, mixtures: K };
    if (rewardOut && this.dims.rewardRegression) mixture.rewardValue = rewardOut;
    else if (rewardOut) mixture.rewardLogit = rewardOut;
    if (doneLogit) mixture.doneLogit = doneLogit;
    return { state: next, mixture };
  }
}
