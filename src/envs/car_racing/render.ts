/**
 * Draws CarRacing frames as gym v0 did through pyglet/OpenGL: black clear, the field, the
 * lighter grass squares, road tiles and kerbs in creation order, the car, then the
 * indicator bar, all through v0's camera. The logical window (1200x1000) is squeezed
 * non-uniformly into the output size, exactly like gym's full-window projection on a smaller
 * viewport. Only polygons whose bounding circle meets the visible area are drawn.
 *
 * @module
 */

import {
  HULL_POLYS,
  PLAYFIELD,
  SCALE,
  SIZE,
  WHEEL_R,
  WHEEL_W,
  WINDOW_H,
  WINDOW_W,
  ZOOM,
} from "./constants.ts";
import { glColor, type Raster } from "./raster.ts";

/** Colours of the scene, packed 0xRRGGBB. */
export const COLORS = {
  field: glColor(0.4, 0.8, 0.4),
  grass: glColor(0.4, 0.9, 0.4),
  road: glColor(0.4, 0.4, 0.4),
  kerbWhite: glColor(1, 1, 1),
  kerbRed: glColor(1, 0, 0),
  hull: glColor(0.8, 0, 0),
  wheel: glColor(0, 0, 0),
  wheelStripe: glColor(0.3, 0.3, 0.3),
  mud: glColor(0.4, 0.4, 0),
  speed: glColor(1, 1, 1),
  absFront: glColor(0, 0, 1),
  absRear: glColor(0.2, 0, 1),
  steering: glColor(0, 1, 0),
  gyro: glColor(1, 0, 0),
} as const;

/** Road colour of tile i before any contact: 0.40/0.41/0.42 grey cycle. */
export function tileColor(i: number): number {
  const c = 0.4 + 0.01 * (i % 3);
  return glColor(c, c, c);
}

/** What a frame needs from the environment. */
export interface SceneView {
  /** Seconds since reset (drives the zoom-in of the first second). */
  t: number;
  /** Tile quads (8 numbers each). */
  tiles: Float64Array;
  /** Current tile colours (turn plain grey once touched, as in v0). */
  tileColors: Uint32Array;
  /** Kerb flags. */
  border: Uint8Array;
  /** Kerb quads. */
  kerbs: Float64Array;
  /** Bounding circles of tiles (cx, cy, r each). */
  tileBounds: Float64Array;
  /** Bounding circles of kerbs (cx, cy, r each). */
  kerbBounds: Float64Array;
  /** Hull: x, y, sin, cos, vx, vy, angular velocity, angle. */
  hull: Float64Array;
  /** Wheels: x, y, sin, cos, phase, omega for each of the 4 wheels. */
  wheels: Float64Array;
  /** Front-left joint angle (steering indicator). */
  steerAngle: number;
  /** gym's accumulated reward, shown by the score label in videos. */
  score: number;
  /** Skid marks; drawn only when {@link SceneDrawer.draw} is asked to (videos). */
  particles: readonly { readonly grass: boolean; readonly points: readonly number[] }[];
}

/** gym draws skid marks with `glLineWidth(5)`: 5 output pixels wide at any size. */
const SKID_HALF_WIDTH = 2.5;

/**
 * Bounding circles (centre and radius) of quads, for culling.
 *
 * @param quads 8 numbers per quad.
 * @returns 3 numbers per quad.
 */
export function quadBounds(quads: Float64Array): Float64Array {
  const n = quads.length / 8;
  const out = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    let cx = 0;
    let cy = 0;
    for (let k = 0; k < 4; k++) {
      cx += quads[i * 8 + 2 * k] / 4;
      cy += quads[i * 8 + 2 * k + 1] / 4;
    }
    let r = 0;
    for (let k = 0; k < 4; k++) {
      r = Math.max(r, Math.hypot(quads[i * 8 + 2 * k] - cx, quads[i * 8 + 2 * k + 1] - cy));
    }
    out.set([cx, cy, r], i * 3);
  }
  return out;
}

const HULL_LOCAL = HULL_POLYS.map((poly) => poly.map(([x, y]) => [x * SIZE, y * SIZE]));
const WHEEL_HW = WHEEL_W * SIZE;
const WHEEL_HR = WHEEL_R * SIZE;

/** Reusable scratch for the scene drawer. */
export class SceneDrawer {
  #xs = new Float64Array(8);
  #ys = new Float64Array(8);
  // World -> pixel affine map: X = x0 + axx dx + axy dy, Y = y0 + ayx dx + ayy dy.
  #cx = 0;
  #cy = 0;
  #axx = 0;
  #axy = 0;
  #ayx = 0;
  #ayy = 0;
  #x0 = 0;
  #y0 = 0;
  #reach = 0;
  #w = 0;
  #hVisible = 0;

