/**
 * The loss and gradients of the World Models ConvVAE for a shard of frames, on the SIMD
 * kernels of {@linkcode createVaeKernels}.
 *
 * Every convolution is a product on patch rows: the encoder's convolutions gather their input's
 * patches (im2col) and multiply by the kernel; the decoder's transposed convolutions multiply
 * their input by the kernel into patch rows and scatter-add them into the output (col2im).
 * Backward runs the same moves the other way: a convolution's input gradient is the product of
 * its output gradient by the transposed kernel, scattered; a transposed convolution's is the
 * product of its gathered output gradient by the kernel; every kernel gradient is one product
 * of a patch matrix by an activation matrix over all pixels of the shard. Kernels and
 * gradients keep the tfjs layouts ([kh, kw, cin, cout] for convolutions, [kh, kw, cout, cin]
 * for transposed ones), so nothing is reordered on the way in or out.
 *
 * @module
 */
import { layoutArena, MR, NR } from "../simd/mod.ts";
import { createVaeKernels, type VaeKernels } from "./kernels.ts";
import {
  type ConvGeometry,
  DECODER_DECONVS,
  ENCODER_CONVS,
  FLAT,
  FRAME,
  vaeWeightShapes,
  WEIGHT_INDEX,
} from "./geometry.ts";

/** Loss sums and gradients of one shard. */
export interface VaeShardGradients {
  /** Gradients of `scale` times the shard's summed loss, in the tfjs weight order. */
  grads: Float32Array<ArrayBuffer>[];
  /** Summed squared error over the shard's frames (not scaled). */
  reconstruction: number;
  /** Free-bits-clamped KL summed over the shard's frames (not scaled). */
  kl: number;
}

/** Rows of A packed per product call (the packed chunk of one K slice stays in L2). */
const ROWS = 256;
/** Depth of one product call. */
const KC = 256;

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

interface Layer {
  g: ConvGeometry;
  /** Patches (convolution) or input pixels (transposed convolution) of the shard. */
  m: number;
  /** m rounded up to MR. */
  mp: number;
  /** Patch row length: k*k*cin (convolution) or k*k*cout (transposed), and padded to NR. */
  depth: number;
  depthP: number;
}

function layers(list: readonly ConvGeometry[], frames: number, deconv: boolean): Layer[] {
  return list.map((g) => {
    const side = deconv ? g.inSize : g.outSize;
    const m = frames * side * side;
    const depth = g.k * g.k * (deconv ? g.cout : g.cin);
    return { g, m, mp: roundUp(m, MR), depth, depthP: roundUp(depth, NR) };
  });
}

/**
 * One thread's VAE engine: {@linkcode VaeEngine.setWeights}, then
 * {@linkcode VaeEngine.gradients} on as many shards as wanted. Results depend only on the
 * weights and the shard (not on the shards computed before), so any split of a batch into
 * fixed shards gives the same bytes on any number of threads.
 */
export class VaeEngine {
  /** Latent size. */
  readonly zSize: number;
  /** Free bits per latent dimension. */
  readonly klTolerance: number;
  readonly #k: VaeKernels;
  readonly #zp: number;
  readonly #shapes: number[][];
  #capacity = 0;
  #at: Record<string, number> = {};
  #f32 = new Float32Array(0);
  #weights: Float32Array[] | undefined;

  /** Creates an engine for latent size `zSize`; memory is sized on the first shard. */
  constructor(zSize: number, klTolerance: number) {
    if (!Number.isInteger(zSize) || zSize < 1) {
      throw new RangeError(`Cannot build the VAE engine: zSize must be >= 1, got ${zSize}`);
    }
    this.zSize = zSize;
    this.klTolerance = klTolerance;
    this.#zp = roundUp(zSize, NR);
    this.#shapes = vaeWeightShapes(zSize);
    this.#k = createVaeKernels();
  }

