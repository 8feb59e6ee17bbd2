/**
 * Packing kernels: copies of row-major or strided matrices into the MR-row and NR-column panels
 * that {@linkcode gemmFunc} reads (every transpose the engines need is one of these), and the
 * in-register 4x4 transpose they and the encoder's im2col share.
 *
 * @module
 */
import { FuncBuilder, I32, V128 } from "./asm.ts";

/**
 * Emits `pack(src, sRow, sK, rows, K, dst, w)`: dst[(ib*K + k)*w + r] = src[(ib*w+r)*sRow +
 * k*sK] (byte strides), rows past `rows` zero-filled up to a multiple of w.
 */
export function packFunc(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32, I32]);
  const [src, sRow, sK, rows, K, dst, w] = [0, 1, 2, 3, 4, 5, 6];
  const ib = f.local(I32), k = f.local(I32), r = f.local(I32), row = f.local(I32);
  const sp = f.local(I32), dp = f.local(I32), nb = f.local(I32), rowBase = f.local(I32);
  // nb = ceil(rows / w)
  f.get(rows).get(w).add().i32(1).sub().get(w).divU().set(nb);
  f.get(dst).set(dp);
  f.i32(0).set(ib);
  f.block().loop();
  {
    f.get(ib).get(w).mul().set(rowBase);
    f.i32(0).set(k);
    f.block().loop();
    {
      f.i32(0).set(r);
      f.block().loop();
      {
        f.get(rowBase).get(r).add().tee(row).get(rows).ltS().if();
        f.get(dp).get(src).get(row).get(sRow).mul().add().get(k).get(sK).mul().add().tee(sp)
          .f32Load().f32Store();
        f.else();
        f.get(dp).f32(0).f32Store();
        f.end();
        f.get(dp).i32(4).add().set(dp);
        f.get(r).i32(1).add().tee(r).get(w).ltS().brIf(0);
      }
      f.end().end();
      f.get(k).i32(1).add().tee(k).get(K).ltS().brIf(0);
    }
    f.end().end();
    f.get(ib).i32(1).add().tee(ib).get(nb).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/**
 * Emits `packLanes(src, sK, K, nPanels, dst)` for panels whose `w` lanes are contiguous in the
 * source (w = 4 or 8): dst[(ib*K + k)*w + r] = src[ib*w*4 + k*sK + 4r] (bytes), with SIMD copies.
 */
export function packLanesFunc(w: number): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32]);
  const [src, sK, K, nP, dst] = [0, 1, 2, 3, 4];
  const ib = f.local(I32), k = f.local(I32), sp = f.local(I32), dp = f.local(I32);
  f.get(dst).set(dp);
  f.i32(0).set(ib);
  f.block().loop();
  {
    f.get(src).get(ib).i32(w * 4).mul().add().set(sp);
    f.get(K).set(k);
    f.block().loop();
    {
      for (let v = 0; v < w / 4; v++) f.get(dp).get(sp).vload(16 * v).vstore(16 * v);
      f.get(dp).i32(w * 4).add().set(dp);
      f.get(sp).get(sK).add().set(sp);
      f.get(k).i32(1).sub().tee(k).brIf(0);
    }
    f.end().end();
    f.get(ib).i32(1).add().tee(ib).get(nP).ltS().brIf(0);
  }
  f.end().end();
  return f;
}

/**
 * Emits the 4x4 transpose of the rows in locals `r` (f32x4 each) to 64 bytes at `dp`: column j
 * of the rows becomes the vector at dp + 16j. `t` are four scratch v128 locals.
 */
export function emitTranspose4(f: FuncBuilder, r: number[], t: number[], dp: number): void {
  f.get(r[0]).get(r[1]).shuffle32([0, 4, 1, 5]).set(t[0]);
  f.get(r[0]).get(r[1]).shuffle32([2, 6, 3, 7]).set(t[1]);
  f.get(r[2]).get(r[3]).shuffle32([0, 4, 1, 5]).set(t[2]);
  f.get(r[2]).get(r[3]).shuffle32([2, 6, 3, 7]).set(t[3]);
  f.get(dp).get(t[0]).get(t[2]).shuffle32([0, 1, 4, 5]).vstore(0);
  f.get(dp).get(t[0]).get(t[2]).shuffle32([2, 3, 6, 7]).vstore(16);
  f.get(dp).get(t[1]).get(t[3]).shuffle32([0, 1, 4, 5]).vstore(32);
  f.get(dp).get(t[1]).get(t[3]).shuffle32([2, 3, 6, 7]).vstore(48);
}

/**
 * Emits `packT4(src, ld, K, nPanels, dst)`: MR=4-row panels of a row-major matrix (row stride
 * `ld` bytes), K a multiple of 4: dst[(ib*K + k)*4 + r] = src[(ib*4 + r)*ld + 4k], by 4x4
 * SIMD transposes.
 */
export function packT4Func(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32]);
  const [src, ld, K, nP, dst] = [0, 1, 2, 3, 4];
  const ib = f.local(I32), k = f.local(I32), sp = f.local(I32), dp = f.local(I32);
  const r = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const t = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(dst).set(dp);
  f.i32(0).set(ib);
  f.block().loop();
  {
    f.get(src).get(ib).get(ld).mul().i32(4).mul().add().set(sp);
    f.i32(0).set(k);
    f.block().loop();
    {
      for (let i = 0; i < 4; i++) f.get(sp).get(ld).i32(i).mul().add().vload(0).set(r[i]);
      emitTranspose4(f, r, t, dp);
      f.get(dp).i32(64).add().set(dp);
      f.get(sp).i32(16).add().set(sp);
      f.get(k).i32(4).add().tee(k).get(K).ltS().brIf(0);
    }
    f.end().end();
    f.get(ib).i32(1).add().tee(ib).get(nP).ltS().brIf(0);
  }
  f.end().end();
  return f;
}