  /**
   * Draws one frame into `raster`.
   *
   * @param raster Destination; its size sets the viewport.
   * @param scene The scene.
   * @param options `particles`: draw skid marks (gym does in rgb_array/human, not state);
   *   `score`: draw the score label.
   */
  draw(
    raster: Raster,
    scene: SceneView,
    options: { particles?: boolean; score?: boolean } = {},
  ): void {
    const w = raster.width;
    const h = raster.height;
    const sx = w / WINDOW_W;
    const sy = h / WINDOW_H;
    const t = scene.t;
    const zoom = 0.1 * SCALE * Math.max(1 - t, 0) + ZOOM * SCALE * Math.min(t, 1);
    const hull = scene.hull;
    // v0 camera: follow the velocity direction when moving, else the hull angle.
    let angle = -hull[7];
    const vx = hull[4];
    const vy = hull[5];
    if (Math.sqrt(vx * vx + vy * vy) > 0.5) angle = Math.atan2(vx, vy);
    const ca = Math.cos(angle);
    const sa = Math.sin(angle);
    this.#cx = hull[0];
    this.#cy = hull[1];
    this.#axx = sx * zoom * ca;
    this.#axy = -sx * zoom * sa;
    this.#ayx = -sy * zoom * sa;
    this.#ayy = -sy * zoom * ca;
    this.#x0 = sx * (WINDOW_W / 2);
    this.#y0 = h - sy * (WINDOW_H / 4);
    this.#reach = zoom * Math.max(sx, sy);
    this.#w = w;
    // Rows under the indicator bar (bottom 5/40 of the window) are painted over anyway.
    this.#hVisible = h - (5 * h) / 40;

    const xs = this.#xs;
    const ys = this.#ys;
    // World bounding box of the visible area (above the bar), from its corners.
    let minX = Infinity;
    let maxX = -Infinity;
    let minY = Infinity;
    let maxY = -Infinity;
    const det = this.#axx * this.#ayy - this.#axy * this.#ayx;
    for (let corner = 0; corner < 4; corner++) {
      const px = (corner & 1 ? w : 0) - this.#x0;
      const py = (corner & 2 ? this.#hVisible : 0) - this.#y0;
      const wx = this.#cx + (this.#ayy * px - this.#axy * py) / det;
      const wy = this.#cy + (-this.#ayx * px + this.#axx * py) / det;
      minX = Math.min(minX, wx);
      maxX = Math.max(maxX, wx);
      minY = Math.min(minY, wy);
      maxY = Math.max(maxY, wy);
    }
    // Black clear, then the field quad. When the field covers the whole view (every frame
    // after the zoom-in, unless the car is near the edge), one fill does both.
    const F = PLAYFIELD - 1e-6;
    if (minX > -F && maxX < F && minY > -F && maxY < F) {
      raster.clear(COLORS.field);
    } else {
      raster.clear(0);
      this.#fillAxisQuad(raster, -PLAYFIELD, -PLAYFIELD, PLAYFIELD, PLAYFIELD, COLORS.field);
    }
    // The lighter squares: only lattice cells that meet the view's bounding box.
    const k = PLAYFIELD / 20;
    const kr = k * Math.SQRT1_2;
    const gx0 = Math.max(-20, 2 * Math.floor(Math.floor(minX / k) / 2));
    const gx1 = Math.min(18, Math.floor(maxX / k));
    const gy0 = Math.max(-20, 2 * Math.floor(Math.floor(minY / k) / 2));
    const gy1 = Math.min(18, Math.floor(maxY / k));
    for (let gx = gx0; gx <= gx1; gx += 2) {
      for (let gy = gy0; gy <= gy1; gy += 2) {
        if (!this.#visible(k * gx + k / 2, k * gy + k / 2, kr)) continue;
        this.#fillAxisQuad(raster, k * gx, k * gy, k * gx + k, k * gy + k, COLORS.grass);
      }
    }
    // Road tiles, each followed by its kerb.
    const tiles = scene.tiles;
    const n = tiles.length / 8;
    const tb = scene.tileBounds;
    const kb = scene.kerbBounds;
    for (let i = 0; i < n; i++) {
      if (this.#visible(tb[i * 3], tb[i * 3 + 1], tb[i * 3 + 2])) {
        this.#fillWorldQuad(raster, tiles, i * 8, scene.tileColors[i]);
      }
      if (scene.border[i] && this.#visible(kb[i * 3], kb[i * 3 + 1], kb[i * 3 + 2])) {
        this.#fillWorldQuad(
          raster,
          scene.kerbs,
          i * 8,
          i % 2 === 0 ? COLORS.kerbWhite : COLORS.kerbRed,
        );
      }
    }
    if (options.particles) this.#skidMarks(raster, scene);
    // Car: wheels (with stripes), then the hull polygons.
    const wh = scene.wheels;
    for (let i = 0; i < 4; i++) {
      const o = i * 6;
      const px = wh[o];
      const py = wh[o + 1];
      const s = wh[o + 2];
      const c = wh[o + 3];
      this.#localRect(raster, px, py, s, c, -WHEEL_HR, WHEEL_HR, COLORS.wheel);
      const a1 = wh[o + 4];
      const a2 = a1 + 1.2;
      const s1 = Math.sin(a1);
      const s2 = Math.sin(a2);
      let c1 = Math.cos(a1);
      let c2 = Math.cos(a2);
      if (s1 > 0 && s2 > 0) continue;
      if (s1 > 0) c1 = Math.sign(c1);
      if (s2 > 0) c2 = Math.sign(c2);
      this.#localRect(raster, px, py, s, c, WHEEL_HR * c1, WHEEL_HR * c2, COLORS.wheelStripe);
    }
    {
      const px = hull[0];
      const py = hull[1];
      const s = hull[2];
      const c = hull[3];
      for (const poly of HULL_LOCAL) {
        for (let v = 0; v < poly.length; v++) {
          const lx = poly[v][0];
          const ly = poly[v][1];
          this.#project(px + c * lx - s * ly, py + s * lx + c * ly, v);
        }
        raster.fillConvex(xs, ys, poly.length, COLORS.hull);
      }
    }
    this.#indicators(raster, scene);
    // Differs from gym: the score label is drawn only in videos. In gym's 96x96 state it is a
    // blur of a few pixels whose exact glyph pixels are unknown (World Models crops it away).
    if (options.score) this.#score(raster, scene.score);
  }

  /** Polylines as one 5-pixel-wide quad per segment (GL's wide lines, without joins). */
  #skidMarks(raster: Raster, scene: SceneView): void {
    const xs = this.#xs;
    const ys = this.#ys;
    for (const mark of scene.particles) {
      const color = mark.grass ? COLORS.mud : COLORS.wheel;
      const pts = mark.points;
      for (let i = 0; i + 3 < pts.length; i += 2) {
        this.#project(pts[i], pts[i + 1], 0);
        this.#project(pts[i + 2], pts[i + 3], 1);
        const ax = xs[0];
        const ay = ys[0];
        const bx = xs[1];
        const by = ys[1];
        const len = Math.hypot(bx - ax, by - ay);
        if (len === 0) continue;
        const nx = (-(by - ay) / len) * SKID_HALF_WIDTH;
        const ny = ((bx - ax) / len) * SKID_HALF_WIDTH;
        xs[0] = ax + nx;
        ys[0] = ay + ny;
        xs[1] = bx + nx;
        ys[1] = by + ny;
        xs[2] = bx - nx;
        ys[2] = by - ny;
        xs[3] = ax - nx;
        ys[3] = ay - ny;
        raster.fillConvex(xs, ys, 4, color);
      }
    }
  }