  /** Places every buffer for shards of up to `frames` frames. */
  #layout(frames: number): void {
    if (frames <= this.#capacity) return;
    const S = frames, Sp = roundUp(S, MR), zp = this.#zp, hc = 2 * zp;
    const enc = layers(ENCODER_CONVS, S, false), dec = layers(DECODER_DECONVS, S, true);
    const sizes: Record<string, number> = { x: S * FRAME, zeros: 4096, sums: 4096 };
    let scratchA = 0, scratchB = KC * FLAT;
    enc.forEach((L, l) => {
      const c = L.g.cout;
      sizes[`P${l}`] = L.mp * L.depth;
      const out = l === 3 ? Sp * FLAT : L.mp * c;
      sizes[`Y${l}`] = out;
      sizes[`dY${l}`] = out;
      sizes[`w${l}`] = L.depth * c;
      sizes[`b${l}`] = c;
      sizes[`wp${l}`] = L.depth * c;
      sizes[`wtp${l}`] = L.depth * c;
      sizes[`dW${l}`] = L.depth * c;
      scratchA = Math.max(scratchA, Math.min(ROWS, L.mp) * Math.max(L.depth, c));
      scratchB = Math.max(scratchB, KC * c);
    });
    Object.assign(sizes, {
      wh: FLAT * hc,
      whp: FLAT * hc,
      whtp: FLAT * hc,
      bh: hc,
      head: Sp * hc,
      dHead: Sp * hc,
      dWh: FLAT * hc,
      z: Sp * zp,
      dz: Sp * zp,
      wd: zp * FLAT,
      wdp: zp * FLAT,
      wdtp: zp * FLAT,
      bd: FLAT,
      h: Sp * FLAT,
      dh: Sp * FLAT,
      dWd: zp * FLAT,
    });
    scratchA = Math.max(scratchA, Math.min(ROWS, Sp) * Math.max(FLAT, hc));
    dec.forEach((L, d) => {
      const { cin, cout, outSize } = L.g;
      sizes[`C${d}`] = L.mp * L.depthP;
      const out = roundUp(S * outSize * outSize, MR) * cout;
      sizes[`Y${4 + d}`] = out;
      sizes[`dY${4 + d}`] = out;
      sizes[`k${d}`] = L.depth * cin;
      sizes[`db${d}`] = cout;
      sizes[`kp${d}`] = L.depthP * cin;
      sizes[`dK${d}`] = L.depth * cin;
      scratchA = Math.max(scratchA, Math.min(ROWS, L.mp) * Math.max(L.depth, cin));
      scratchB = Math.max(scratchB, KC * cin);
    });
    sizes.scratchA = scratchA;
    sizes.scratchB = scratchB;
    const { at, f32 } = layoutArena(this.#k.memory, sizes);
    this.#at = at;
    this.#f32 = f32;
    this.#capacity = frames;
    // The packed weights were in the old memory: place them again.
    if (this.#weights !== undefined) this.#placeWeights(this.#weights);
  }

  /** Sets the weights (tfjs order and shapes); they are copied and packed once. */
  setWeights(weights: Float32Array[]): void {
    if (weights.length !== this.#shapes.length) {
      throw new RangeError(
        `Cannot set the VAE engine's weights: got ${weights.length} tensors, expected ${this.#shapes.length}`,
      );
    }
    weights.forEach((w, i) => {
      const n = this.#shapes[i].reduce((a, b) => a * b, 1);
      if (w.length !== n) {
        throw new RangeError(
          `Cannot set the VAE engine's weights: tensor ${i} has ${w.length} values, expected ${n} [${
            this.#shapes[i]
          }]`,
        );
      }
    });
    this.#weights = weights;
    if (this.#capacity > 0) this.#placeWeights(weights);
  }

  #placeWeights(weights: Float32Array[]): void {
    const k = this.#k, at = this.#at, F = this.#f32, z = this.zSize, zp = this.#zp, hc = 2 * zp;
    const f = (name: string) => at[name] >> 2;
    ENCODER_CONVS.forEach((g, l) => {
      const depth = g.k * g.k * g.cin;
      F.set(weights[WEIGHT_INDEX.conv(l)], f(`w${l}`));
      F.set(weights[WEIGHT_INDEX.conv(l) + 1], f(`b${l}`));
      k.packLanes8(at[`w${l}`], g.cout * 4, depth, g.cout / NR, at[`wp${l}`]);
      k.pack(at[`w${l}`], g.cout * 4, 4, depth, g.cout, at[`wtp${l}`], NR);
    });
    // The heads as one [1024, 2 zp] matrix: mean in columns 0.., log variance from zp.
    const mu = weights[WEIGHT_INDEX.mu], logvar = weights[WEIGHT_INDEX.logvar];
    const wh = f("wh");
    F.fill(0, wh, wh + FLAT * hc);
    for (let i = 0; i < FLAT; i++) {
      F.set(mu.subarray(i * z, (i + 1) * z), wh + i * hc);
      F.set(logvar.subarray(i * z, (i + 1) * z), wh + i * hc + zp);
    }
    F.fill(0, f("bh"), f("bh") + hc);
    F.set(weights[WEIGHT_INDEX.mu + 1], f("bh"));
    F.set(weights[WEIGHT_INDEX.logvar + 1], f("bh") + zp);
    k.packLanes8(at.wh, hc * 4, FLAT, hc / NR, at.whp);
    k.pack(at.wh, hc * 4, 4, FLAT, hc, at.whtp, NR);
    // The decoder's dense kernel with zero rows past zSize.
    F.fill(0, f("wd"), f("wd") + zp * FLAT);
    F.set(weights[WEIGHT_INDEX.dense], f("wd"));
    F.set(weights[WEIGHT_INDEX.dense + 1], f("bd"));
    k.packLanes8(at.wd, FLAT * 4, zp, FLAT / NR, at.wdp);
    k.pack(at.wd, FLAT * 4, 4, zp, FLAT, at.wdtp, NR);
    DECODER_DECONVS.forEach((g, d) => {
      const depth = g.k * g.k * g.cout;
      F.set(weights[WEIGHT_INDEX.deconv(d)], f(`k${d}`));
      F.set(weights[WEIGHT_INDEX.deconv(d) + 1], f(`db${d}`));
      // Forward: kernel^T as NR-column panels over the patch row (rows past depth are zero).
      k.pack(at[`k${d}`], g.cin * 4, 4, depth, g.cin, at[`kp${d}`], NR);
    });
  }

  /**
   * `dst(rows x nPanels*NR) = act(src(rows x K, row-major) x B + bias)`: the rows are packed
   * ROWS at a time, and each packed chunk meets B in K slices of KC (columns outer), so the
   * slice of A stays in L2 and one panel slice of B in L1.
   */
  #product(
    a: number,
    lda: number,
    rows: number,
    depth: number,
    b: number,
    sBk: number,
    sBp: number,
    nPanels: number,
    c: number,
    ldc: number,
    bias: number,
    relu: number,
  ): void {
    const k = this.#k, scratch = this.#at.scratchA;
    for (let r0 = 0; r0 < rows; r0 += ROWS) {
      const n = Math.min(ROWS, rows - r0);
      k.packT4(a + r0 * lda, lda, depth, n / MR, scratch);
      for (let k0 = 0; k0 < depth; k0 += KC) {
        const kc = Math.min(KC, depth - k0);
        k.gemmPE(
          scratch + k0 * 16,
          16,
          depth * 16,
          b + k0 * sBk,
          sBk,
          sBp,
          c + r0 * ldc,
          ldc,
          n / MR,
          nPanels,
          kc,
          k0 > 0 ? 1 : 0,
          bias,
          k0 + kc >= depth ? relu : 0,
        );
      }
    }
  }

  /**
   * `dst(mPanels*MR x nPanels*NR) = A^T x B` over `depth` shared rows, A and B row-major
   * (row strides lda and ldb bytes): a weight gradient, summed over the pixels of the shard.
   */
  #gradient(
    a: number,
    lda: number,
    mPanels: number,
    b: number,
    ldb: number,
    nPanels: number,
    c: number,
    ldc: number,
    depth: number,
  ): void {
    const k = this.#k, scratch = this.#at.scratchB;
    for (let k0 = 0; k0 < depth; k0 += KC) {
      const kc = Math.min(KC, depth - k0);
      k.packLanes8(b + k0 * ldb, ldb, kc, nPanels, scratch);
      k.gemmI(
        a + k0 * lda,
        lda,
        16,
        scratch,
        NR * 4,
        kc * NR * 4,
        c,
        ldc,
        mPanels,
        nPanels,
        kc,
        k0 > 0 ? 1 : 0,
      );
    }
  }

