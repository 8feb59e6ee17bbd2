/**
 * Track generation of gym's CarRacing v0 (`_create_track`), without Box2D: random
 * checkpoints, the centre-line walk, loop closing, the glue check, kerbs and tile quads.
 *
 * @module
 */

import {
  BORDER,
  BORDER_MIN_COUNT,
  CHECKPOINTS,
  NO_FREEZE,
  SCALE,
  TRACK_DETAIL_STEP,
  TRACK_RAD,
  TRACK_TURN_RATE,
  TRACK_WIDTH,
} from "./constants.ts";
import type { Random } from "../../random/mod.ts";

/** One centre-line point; one per tile. */
export interface TrackPoint {
  /** Polar angle of the point around the origin (as stored by gym, possibly minus 2 pi). */
  readonly alpha: number;
  /** Heading parameter: the road runs along (-sin beta, cos beta). */
  readonly beta: number;
  /** x coordinate. */
  readonly x: number;
  /** y coordinate. */
  readonly y: number;
}

/** A generated track: centre line, tile quads and kerb quads. */
export interface Track {
  /** Centre line, one point per tile. */
  readonly points: readonly TrackPoint[];
  /** Tile quads, 8 numbers per tile: L1, R1, R2, L2 (x, y each), gym's vertex order. */
  readonly tiles: Float64Array;
  /** Whether tile i has a kerb. */
  readonly border: Uint8Array;
  /** Kerb quads, 8 numbers per tile (only meaningful where `border` is set). */
  readonly kerbs: Float64Array;
  /** Generation attempts this track took (1 when the first attempt succeeded). */
  readonly attempts: number;
}

/** Why an attempt failed, for calibration statistics. */
export type TrackFailure = "loop" | "glue";

/**
 * One generation attempt, consuming random draws exactly as gym does.
 *
 * @param rng The environment's generator.
 * @returns The centre line, or the reason the attempt was rejected.
 */
export function tryCenterLine(rng: Random): TrackPoint[] | TrackFailure {
  const cpAlpha = new Float64Array(CHECKPOINTS);
  const cpX = new Float64Array(CHECKPOINTS);
  const cpY = new Float64Array(CHECKPOINTS);
  let startAlpha = 0;
  for (let c = 0; c < CHECKPOINTS; c++) {
    let alpha = (2 * Math.PI * c) / CHECKPOINTS + rng.uniform(0, (2 * Math.PI) / CHECKPOINTS);
    let rad = rng.uniform(TRACK_RAD / 3, TRACK_RAD);
    if (c === 0) {
      alpha = 0;
      rad = 1.5 * TRACK_RAD;
    }
    if (c === CHECKPOINTS - 1) {
      alpha = (2 * Math.PI * c) / CHECKPOINTS;
      startAlpha = (2 * Math.PI * -0.5) / CHECKPOINTS;
      rad = 1.5 * TRACK_RAD;
    }
    cpAlpha[c] = alpha;
    cpX[c] = rad * Math.cos(alpha);
    cpY[c] = rad * Math.sin(alpha);
  }

  let x = 1.5 * TRACK_RAD;
  let y = 0;
  let beta = 0;
  let destI = 0;
  let laps = 0;
  let noFreeze = NO_FREEZE;
  let visitedOtherSide = false;
  const track: TrackPoint[] = [];
  while (true) {
    let alpha = Math.atan2(y, x);
    if (visitedOtherSide && alpha > 0) {
      laps += 1;
      visitedOtherSide = false;
    }
    if (alpha < 0) {
      visitedOtherSide = true;
      alpha += 2 * Math.PI;
    }
    let destX = 0;
    let destY = 0;
    while (true) {
      let failed = true;
      while (true) {
        const k = destI % CHECKPOINTS;
        destX = cpX[k];
        destY = cpY[k];
        if (alpha <= cpAlpha[k]) {
          failed = false;
          break;
        }
        destI += 1;
        if (destI % CHECKPOINTS === 0) break;
      }
      if (!failed) break;
      alpha -= 2 * Math.PI;
    }
    const r1x = Math.cos(beta);
    const r1y = Math.sin(beta);
    const p1x = -r1y;
    const p1y = r1x;
    let proj = r1x * (destX - x) + r1y * (destY - y);
    while (beta - alpha > 1.5 * Math.PI) beta -= 2 * Math.PI;
    while (beta - alpha < -1.5 * Math.PI) beta += 2 * Math.PI;
    const prevBeta = beta;
    proj *= SCALE;
    if (proj > 0.3) beta -= Math.min(TRACK_TURN_RATE, Math.abs(0.001 * proj));
    if (proj < -0.3) beta += Math.min(TRACK_TURN_RATE, Math.abs(0.001 * proj));
    x += p1x * TRACK_DETAIL_STEP;
    y += p1y * TRACK_DETAIL_STEP;
    track.push({ alpha, beta: prevBeta * 0.5 + beta * 0.5, x, y });
    if (laps > 4) break;
    noFreeze -= 1;
    if (noFreeze === 0) break;
  }

  // Closed loop: the last two passes through the start angle, scanning backwards.
  let i1 = -1;
  let i2 = -1;
  let i = track.length;
  while (true) {
    i -= 1;
    if (i === 0) return "loop";
    const pass = track[i].alpha > startAlpha && track[i - 1].alpha <= startAlpha;
    if (pass && i2 === -1) {
      i2 = i;
    } else if (pass && i1 === -1) {
      i1 = i;
      break;
    }
  }
  const loop = track.slice(i1, i2 - 1);
  if (loop.length < 2) return "loop";

  // gym's per-axis weighted "perpendicular" jump, replicated as is.
  const first = loop[0];
  const last = loop[loop.length - 1];
  const gx = Math.cos(first.beta) * (first.x - last.x);
  const gy = Math.sin(first.beta) * (first.y - last.y);
  if (Math.sqrt(gx * gx + gy * gy) > TRACK_DETAIL_STEP) return "glue";
  return loop;
}