  #visible(x: number, y: number, r: number): boolean {
    const dx = x - this.#cx;
    const dy = y - this.#cy;
    const px = this.#x0 + this.#axx * dx + this.#axy * dy;
    const py = this.#y0 + this.#ayx * dx + this.#ayy * dy;
    const rr = r * this.#reach;
    return px + rr >= 0 && px - rr <= this.#w && py + rr >= 0 && py - rr <= this.#hVisible;
  }

  #project(x: number, y: number, v: number): void {
    const dx = x - this.#cx;
    const dy = y - this.#cy;
    this.#xs[v] = this.#x0 + this.#axx * dx + this.#axy * dy;
    this.#ys[v] = this.#y0 + this.#ayx * dx + this.#ayy * dy;
  }

  #fillAxisQuad(raster: Raster, x0: number, y0: number, x1: number, y1: number, color: number) {
    this.#project(x0, y0, 0);
    this.#project(x1, y0, 1);
    this.#project(x1, y1, 2);
    this.#project(x0, y1, 3);
    raster.fillConvex(this.#xs, this.#ys, 4, color);
  }

  #fillWorldQuad(raster: Raster, quads: Float64Array, o: number, color: number): void {
    for (let v = 0; v < 4; v++) this.#project(quads[o + 2 * v], quads[o + 2 * v + 1], v);
    raster.fillConvex(this.#xs, this.#ys, 4, color);
  }

  /** Wheel-local rectangle x in [-WHEEL_HW, WHEEL_HW], y in [ya, yb]. */
  #localRect(
    raster: Raster,
    px: number,
    py: number,
    s: number,
    c: number,
    ya: number,
    yb: number,
    color: number,
  ): void {
    const lx = [-WHEEL_HW, WHEEL_HW, WHEEL_HW, -WHEEL_HW];
    const ly = [yb, yb, ya, ya];
    for (let v = 0; v < 4; v++) {
      this.#project(px + c * lx[v] - s * ly[v], py + s * lx[v] + c * ly[v], v);
    }
    raster.fillConvex(this.#xs, this.#ys, 4, color);
  }

  #indicators(raster: Raster, scene: SceneView): void {
    const w = raster.width;
    const h = raster.height;
    // In window units s = W/40, h = H/40; scaled to the viewport both are size/40.
    const su = w / 40;
    const hu = h / 40;
    // y is measured from the bottom in gym; our rows grow downwards.
    const Y = (y: number) => h - y;
    raster.fillRect(0, Y(0), w, Y(5 * hu), 0);
    const vertical = (place: number, val: number, color: number) => {
      raster.fillRect(place * su, Y(hu), (place + 1) * su, Y(hu + hu * val), color);
    };
    const horizontal = (place: number, val: number, color: number) => {
      raster.fillRect(place * su, Y(2 * hu), (place + val) * su, Y(4 * hu), color);
    };
    const hull = scene.hull;
    const wh = scene.wheels;
    vertical(5, 0.02 * Math.sqrt(hull[4] * hull[4] + hull[5] * hull[5]), COLORS.speed);
    vertical(7, 0.01 * wh[5], COLORS.absFront);
    vertical(8, 0.01 * wh[11], COLORS.absFront);
    vertical(9, 0.01 * wh[17], COLORS.absRear);
    vertical(10, 0.01 * wh[23], COLORS.absRear);
    horizontal(20, -10.0 * scene.steerAngle, COLORS.steering);
    horizontal(30, -0.8 * hull[6], COLORS.gyro);
  }

  /**
   * gym's score label ("%04i" of the accumulated reward, 36 pt, white, left at window x 20,
   * centred 2.5h above the bottom), drawn with a blocky 3x5 font.
   */
  #score(raster: Raster, score: number): void {
    const w = raster.width;
    const h = raster.height;
    const text = formatScore(score);
    // A 36 pt label is 48 window pixels; digits are about 0.7 of that tall, 0.6 wide.
    const cellW = (48 * 0.6 * w) / WINDOW_W;
    const cellH = (48 * 0.7 * h) / WINDOW_H;
    const top = h - (2.5 * h) / 40 - cellH / 2;
    let x = (20 * w) / WINDOW_W;
    for (const ch of text) {
      const glyph = GLYPHS[ch];
      for (let gy = 0; gy < 5; gy++) {
        for (let gx = 0; gx < 3; gx++) {
          if (glyph[gy][gx] !== "#") continue;
          const px = x + (gx * cellW * 0.75) / 3;
          const py = top + (gy * cellH) / 5;
          raster.fillRect(px, py, px + (cellW * 0.75) / 3, py + cellH / 5, COLORS.speed);
        }
      }
      x += cellW;
    }
  }
}

/** Python's "%04i" of a float: truncate toward zero, sign counted in the width. */
export function formatScore(score: number): string {
  const v = Math.trunc(score);
  const digits = String(Math.abs(v));
  return v < 0 ? "-" + digits.padStart(3, "0") : digits.padStart(4, "0");
}

const GLYPHS: Record<string, string[]> = {
  "0": ["###", "#.#", "#.#", "#.#", "###"],
  "1": [".#.", "##.", ".#.", ".#.", "###"],
  "2": ["###", "..#", "###", "#..", "###"],
  "3": ["###", "..#", "###", "..#", "###"],
  "4": ["#.#", "#.#", "###", "..#", "..#"],
  "5": ["###", "#..", "###", "..#", "###"],
  "6": ["###", "#..", "###", "#.#", "###"],
  "7": ["###", "..#", "..#", "..#", "..#"],
  "8": ["###", "#.#", "###", "#.#", "###"],
  "9": ["###", "#.#", "###", "..#", "###"],
  "-": ["...", "...", "###", "...", "..."],
};
