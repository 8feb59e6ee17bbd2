import assert from "node:assert/strict";
import { PLAYFIELD, TRACK_DETAIL_STEP } from "../../../src/envs/car_racing/constants.ts";
import { Random } from "../../../src/random/mod.ts";
import {
  generateTrack,
  kerbFlags,
  type TrackPoint,
  tryCenterLine,
} from "../../../src/envs/car_racing/track.ts";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.round(p * (sorted.length - 1))];
}

Deno.test("tryCenterLine() matches the spec's calibration over 500 seeds", () => {
  const tiles: number[] = [];
  let attempts = 0;
  let maxRadius = 0;
  for (let seed = 0; seed < 500; seed++) {
    const rng = Random.keyedSplitMix(seed);
    while (true) {
      attempts++;
      const r = tryCenterLine(rng);
      if (typeof r === "string") continue;
      tiles.push(r.length);
      for (const p of r) maxRadius = Math.max(maxRadius, Math.hypot(p.x, p.y));
      break;
    }
  }
  tiles.sort((a, b) => a - b);
  const mean = tiles.reduce((a, b) => a + b, 0) / tiles.length;
  const rejected = (attempts - tiles.length) / attempts;
  // Spec §11 (3,000 tracks): mean 292, 5th-95th percentile 256-331, ~8% rejected attempts,
  // max radius ~246. Bounds are ~4 standard errors wide for 500 tracks.
  assert(mean > 287 && mean < 298, `mean tiles ${mean}`);
  assert(
    percentile(tiles, 0.05) >= 248 && percentile(tiles, 0.05) <= 265,
    `p5 ${percentile(tiles, 0.05)}`,
  );
  assert(
    percentile(tiles, 0.95) >= 321 && percentile(tiles, 0.95) <= 341,
    `p95 ${percentile(tiles, 0.95)}`,
  );
  assert(rejected > 0.03 && rejected < 0.12, `rejected ${rejected}`);
  assert(maxRadius < 260 && maxRadius > 220, `max radius ${maxRadius}`);
});

Deno.test("tryCenterLine() returns a closed loop glued within one detail step", () => {
  const rng = Random.keyedSplitMix(42);
  const track = generateTrack(rng);
  const pts = track.points;
  const first = pts[0];
  const last = pts[pts.length - 1];
  const g = Math.hypot(
    Math.cos(first.beta) * (first.x - last.x),
    Math.sin(first.beta) * (first.y - last.y),
  );
  assert(g <= TRACK_DETAIL_STEP);
  // Consecutive points are one detail step apart and headings change by at most 0.31.
  for (let i = 1; i < pts.length; i++) {
    const d = Math.hypot(pts[i].x - pts[i - 1].x, pts[i].y - pts[i - 1].y);
    assert(Math.abs(d - TRACK_DETAIL_STEP) < 1e-9, `step ${i}: ${d}`);
    let db = pts[i].beta - pts[i - 1].beta;
    db -= 2 * Math.PI * Math.round(db / (2 * Math.PI)); // beta is renormalised near alpha
    assert(Math.abs(db) <= 0.31 + 1e-12, `turn ${i}: ${db}`);
  }
  for (const p of pts) assert(Math.abs(p.x) < PLAYFIELD && Math.abs(p.y) < PLAYFIELD);
});

Deno.test("generateTrack() builds tiles whose corners meet their neighbours exactly", () => {
  const track = generateTrack(Random.keyedSplitMix(7));
  const n = track.points.length;
  assert.equal(track.tiles.length, n * 8);
  for (let i = 0; i < n; i++) {
    const j = (i + n - 1) % n;
    // Tile i's (R2, L2) are tile j's (R1, L1): the same numbers, so no raster seams.
    assert.equal(track.tiles[i * 8 + 4], track.tiles[j * 8 + 2]);
    assert.equal(track.tiles[i * 8 + 5], track.tiles[j * 8 + 3]);
    assert.equal(track.tiles[i * 8 + 6], track.tiles[j * 8 + 0]);
    assert.equal(track.tiles[i * 8 + 7], track.tiles[j * 8 + 1]);
    // Road width 2 * 40/6.
    const w = Math.hypot(
      track.tiles[i * 8 + 2] - track.tiles[i * 8],
      track.tiles[i * 8 + 3] - track.tiles[i * 8 + 1],
    );
    assert(Math.abs(w - 80 / 6) < 1e-9);
  }
});

Deno.test("kerbFlags() marks sharp same-direction bends and propagates them backwards", () => {
  // 20 straight points, then 6 points turning right by 0.1 each, then straight again.
  const pts: TrackPoint[] = [];
  let beta = 0;
  for (let i = 0; i < 40; i++) {
    if (i >= 20 && i < 26) beta -= 0.1;
    pts.push({ alpha: 0, beta, x: 0, y: 0 });
  }
  const flags = kerbFlags(pts);
  // Bends at points 20..25; 4 consecutive sharp deltas end at points 23, 24, 25, and each
  // flag propagates to the 3 points before it: 20..25 flagged.
  const flagged = [...flags].flatMap((f, i) => f ? [i] : []);
  assert.deepEqual(flagged, [20, 21, 22, 23, 24, 25]);
  // Alternating directions never make a kerb.
  const zigzag = pts.map((p, i) => ({ ...p, beta: i % 2 === 0 ? 0 : 0.1 }));
  assert.equal([...kerbFlags(zigzag)].every((f) => f === 0), true);
});

Deno.test("buildQuads() puts kerbs outside the road edge on the side the road turns towards", () => {
  const track = generateTrack(Random.keyedSplitMix(7));
  const n = track.points.length;
  let kerbs = 0;
  for (let i = 0; i < n; i++) {
    if (!track.border[i]) continue;
    kerbs++;
    const p1 = track.points[i];
    const p2 = track.points[(i + n - 1) % n];
    const side = Math.sign(p2.beta - p1.beta);
    const k = track.kerbs.subarray(i * 8, i * 8 + 8);
    const t = track.tiles.subarray(i * 8, i * 8 + 8);
    // Inner edge = the tile's right edge (R1, R2) when side > 0, else its left edge.
    const inner = side > 0 ? [t[2], t[3], t[4], t[5]] : [t[0], t[1], t[6], t[7]];
    assert.deepEqual([k[0], k[1], k[6], k[7]], inner);
    // Outer corners lie BORDER further from the centre line, along r(beta).
    const d1 = Math.hypot(k[2] - p1.x, k[3] - p1.y);
    const d2 = Math.hypot(k[4] - p2.x, k[5] - p2.y);
    assert.ok(Math.abs(d1 - 48 / 6) < 1e-9 && Math.abs(d2 - 48 / 6) < 1e-9);
    const outward = (k[2] - p1.x) * Math.cos(p1.beta) + (k[3] - p1.y) * Math.sin(p1.beta);
    assert.equal(Math.sign(outward), side);
  }
  assert.ok(kerbs > 10, `${kerbs} kerbs`);
});
