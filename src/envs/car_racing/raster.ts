/**
 * A small software rasteriser for convex polygons: pixel-centre sampling, no anti-aliasing,
 * like OpenGL filling gym's polygons. Pixels are packed 0xRRGGBB in a Uint32Array.
 *
 * Coverage rule: pixel (col, row) is inside when its centre (col + 0.5, row + 0.5) satisfies
 * left <= x < right on its row and top <= y < bottom on the polygon's edges. Edges are
 * interpolated from endpoints sorted by y, so two polygons sharing an edge compute the very
 * same crossing and cover every pixel along it exactly once: adjacent road tiles never leave
 * a seam of grass.
 *
 * @module
 */

/**
 * Packs an RGB colour given as GL floats the way gym's GL pipeline stores it: the float is
 * first rounded to float32 (GL's vertex colour type), then scaled and rounded to a byte.
 * That is why 0.9 becomes 229 (0.9f * 255 = 229.49999) while 0.41 becomes 105.
 *
 * @param r Red in [0, 1].
 * @param g Green in [0, 1].
 * @param b Blue in [0, 1].
 * @returns 0xRRGGBB.
 */
export function glColor(r: number, g: number, b: number): number {
  const q = (v: number) => Math.round(Math.fround(v) * 255);
  return (q(r) << 16) | (q(g) << 8) | q(b);
}

/** A packed-RGB frame buffer with a convex polygon filler. */
export class Raster {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Pixels, row 0 at the top, 0xRRGGBB. */
  readonly pixels: Uint32Array;
  #left: Float64Array;
  #right: Float64Array;

  /**
   * Creates a frame buffer.
   *
   * @param width Width in pixels.
   * @param height Height in pixels.
   */
  constructor(width: number, height: number) {
    this.width = width;
    this.height = height;
    this.pixels = new Uint32Array(width * height);
    this.#left = new Float64Array(height);
    this.#right = new Float64Array(height);
  }

  /** Fills the whole frame with one colour. */
  clear(color: number): void {
    this.pixels.fill(color);
  }

  /**
   * Fills a convex polygon given in pixel coordinates (x right, y down). Vertex order and
   * winding do not matter; degenerate polygons draw nothing.
   *
   * @param xs Vertex x coordinates.
   * @param ys Vertex y coordinates.
   * @param n Number of vertices to use.
   * @param color 0xRRGGBB.
   */
  fillConvex(xs: Float64Array, ys: Float64Array, n: number, color: number): void {
    let ymin = Infinity;
    let ymax = -Infinity;
    for (let i = 0; i < n; i++) {
      const y = ys[i];
      if (y < ymin) ymin = y;
      if (y > ymax) ymax = y;
    }
    const h = this.height;
    const r0 = Math.max(0, Math.ceil(ymin - 0.5));
    const r1 = Math.min(h, Math.ceil(ymax - 0.5)); // exclusive
    if (r0 >= r1) return;
    const left = this.#left;
    const right = this.#right;
    for (let r = r0; r < r1; r++) {
      left[r] = Infinity;
      right[r] = -Infinity;
    }
    for (let i = 0, j = n - 1; i < n; j = i++) {
      let xa = xs[j];
      let ya = ys[j];
      let xb = xs[i];
      let yb = ys[i];
      if (ya === yb) continue;
      if (ya > yb || (ya === yb && xa > xb)) {
        const tx = xa;
        xa = xb;
        xb = tx;
        const ty = ya;
        ya = yb;
        yb = ty;
      }
      const ra = Math.max(r0, Math.ceil(ya - 0.5));
      const rb = Math.min(r1, Math.ceil(yb - 0.5));
      if (ra >= rb) continue;
      const slope = (xb - xa) / (yb - ya);
      for (let r = ra; r < rb; r++) {
        const x = xa + (r + 0.5 - ya) * slope;
        if (x < left[r]) left[r] = x;
        if (x > right[r]) right[r] = x;
      }
    }
    const w = this.width;
    const px = this.pixels;
    for (let r = r0; r < r1; r++) {
      const l = left[r];
      const rt = right[r];
      if (!(l < rt)) continue;
      const c0 = Math.max(0, Math.ceil(l - 0.5));
      const c1 = Math.min(w, Math.ceil(rt - 0.5));
      if (c1 - c0 > 48) {
        px.fill(color, r * w + c0, r * w + c1);
      } else {
        // Short spans (most road tiles at 96x96): a plain loop beats the builtin call.
        for (let i = r * w + c0, end = r * w + c1; i < end; i++) px[i] = color;
      }
    }
  }

  /**
   * Fills the axis-aligned rectangle of pixels whose centres lie in [x0, x1) x [y0, y1)
   * (the corners may come in any order).
   */
  fillRect(x0: number, y0: number, x1: number, y1: number, color: number): void {
    const xa = Math.min(x0, x1);
    const xb = Math.max(x0, x1);
    const ya = Math.min(y0, y1);
    const yb = Math.max(y0, y1);
    const c0 = Math.max(0, Math.ceil(xa - 0.5));
    const c1 = Math.min(this.width, Math.ceil(xb - 0.5));
    const r0 = Math.max(0, Math.ceil(ya - 0.5));
    const r1 = Math.min(this.height, Math.ceil(yb - 0.5));
    if (c0 >= c1) return;
    for (let r = r0; r < r1; r++) {
      this.pixels.fill(color, r * this.width + c0, r * this.width + c1);
    }
  }

