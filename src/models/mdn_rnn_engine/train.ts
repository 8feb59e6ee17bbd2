/**
 * One training step of the MDN-RNN (LSTM + mixture-density head) on the SIMD kernels of
 * {@linkcode createRnnKernels}: forward through the whole sequence, mixture NLL (+ reward BCE),
 * backward through time, returning the loss and the gradients in the Keras weight layout.
 *
 * The layout inside the kernel memory is time-major ([T, B, .]); the input projection of all
 * steps is one matrix product (the bias rides along as an input column of ones, so its
 * gradient falls out of the same product), and the weight gradients of the whole sequence are
 * one product each. Only the recurrent product and the fused cell run per step.
 *
 * @module
 */
import { gemmLongK, K_CHUNK, layoutArena, MR, NR } from "../simd/mod.ts";
import { createRnnKernels, type RnnKernels } from "./kernels.ts";
import {
  doneTerm,
  extraColumns,
  headOutputs,
  type MdnRnnBatch,
  type MdnRnnDims,
  type MdnRnnGradients,
  type MdnRnnWeights,
  rewardTerm,
} from "./types.ts";

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * The engine's head column order: column (field * K + j) * Z + d holds field (0 logit, 1 mean,
 * 2 log-std) of component j for latent dimension d, so that 4 consecutive dimensions form one
 * SIMD vector. Returns perm with perm[engineColumn] = kerasColumn (Keras: d * 3K + field * K + j;
 * the reward and done outputs stay last).
 */
export function headPermutation(dims: MdnRnnDims): Int32Array {
  const { zSize: Z, mixtures: K } = dims;
  const perm = new Int32Array(headOutputs(dims));
  for (let field = 0; field < 3; field++) {
    for (let j = 0; j < K; j++) {
      for (let d = 0; d < Z; d++) perm[(field * K + j) * Z + d] = d * 3 * K + field * K + j;
    }
  }
  for (let c = Z * K * 3; c < perm.length; c++) perm[c] = c;
  return perm;
}

/** Computes MDN-RNN losses and gradients with the SIMD kernels (one per thread/Worker). */
export class MdnRnnEngine {
  /** Network sizes. */
  readonly dims: MdnRnnDims;
  /** Head outputs: zSize * mixtures * 3 (+ 1 reward logit). */
  readonly outputs: number;
  private k: RnnKernels;
  private shapeKey = "";
  private buf: Record<string, number> = {};
  private f32 = new Float32Array(0);
  /** Head column order inside the engine (new column -> Keras column), see headPermutation. */
  private perm: Int32Array;

  /** Creates an engine; memory is sized on the first batch. */
  constructor(dims: MdnRnnDims) {
    this.dims = dims;
    this.outputs = headOutputs(dims);
    this.k = createRnnKernels(dims.hidden, dims);
    this.perm = headPermutation(dims);
  }

  /** Sizes and places the buffers for a batch shape (once per shape). */
  private layout(batch: number, seq: number): void {
    const key = `${batch}x${seq}`;
    if (key === this.shapeKey) return;
    const { inputSize: I, hidden: H } = this.dims;
    const O = this.outputs;
    const Bp = Math.ceil(batch / MR) * MR;
    const R = seq * Bp;
    const Ia = I + 1; // input plus the ones column carrying the bias
    const Iap = Math.ceil(Ia / MR) * MR;
    const O8 = Math.ceil(O / NR) * NR;
    const O4 = Math.ceil(O / 4) * 4; // K of the dH product, padded for 4x4 transposes
    const G4 = 4 * H;
    const sizes: Record<string, number> = {
      x: R * Ia,
      xP: R * Ia,
      xT: Iap * R,
      wkP: G4 * Ia,
      wk: Ia * G4,
      wr: H * G4,
      wrP: G4 * H,
      wrTP: H * G4,
      wh: H * O,
      whP: O8 * H,
      whTP: H * O4,
      zeros: Bp * G4,
      g: R * G4,
      cs: R * H,
      hs: R * H,
      tc: R * H,
      hP: R * H,
      y: R * O8,
      yP: R * O4,
      dH: R * H,
      bChunk: K_CHUNK * Math.max(G4, O8),
      dWh: H * O8,
      dc: Bp * H,
      dhRec: Bp * H,
      dgP: Bp * G4,
      dWr: H * G4,
      dWk: Iap * G4,
      hbP: O8,
      dhbP: O8,
      zt: batch * seq * this.dims.zSize,
      acc: 4,
    };
    if ((this.dims.dropout ?? 0) > 0) {
      // Dropped h (time-major, as hs), its packed copy, and the mask in the same layout.
      sizes.hd = R * H;
      sizes.hdP = R * H;
      sizes.dmask = R * H;
    }
    const { at, f32 } = layoutArena(this.k.memory, sizes);
    this.f32 = f32;
    this.buf = at;
    this.shapeKey = key;
  }