/** Python-style modular index. */
function wrap(i: number, n: number): number {
  return ((i % n) + n) % n;
}

/**
 * Kerb flags of gym: sharp same-direction bends over BORDER_MIN_COUNT points, then the
 * in-place ascending propagation pass (flags wrapped to the end propagate again).
 *
 * @param points The closed centre line.
 * @returns One flag per tile.
 */
export function kerbFlags(points: readonly TrackPoint[]): Uint8Array {
  const n = points.length;
  const border = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let good = true;
    let oneside = 0;
    for (let neg = 0; neg < BORDER_MIN_COUNT; neg++) {
      const d = points[wrap(i - neg, n)].beta - points[wrap(i - neg - 1, n)].beta;
      good = good && Math.abs(d) > TRACK_TURN_RATE * 0.2;
      oneside += Math.sign(d);
    }
    border[i] = good && Math.abs(oneside) === BORDER_MIN_COUNT ? 1 : 0;
  }
  for (let i = 0; i < n; i++) {
    for (let neg = 0; neg < BORDER_MIN_COUNT; neg++) {
      border[wrap(i - neg, n)] |= border[i];
    }
  }
  return border;
}

/**
 * Builds tile and kerb quads for a closed centre line. Tile i joins point i-1 to point i;
 * shared corners are computed once so adjacent quads meet exactly (no raster gaps).
 *
 * @param points The closed centre line.
 * @returns Tile quads, kerb flags and kerb quads.
 */
export function buildQuads(
  points: readonly TrackPoint[],
): { tiles: Float64Array; border: Uint8Array; kerbs: Float64Array } {
  const n = points.length;
  const border = kerbFlags(points);
  // Left and right road edge at every centre-line point.
  const lx = new Float64Array(n);
  const ly = new Float64Array(n);
  const rx = new Float64Array(n);
  const ry = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = points[i];
    const c = Math.cos(p.beta);
    const s = Math.sin(p.beta);
    lx[i] = p.x - TRACK_WIDTH * c;
    ly[i] = p.y - TRACK_WIDTH * s;
    rx[i] = p.x + TRACK_WIDTH * c;
    ry[i] = p.y + TRACK_WIDTH * s;
  }
  const tiles = new Float64Array(n * 8);
  const kerbs = new Float64Array(n * 8);
  for (let i = 0; i < n; i++) {
    const j = wrap(i - 1, n);
    tiles.set([lx[i], ly[i], rx[i], ry[i], rx[j], ry[j], lx[j], ly[j]], i * 8);
    if (!border[i]) continue;
    const p1 = points[i];
    const p2 = points[j];
    const side = Math.sign(p2.beta - p1.beta);
    const c1 = Math.cos(p1.beta);
    const s1 = Math.sin(p1.beta);
    const c2 = Math.cos(p2.beta);
    const s2 = Math.sin(p2.beta);
    // The inner kerb edge reuses the road edge so kerb and tile share it exactly (side 0
    // would give gym's degenerate, invisible kerb on the centre line).
    const in1x = side > 0 ? rx[i] : side < 0 ? lx[i] : p1.x;
    const in1y = side > 0 ? ry[i] : side < 0 ? ly[i] : p1.y;
    const in2x = side > 0 ? rx[j] : side < 0 ? lx[j] : p2.x;
    const in2y = side > 0 ? ry[j] : side < 0 ? ly[j] : p2.y;
    const w = side * (TRACK_WIDTH + BORDER);
    kerbs.set([
      in1x,
      in1y,
      p1.x + w * c1,
      p1.y + w * s1,
      p2.x + w * c2,
      p2.y + w * s2,
      in2x,
      in2y,
    ], i * 8);
  }
  return { tiles, border, kerbs };
}

/**
 * Generates a track, retrying with fresh draws until an attempt succeeds, as gym's reset.
 *
 * @param rng The environment's generator.
 * @returns The track.
 */
export function generateTrack(rng: Random): Track {
  let attempts = 0;
  while (true) {
    attempts++;
    const result = tryCenterLine(rng);
    if (typeof result === "string") continue;
    return { points: result, ...buildQuads(result), attempts };
  }
}