  /**
   * Copies the frame into RGB bytes, row 0 at the top.
   *
   * @param out Destination of width * height * 3 bytes.
   * @returns `out`.
   */
  toRgb(out: Uint8Array = new Uint8Array(this.width * this.height * 3)): Uint8Array {
    const px = this.pixels;
    for (let i = 0, o = 0; i < px.length; i++, o += 3) {
      const c = px[i];
      out[o] = c >>> 16;
      out[o + 1] = (c >>> 8) & 255;
      out[o + 2] = c & 255;
    }
    return out;
  }
}

// Horizontal sums of the downsampler: red and green packed as (R << 16) | G, blue alone.
const H_RG = new Int32Array(84 * 64);
const H_B = new Int32Array(84 * 64);

/** round(sum / 63) for every reachable weighted sum (at most 63 * 255). */
const DIV63: Uint8Array = (() => {
  const t = new Uint8Array(63 * 255 + 1);
  for (let s = 0; s < t.length; s++) t[s] = Math.round(s / 63);
  return t;
})();

/** For each output row: first input row and the weights (sixteenths) of three rows. */
const V_WEIGHTS: Int32Array = (() => {
  const out = new Int32Array(64 * 4);
  for (let y = 0; y < 64; y++) {
    const start = 21 * y; // in sixteenths of an input row
    const end = 21 * (y + 1);
    const first = Math.floor(start / 16);
    out[y * 4] = first;
    for (let k = 0; k < 3; k++) {
      const r = first + k;
      out[y * 4 + 1 + k] = Math.max(0, Math.min(end, (r + 1) * 16) - Math.max(start, r * 16));
    }
  }
  return out;
})();

/**
 * Area-averages the top 84 rows of a 96x96 packed frame to 64x64 RGB: the World Models
 * input without the bar. Each output pixel covers 1.5 x 1.3125 input pixels; with weights in
 * halves (columns) and sixteenths (rows) every sum is an integer over 63, so the result is
 * exact integer arithmetic and rounds the same everywhere.
 *
 * @param src 96x96 packed pixels.
 * @param out 64*64*3 bytes.
 * @returns `out`.
 */
export function downsample64(src: Uint32Array, out: Uint8Array): Uint8Array {
  const hrg = H_RG;
  const hb = H_B;
  const div63 = DIV63;
  // Horizontal pass, weights in halves: output x (even) covers [1.5x, 1.5x + 1.5), i.e.
  // input a fully and b half; output x + 1 covers b half and d fully. Red and green travel
  // together in one int (each sum is at most 765, far below the 16-bit field).
  for (let r = 0; r < 84; r++) {
    let i = r * 96;
    let o = r * 64;
    for (let x = 0; x < 32; x++) {
      const a = src[i];
      const b = src[i + 1];
      const d = src[i + 2];
      const aRG = (a & 0xff0000) | ((a >>> 8) & 255);
      const bRG = (b & 0xff0000) | ((b >>> 8) & 255);
      const dRG = (d & 0xff0000) | ((d >>> 8) & 255);
      hrg[o] = 2 * aRG + bRG;
      hb[o] = 2 * (a & 255) + (b & 255);
      hrg[o + 1] = bRG + 2 * dRG;
      hb[o + 1] = (b & 255) + 2 * (d & 255);
      i += 3;
      o += 2;
    }
  }
  // Vertical pass, weights in sixteenths: output row y covers [21y/16, 21(y+1)/16), which
  // touches two or three input rows. Packed fields stay below 63 * 255 < 2^16.
  const vw = V_WEIGHTS;
  for (let y = 0; y < 64; y++) {
    const a = vw[y * 4] * 64;
    const wa = vw[y * 4 + 1];
    const wb = vw[y * 4 + 2];
    const wc = vw[y * 4 + 3];
    const b = a + 64;
    let o = y * 192;
    if (wc === 0) {
      // Two input rows (also the last output row, whose third row would be out of range).
      for (let k = 0; k < 64; k++) {
        const rg = wa * hrg[a + k] + wb * hrg[b + k];
        out[o] = div63[rg >>> 16];
        out[o + 1] = div63[rg & 0xffff];
        out[o + 2] = div63[wa * hb[a + k] + wb * hb[b + k]];
        o += 3;
      }
    } else {
      const c = b + 64;
      for (let k = 0; k < 64; k++) {
        const rg = wa * hrg[a + k] + wb * hrg[b + k] + wc * hrg[c + k];
        out[o] = div63[rg >>> 16];
        out[o + 1] = div63[rg & 0xffff];
        out[o + 2] = div63[wa * hb[a + k] + wb * hb[b + k] + wc * hb[c + k]];
        o += 3;
      }
    }
  }
  return out;
}