  /** Forward + backward on one batch; returns the loss terms and the gradients. */
  compute(weights: MdnRnnWeights, batch: MdnRnnBatch): MdnRnnGradients {
    const { inputSize: I, hidden: H, zSize: Z, mixtures: K, rewardHead, doneHead } = this.dims;
    const O = this.outputs;
    const { batch: B, seq: T } = batch;
    if (batch.input.length !== B * T * I) {
      throw new RangeError(
        `Cannot train on batch: input has ${batch.input.length} values, expected ${B}x${T}x${I}`,
      );
    }
    if (batch.targetZ.length !== B * T * Z) {
      throw new RangeError(
        `Cannot train on batch: targetZ has ${batch.targetZ.length} values, expected ${B}x${T}x${Z}`,
      );
    }
    if (rewardHead && batch.targetReward?.length !== B * T) {
      throw new RangeError(`Cannot train on batch: the reward head needs targetReward [${B}x${T}]`);
    }
    if (doneHead && batch.targetDone?.length !== B * T) {
      throw new RangeError(`Cannot train on batch: the done head needs targetDone [${B}x${T}]`);
    }
    if (batch.zMask !== undefined && batch.zMask.length !== B * T) {
      throw new RangeError(`Cannot train on batch: zMask has ${batch.zMask.length} values`);
    }
    const drop = batch.dropMask;
    if (drop !== undefined && (!(this.dims.dropout! > 0) || drop.length !== B * T * H)) {
      throw new RangeError(
        `Cannot train on batch: dropMask needs dims.dropout > 0 and ${B}x${T}x${H} values`,
      );
    }
    this.layout(B, T);
    const k = this.k, b = this.buf, F = this.f32;
    const Bp = Math.ceil(B / MR) * MR;
    const R = T * Bp;
    const Ia = I + 1;
    const Iap = Math.ceil(Ia / MR) * MR;
    const O8 = Math.ceil(O / NR) * NR;
    const O4 = Math.ceil(O / 4) * 4; // K of the dH product, padded for 4x4 transposes
    const G4 = 4 * H;
    const f = (name: string) => b[name] >> 2;

    // Inputs, time-major with a ones column; padding rows stay zero.
    const x = F.subarray(f("x"), f("x") + R * Ia);
    for (let t = 0; t < T; t++) {
      for (let bb = 0; bb < B; bb++) {
        const src = (bb * T + t) * I, dst = (t * Bp + bb) * Ia;
        for (let i = 0; i < I; i++) x[dst + i] = batch.input[src + i];
        x[dst + I] = 1;
      }
    }
    // Weights: [kernel; bias] as one (I+1) x 4H matrix.
    F.set(weights.kernel, f("wk"));
    F.set(weights.bias, f("wk") + I * G4);
    F.set(weights.recurrentKernel, f("wr"));
    const simdLoss = k.mdnLoss !== undefined;
    const perm = this.perm;
    if (simdLoss) {
      const wh = f("wh"), hk = weights.headKernel;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < O; j++) F[wh + i * O + j] = hk[i * O + perm[j]];
      }
    } else {
      F.set(weights.headKernel, f("wh"));
    }
    k.pack(b.x, Ia * 4, 4, R, Ia, b.xP, MR);
    k.pack(b.x, 4, Ia * 4, Ia, R, b.xT, MR);
    k.packLanes8(b.wk, G4 * 4, Ia, G4 / NR, b.wkP);
    k.packLanes8(b.wr, G4 * 4, H, G4 / NR, b.wrP);
    k.pack(b.wr, G4 * 4, 4, H, G4, b.wrTP, NR);
    k.pack(b.wh, 4, O * 4, O, H, b.whP, NR);
    k.pack(b.wh, O * 4, 4, H, O4, b.whTP, NR);
    // Rows O..O4 of Wh^T were read past each row's end: zero them (dY is zero there too).
    for (let p = 0; p < H / NR; p++) {
      F.fill(0, f("whTP") + (p * O4 + O) * NR, f("whTP") + (p + 1) * O4 * NR);
    }

    // Forward. Input projection (bias included) of all steps in one product.
    k.gemmI(
      b.xP,
      MR * 4,
      Ia * MR * 4,
      b.wkP,
      NR * 4,
      Ia * NR * 4,
      b.g,
      G4 * 4,
      R / MR,
      G4 / NR,
      Ia,
      0,
    );
    const mPs = Bp / MR;
    for (let t = 0; t < T; t++) {
      const gt = b.g + t * Bp * G4 * 4;
      if (t > 0) {
        const hPrev = b.hP + (t - 1) * Bp * H * 4;
        k.gemmI(
          hPrev,
          MR * 4,
          H * MR * 4,
          b.wrP,
          NR * 4,
          H * NR * 4,
          gt,
          G4 * 4,
          mPs,
          G4 / NR,
          H,
          1,
        );
      }
      const st = t * Bp * H * 4;
      const cPrev = t > 0 ? b.cs + st - Bp * H * 4 : b.zeros;
      k.gatesFwd(gt, b.zeros, cPrev, b.cs + st, b.hs + st, b.tc + st, Bp);
      k.packT4(b.hs + st, H * 4, H, Bp / MR, b.hP + st);
    }
    if (drop) {
      // The head sees h * mask; padding rows get a zero mask.
      const dm = f("dmask"), hs = f("hs"), hd = f("hd");
      F.fill(0, dm, dm + R * H);
      for (let t = 0; t < T; t++) {
        for (let bb = 0; bb < B; bb++) {
          F.set(drop.subarray((bb * T + t) * H, (bb * T + t + 1) * H), dm + (t * Bp + bb) * H);
        }
      }
      for (let i = 0; i < R * H; i++) F[hd + i] = F[hs + i] * F[dm + i];
      k.packT4(b.hd, H * 4, H, R / MR, b.hdP);
    }
    // Head: Y = H Wh (bias added in the loss loop).
    k.gemmI(
      drop ? b.hdP : b.hP,
      MR * 4,
      H * MR * 4,
      b.whP,
      NR * 4,
      H * NR * 4,
      b.y,
      O8 * 4,
      R / MR,
      O8 / NR,
      H,
      0,
    );

    // Loss and dY (in place over Y).
    const y = F.subarray(f("y"), f("y") + R * O8);
    const nllScale = 1 / (B * T * Z);
    const { nllSum, dhb } = simdLoss
      ? this.simdLoss(weights.headBias, batch, Bp, O8)
      : this.jsLoss(weights.headBias, batch, y, Bp, O8);
    const bceScale = 1 / (B * T);
    let rewardSum = 0, doneSum = 0;
    const hb = weights.headBias;
    const col = extraColumns(this.dims);
    const mask = batch.zMask;
    for (let t = 0; t < T; t++) {
      for (let bb = 0; bb < Bp; bb++) {
        const row = (t * Bp + bb) * O8;
        if (bb >= B) {
          y.fill(0, row, row + O8);
          continue;
        }
        // No next frame: the mixture outputs get no gradient (the losses skipped the row).
        if (mask && mask[bb * T + t] === 0) y.fill(0, row, row + Z * K * 3);
        if (rewardHead) {
          const c = col.reward;
          const term = rewardTerm(this.dims, y[row + c] + hb[c], batch.targetReward![bb * T + t]);
          rewardSum += term.loss;
          const g = term.grad * bceScale;
          y[row + c] = g;
          dhb[c] += g;
        }
        if (doneHead) {
          const c = col.done;
          const term = doneTerm(this.dims, y[row + c] + hb[c], batch.targetDone![bb * T + t]);
          doneSum += term.loss;
          const g = term.grad * bceScale;
          y[row + c] = g;
          dhb[c] += g;
        }
      }
    }

    // Head backward: dWh = H^T dY, dH = dY Wh^T.
    // A = H^T is read in place (its panels' lanes are contiguous in H); B = dY is packed by
    // chunks of K into a small scratch buffer.
    const hT = { a: b.hs, sAk: H * 4, sAp: MR * 4 };
    gemmLongK(k, {
      ...hT,
      a: drop ? b.hd : b.hs,
      b: b.y,
      sBk: O8 * 4,
      sBp: NR * 4,
      c: b.dWh,
      ldc: O8 * 4,
      mPanels: H / MR,
      nPanels: O8 / NR,
      K: R,
    }, b.bChunk);
    k.packT4(b.y, O8 * 4, O4, R / MR, b.yP);
    k.gemmI(
      b.yP,
      MR * 4,
      O4 * MR * 4,
      b.whTP,
      NR * 4,
      O4 * NR * 4,
      b.dH,
      H * 4,
      R / MR,
      H / NR,
      O4,
      0,
    );
    if (drop) {
      const dH = f("dH"), dm = f("dmask");
      for (let i = 0; i < R * H; i++) F[dH + i] *= F[dm + i];
    }

    // Backward through time; G is overwritten by the pre-activation gradients.
    F.fill(0, f("dc"), f("dc") + Bp * H);
    F.fill(0, f("dhRec"), f("dhRec") + Bp * H);
    for (let t = T - 1; t >= 0; t--) {
      const gt = b.g + t * Bp * G4 * 4;
      const st = t * Bp * H * 4;
      const cPrev = t > 0 ? b.cs + st - Bp * H * 4 : b.zeros;
      k.gatesBwd(gt, b.dH + st, b.dhRec, cPrev, b.tc + st, b.dc, Bp);
      if (t > 0) {
        k.packT4(gt, G4 * 4, G4, Bp / MR, b.dgP);
        k.gemmI(
          b.dgP,
          MR * 4,
          G4 * MR * 4,
          b.wrTP,
          NR * 4,
          G4 * NR * 4,
          b.dhRec,
          H * 4,
          mPs,
          H / NR,
          G4,
          0,
        );
      }
    }
    // Weight gradients of the whole sequence: dWr = H_{t-1}^T dG_t, [dWk; db] = [X 1]^T dG.
    const dG = { b: b.g, sBk: G4 * 4, sBp: NR * 4, ldc: G4 * 4, nPanels: G4 / NR };
    gemmLongK(
      k,
      { ...hT, ...dG, b: b.g + Bp * G4 * 4, c: b.dWr, mPanels: H / MR, K: R - Bp },
      b.bChunk,
    );
    gemmLongK(k, {
      a: b.xT,
      sAk: MR * 4,
      sAp: R * MR * 4,
      ...dG,
      c: b.dWk,
      mPanels: Iap / MR,
      K: R,
    }, b.bChunk);

    const dWhFull = F.subarray(f("dWh"), f("dWh") + H * O8);
    const headKernel = new Float32Array(H * O);
    for (let i = 0; i < H; i++) {
      if (simdLoss) {
        for (let j = 0; j < O; j++) headKernel[i * O + perm[j]] = dWhFull[i * O8 + j];
      } else {
        headKernel.set(dWhFull.subarray(i * O8, i * O8 + O), i * O);
      }
    }
    const nll = nllSum * nllScale;
    const rewardLoss = rewardSum * bceScale;
    const bce = this.dims.rewardRegression ? 0 : rewardLoss;
    const mse = this.dims.rewardRegression ? rewardLoss : 0;
    const doneBce = doneSum * bceScale;
    return {
      loss: nll + bce + mse + doneBce,
      nll,
      bce,
      mse,
      doneBce,
      grads: {
        kernel: F.slice(f("dWk"), f("dWk") + I * G4),
        bias: F.slice(f("dWk") + I * G4, f("dWk") + Ia * G4),
        recurrentKernel: F.slice(f("dWr"), f("dWr") + H * G4),
        headKernel,
        headBias: dhb,
      },
    };
  }

  /** Mixture NLL on the SIMD kernel (head columns in the engine's order); dhb in Keras order. */
  private simdLoss(
    headBias: Float32Array,
    batch: MdnRnnBatch,
    Bp: number,
    O8: number,
  ): { nllSum: number; dhb: Float32Array } {
    const { zSize: Z } = this.dims;
    const { batch: B, seq: T } = batch;
    const O = this.outputs, perm = this.perm, k = this.k, b = this.buf, F = this.f32;
    const f = (name: string) => b[name] >> 2;
    for (let j = 0; j < O; j++) F[f("hbP") + j] = headBias[perm[j]];
    F.fill(0, f("dhbP"), f("dhbP") + O8);
    F.set(batch.targetZ, f("zt"));
    const scale = 1 / (B * T * Z);
    const mask = batch.zMask;
    let acc = 0, rowsDone = 0;
    for (let t = 0; t < T; t++) {
      F.fill(0, f("acc"), f("acc") + 4);
      // Runs of consecutive rows with a next frame (all B rows without a mask).
      for (let b0 = 0; b0 < B;) {
        if (mask && mask[b0 * T + t] === 0) {
          b0++;
          continue;
        }
        let b1 = b0 + 1;
        if (mask) { while (b1 < B && mask[b1 * T + t] !== 0) b1++; }
        else b1 = B;
        k.mdnLoss!(
          b.y + (t * Bp + b0) * O8 * 4,
          O8 * 4,
          b.hbP,
          b.zt + (b0 * T + t) * Z * 4,
          T * Z * 4,
          b1 - b0,
          b.dhbP,
          b.acc,
          scale,
        );
        rowsDone += b1 - b0;
        b0 = b1;
      }
      acc += F[f("acc")] + F[f("acc") + 1] + F[f("acc") + 2] + F[f("acc") + 3];
    }
    const dhb = new Float32Array(O);
    for (let j = 0; j < O; j++) dhb[perm[j]] = F[f("dhbP") + j];
    return { nllSum: rowsDone * Z * LOG_SQRT_2PI - acc, dhb };
  }

  /** Mixture NLL in plain JavaScript (any zSize); head columns in the Keras order. */
  private jsLoss(
    hb: Float32Array,
    batch: MdnRnnBatch,
    y: Float32Array,
    Bp: number,
    O8: number,
  ): { nllSum: number; dhb: Float32Array } {
    const { zSize: Z, mixtures: K } = this.dims;
    const { batch: B, seq: T } = batch;
    const O = this.outputs;
    const dhb = new Float32Array(O);
    const nllScale = 1 / (B * T * Z);
    let nllSum = 0;
    const pi = new Float64Array(K), a = new Float64Array(K), e = new Float64Array(K);
    const s = new Float64Array(K);
    for (let t = 0; t < T; t++) {
      for (let bb = 0; bb < B; bb++) {
        if (batch.zMask && batch.zMask[bb * T + t] === 0) continue;
        const row = (t * Bp + bb) * O8;
        const zRow = (bb * T + t) * Z;
        for (let d = 0; d < Z; d++) {
          const base = row + d * 3 * K;
          let m = -Infinity;
          for (let j = 0; j < K; j++) {
            const l = y[base + j] + hb[d * 3 * K + j];
            pi[j] = l;
            if (l > m) m = l;
          }
          let se = 0;
          for (let j = 0; j < K; j++) {
            pi[j] = Math.exp(pi[j] - m);
            se += pi[j];
          }
          const lse = m + Math.log(se);
          const zt = batch.targetZ[zRow + d];
          let am = -Infinity;
          for (let j = 0; j < K; j++) {
            const mu = y[base + K + j] + hb[d * 3 * K + K + j];
            const ls = y[base + 2 * K + j] + hb[d * 3 * K + 2 * K + j];
            const inv = Math.exp(-ls);
            const ee = (zt - mu) * inv;
            e[j] = ee;
            s[j] = inv;
            const l = y[base + j] + hb[d * 3 * K + j];
            a[j] = l - lse - 0.5 * ee * ee - ls - LOG_SQRT_2PI;
            if (a[j] > am) am = a[j];
          }
          let sa = 0;
          for (let j = 0; j < K; j++) {
            a[j] = Math.exp(a[j] - am);
            sa += a[j];
          }
          nllSum -= am + Math.log(sa);
          for (let j = 0; j < K; j++) {
            const w = a[j] / sa;
            const g0 = (pi[j] / se - w) * nllScale;
            const g1 = -w * e[j] * s[j] * nllScale;
            const g2 = w * (1 - e[j] * e[j]) * nllScale;
            y[base + j] = g0;
            y[base + K + j] = g1;
            y[base + 2 * K + j] = g2;
            dhb[d * 3 * K + j] += g0;
            dhb[d * 3 * K + K + j] += g1;
            dhb[d * 3 * K + 2 * K + j] += g2;
          }
        }
      }
    }
    return { nllSum, dhb };
  }
}