  /** out = the column sums of the rows x cols matrix at float index `at`. */
  #columnSums(at: number, rows: number, cols: number, out: Float32Array): void {
    const F = this.#f32;
    if (cols % 4 === 0 && cols <= 4096) {
      const sums = this.#at.sums;
      F.fill(0, sums >> 2, (sums >> 2) + cols);
      this.#k.colSums(at * 4, rows, cols, sums);
      out.set(F.subarray(sums >> 2, (sums >> 2) + cols));
      return;
    }
    const sums = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) sums[c] += F[at + r * cols + c];
    }
    out.set(sums);
  }

  /**
   * Loss sums and the gradients of `scale` x (summed loss) for `frames` frames `x` (floats in
   * [0, 1], [frames, 64, 64, 3]) with reparameterisation noise `eps` ([frames, zSize]). For a
   * batch of B frames split in shards, scale = 1 / B gives each shard's part of the gradient
   * of the batch-mean loss.
   */
  gradients(x: Float32Array, eps: Float32Array, frames: number, scale: number): VaeShardGradients {
    if (this.#weights === undefined) throw new Error("Cannot train: the VAE engine has no weights");
    if (!Number.isInteger(frames) || frames < 1 || x.length !== frames * FRAME) {
      throw new RangeError(
        `Cannot train the VAE: expected ${
          frames * FRAME
        } floats for ${frames} frames, got ${x.length}`,
      );
    }
    if (eps.length !== frames * this.zSize) {
      throw new RangeError(
        `Cannot train the VAE: expected ${frames * this.zSize} noise values, got ${eps.length}`,
      );
    }
    this.#layout(frames);
    const k = this.#k, at = this.#at, F = this.#f32, z = this.zSize, zp = this.#zp, hc = 2 * zp;
    const f = (name: string) => at[name] >> 2;
    const S = frames, Sp = roundUp(S, MR);
    const enc = layers(ENCODER_CONVS, S, false), dec = layers(DECODER_DECONVS, S, true);
    const W = this.#weights;
    F.set(x, f("x"));

    // Encoder: patches, then product with bias and ReLU.
    let src = at.x;
    enc.forEach((L, l) => {
      const { inSize, cin, outSize, cout } = L.g;
      const rowBytes = inSize * cin * 4;
      k.gather(
        src,
        rowBytes,
        rowBytes * inSize,
        outSize,
        outSize * outSize,
        0,
        L.m,
        L.g.k * cin * 4,
        2 * cin * 4,
        L.g.k,
        at[`P${l}`],
        L.depth * 4,
      );
      this.#product(
        at[`P${l}`],
        L.depth * 4,
        L.mp,
        L.depth,
        at[`wp${l}`],
        NR * 4,
        L.depth * NR * 4,
        cout / NR,
        at[`Y${l}`],
        cout * 4,
        at[`b${l}`],
        1,
      );
      src = at[`Y${l}`];
    });
    // Heads, reparameterisation, the decoder's dense layer.
    this.#product(
      at.Y3,
      FLAT * 4,
      Sp,
      FLAT,
      at.whp,
      NR * 4,
      FLAT * NR * 4,
      hc / NR,
      at.head,
      hc * 4,
      at.bh,
      0,
    );
    const head = f("head"), zAt = f("z");
    for (let b = 0; b < S; b++) {
      for (let d = 0; d < z; d++) {
        const lv = F[head + b * hc + zp + d];
        F[zAt + b * zp + d] = F[head + b * hc + d] + Math.exp(0.5 * lv) * eps[b * z + d];
      }
    }
    this.#product(
      at.z,
      zp * 4,
      Sp,
      zp,
      at.wdp,
      NR * 4,
      zp * NR * 4,
      FLAT / NR,
      at.h,
      FLAT * 4,
      at.bd,
      0,
    );
    // Transposed convolutions: product into patch rows, scatter-add, bias and activation.
    let input = at.h;
    dec.forEach((L, d) => {
      const { inSize, cin, outSize, cout } = L.g;
      this.#product(
        input,
        cin * 4,
        L.mp,
        cin,
        at[`kp${d}`],
        NR * 4,
        cin * NR * 4,
        L.depthP / NR,
        at[`C${d}`],
        L.depthP * 4,
        at.zeros,
        0,
      );
      const y = f(`Y${4 + d}`), pixels = S * outSize * outSize;
      F.fill(0, y, y + pixels * cout);
      const rowBytes = outSize * cout * 4;
      k.scatter(
        at[`Y${4 + d}`],
        rowBytes,
        rowBytes * outSize,
        inSize,
        inSize * inSize,
        0,
        L.m,
        L.g.k * cout * 4,
        2 * cout * 4,
        L.g.k,
        at[`C${d}`],
        L.depthP * 4,
      );
      if (d < dec.length - 1) {
        k.biasRelu(at[`Y${4 + d}`], pixels, cout, at[`db${d}`]);
      } else {
        // The sigmoid output (3 channels: not a whole vector per pixel).
        const bias = W[WEIGHT_INDEX.deconv(d) + 1];
        for (let p = 0; p < pixels; p++) {
          const row = y + p * cout;
          for (let c = 0; c < cout; c++) F[row + c] = 1 / (1 + Math.exp(-(F[row + c] + bias[c])));
        }
      }
      input = at[`Y${4 + d}`];
    });

    // Loss and its gradient at the output: d/dy of scale * sum (y - x)^2, through the sigmoid.
    const y = f("Y7"), dy = f("dY7"), n = S * FRAME;
    let reconstruction = 0;
    for (let i = 0; i < n; i++) {
      const yi = F[y + i], diff = yi - x[i];
      reconstruction += diff * diff;
      F[dy + i] = 2 * scale * diff * yi * (1 - yi);
    }
    const grads = this.#shapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));

    // Transposed convolutions backward.
    for (let d = dec.length - 1; d >= 0; d--) {
      const L = dec[d], { inSize, cin, outSize, cout } = L.g;
      const dyAt = f(`dY${4 + d}`), pixels = S * outSize * outSize;
      this.#columnSums(dyAt, pixels, cout, grads[WEIGHT_INDEX.deconv(d) + 1]);
      const rowBytes = outSize * cout * 4;
      k.gather(
        at[`dY${4 + d}`],
        rowBytes,
        rowBytes * outSize,
        inSize,
        inSize * inSize,
        0,
        L.m,
        L.g.k * cout * 4,
        2 * cout * 4,
        L.g.k,
        at[`C${d}`],
        L.depthP * 4,
      );
      const xAt = d === 0 ? at.h : at[`Y${3 + d}`];
      this.#gradient(
        at[`C${d}`],
        L.depthP * 4,
        L.depth / MR,
        xAt,
        cin * 4,
        cin / NR,
        at[`dK${d}`],
        cin * 4,
        L.m,
      );
      grads[WEIGHT_INDEX.deconv(d)].set(F.subarray(f(`dK${d}`), f(`dK${d}`) + L.depth * cin));
      const dx = d === 0 ? at.dh : at[`dY${3 + d}`];
      this.#product(
        at[`C${d}`],
        L.depthP * 4,
        L.mp,
        L.depth,
        at[`k${d}`],
        cin * 4,
        NR * 4,
        cin / NR,
        dx,
        cin * 4,
        at.zeros,
        0,
      );
      if (d > 0) k.reluMask(dx, at[`Y${3 + d}`], L.m * cin);
    }
    // Dense layer backward.
    this.#columnSums(f("dh"), S, FLAT, grads[WEIGHT_INDEX.dense + 1]);
    this.#gradient(at.z, zp * 4, zp / MR, at.dh, FLAT * 4, FLAT / NR, at.dWd, FLAT * 4, S);
    grads[WEIGHT_INDEX.dense].set(F.subarray(f("dWd"), f("dWd") + z * FLAT));
    this.#product(
      at.dh,
      FLAT * 4,
      Sp,
      FLAT,
      at.wdtp,
      NR * 4,
      FLAT * NR * 4,
      zp / NR,
      at.dz,
      zp * 4,
      at.zeros,
      0,
    );
    // Reparameterisation and KL (free bits): the gradients of mu and logvar.
    const dHead = f("dHead"), dz = f("dz"), floor = this.klTolerance * z;
    F.fill(0, dHead, dHead + Sp * hc);
    let kl = 0;
    for (let b = 0; b < S; b++) {
      let sum = 0;
      for (let d = 0; d < z; d++) {
        const mu = F[head + b * hc + d], lv = F[head + b * hc + zp + d];
        sum += 1 + lv - mu * mu - Math.exp(lv);
      }
      const klb = -0.5 * sum;
      const active = klb >= floor;
      kl += active ? klb : floor;
      for (let d = 0; d < z; d++) {
        const mu = F[head + b * hc + d], lv = F[head + b * hc + zp + d];
        const g = F[dz + b * zp + d], e = eps[b * z + d];
        F[dHead + b * hc + d] = g + (active ? scale * mu : 0);
        F[dHead + b * hc + zp + d] = g * e * 0.5 * Math.exp(0.5 * lv) +
          (active ? scale * 0.5 * (Math.exp(lv) - 1) : 0);
      }
    }
    // Heads backward.
    const dbh = new Float32Array(hc);
    this.#columnSums(dHead, S, hc, dbh);
    grads[WEIGHT_INDEX.mu + 1].set(dbh.subarray(0, z));
    grads[WEIGHT_INDEX.logvar + 1].set(dbh.subarray(zp, zp + z));
    this.#gradient(at.Y3, FLAT * 4, FLAT / MR, at.dHead, hc * 4, hc / NR, at.dWh, hc * 4, S);
    const dWh = f("dWh"), gMu = grads[WEIGHT_INDEX.mu], gLv = grads[WEIGHT_INDEX.logvar];
    for (let i = 0; i < FLAT; i++) {
      gMu.set(F.subarray(dWh + i * hc, dWh + i * hc + z), i * z);
      gLv.set(F.subarray(dWh + i * hc + zp, dWh + i * hc + zp + z), i * z);
    }
    this.#product(
      at.dHead,
      hc * 4,
      Sp,
      hc,
      at.whtp,
      NR * 4,
      hc * NR * 4,
      FLAT / NR,
      at.dY3,
      FLAT * 4,
      at.zeros,
      0,
    );
    // Convolutions backward.
    for (let l = enc.length - 1; l >= 0; l--) {
      const L = enc[l], { inSize, cin, outSize, cout } = L.g;
      const dyAt = f(`dY${l}`);
      k.reluMask(at[`dY${l}`], at[`Y${l}`], L.m * cout);
      this.#columnSums(dyAt, L.m, cout, grads[WEIGHT_INDEX.conv(l) + 1]);
      this.#gradient(
        at[`P${l}`],
        L.depth * 4,
        L.depth / MR,
        at[`dY${l}`],
        cout * 4,
        cout / NR,
        at[`dW${l}`],
        cout * 4,
        L.m,
      );
      grads[WEIGHT_INDEX.conv(l)].set(F.subarray(f(`dW${l}`), f(`dW${l}`) + L.depth * cout));
      if (l === 0) break;
      this.#product(
        at[`dY${l}`],
        cout * 4,
        L.mp,
        cout,
        at[`wtp${l}`],
        NR * 4,
        cout * NR * 4,
        L.depth / NR,
        at[`P${l}`],
        L.depth * 4,
        at.zeros,
        0,
      );
      const dx = f(`dY${l - 1}`);
      F.fill(0, dx, dx + S * inSize * inSize * cin);
      const rowBytes = inSize * cin * 4;
      k.scatter(
        at[`dY${l - 1}`],
        rowBytes,
        rowBytes * inSize,
        outSize,
        outSize * outSize,
        0,
        L.m,
        L.g.k * cin * 4,
        2 * cin * 4,
        L.g.k,
        at[`P${l}`],
        L.depth * 4,
      );
    }
    return { grads, reconstruction, kl };
  }
}
