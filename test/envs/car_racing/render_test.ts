import assert from "node:assert/strict";
import { CarRacing } from "../../../src/envs/car_racing/mod.ts";
import {
  HULL_POLYS,
  PLAYFIELD,
  SIZE,
  WINDOW_H,
  WINDOW_W,
} from "../../../src/envs/car_racing/constants.ts";
import { buildQuads } from "../../../src/envs/car_racing/track.ts";
import { formatScore } from "../../../src/envs/car_racing/render.ts";

type Pt = [number, number];
type Poly = { pts: Pt[]; kind: string };

const RGB: Record<string, [number, number, number][]> = {
  black: [[0, 0, 0]],
  field: [[102, 204, 102]],
  grass: [[102, 229, 102]],
  road: [[102, 102, 102], [105, 105, 105], [107, 107, 107]],
  kerbWhite: [[255, 255, 255]],
  kerbRed: [[255, 0, 0]],
  hull: [[204, 0, 0]],
  wheel: [[0, 0, 0]],
  stripe: [[77, 77, 77]],
};

/** Strictly inside a convex polygon (either winding), at least `eps` from every edge. */
function inside(p: Pt, poly: Pt[], eps: number): "in" | "out" | "edge" {
  let sign = 0;
  let near = false;
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i];
    const b = poly[(i + 1) % poly.length];
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len === 0) continue;
    const cross = ((b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])) / len;
    if (Math.abs(cross) < eps) {
      near = true;
      continue;
    }
    const s = Math.sign(cross);
    if (sign === 0) sign = s;
    else if (s !== sign) return "out";
  }
  return near ? "edge" : "in";
}

function transform(x: number, y: number, s: number, c: number, pts: Pt[]): Pt[] {
  return pts.map(([lx, ly]) => [x + c * lx - s * ly, y + s * lx + c * ly]);
}

/** Every polygon of the scene in gym's painter's order, in world coordinates. */
function scene(env: CarRacing): Poly[] {
  const polys: Poly[] = [];
  const F = PLAYFIELD;
  polys.push({ pts: [[-F, -F], [F, -F], [F, F], [-F, F]], kind: "field" });
  const k = F / 20;
  for (let x = -20; x < 20; x += 2) {
    for (let y = -20; y < 20; y += 2) {
      polys.push({
        pts: [[k * x, k * y], [k * x + k, k * y], [k * x + k, k * y + k], [k * x, k * y + k]],
        kind: "grass",
      });
    }
  }
  const { tiles, border, kerbs } = buildQuads(env.track);
  const quad = (a: Float64Array, i: number): Pt[] =>
    [0, 1, 2, 3].map((v) => [a[i * 8 + 2 * v], a[i * 8 + 2 * v + 1]]);
  for (let i = 0; i < env.track.length; i++) {
    polys.push({ pts: quad(tiles, i), kind: "road" });
    if (border[i]) polys.push({ pts: quad(kerbs, i), kind: i % 2 === 0 ? "kerbWhite" : "kerbRed" });
  }
  const st = env.state();
  const hw = 14 * SIZE;
  const hr = 27 * SIZE;
  for (const w of st.wheels) {
    const s = Math.sin(w.angle);
    const c = Math.cos(w.angle);
    polys.push({
      pts: transform(w.x, w.y, s, c, [[-hw, hr], [hw, hr], [hw, -hr], [-hw, -hr]]),
      kind: "wheel",
    });
    const a1 = w.phase;
    const a2 = w.phase + 1.2;
    let c1 = Math.cos(a1);
    let c2 = Math.cos(a2);
    if (Math.sin(a1) > 0 && Math.sin(a2) > 0) continue;
    if (Math.sin(a1) > 0) c1 = Math.sign(c1);
    if (Math.sin(a2) > 0) c2 = Math.sign(c2);
    polys.push({
      pts: transform(w.x, w.y, s, c, [[-hw, hr * c1], [hw, hr * c1], [hw, hr * c2], [
        -hw,
        hr * c2,
      ]]),
      kind: "stripe",
    });
  }
  const hs = Math.sin(st.hull.angle);
  const hc = Math.cos(st.hull.angle);
  for (const poly of HULL_POLYS) {
    const pts = poly.map(([x, y]) => [x * SIZE, y * SIZE] as Pt);
    polys.push({ pts: transform(st.hull.x, st.hull.y, hs, hc, pts), kind: "hull" });
  }
  return polys;
}

/** World point under the centre of output pixel (col, row), by inverting v0's camera. */
function pixelToWorld(env: CarRacing, col: number, row: number, w: number, h: number): Pt {
  const st = env.state();
  const t = st.time;
  const zoom = 0.1 * 6 * Math.max(1 - t, 0) + 2.7 * 6 * Math.min(t, 1);
  let angle = -st.hull.angle;
  if (Math.hypot(st.hull.vx, st.hull.vy) > 0.5) angle = Math.atan2(st.hull.vx, st.hull.vy);
  const wx = ((col + 0.5) * WINDOW_W) / w - WINDOW_W / 2;
  const wy = ((h - (row + 0.5)) * WINDOW_H) / h - WINDOW_H / 4;
  // Inverse rotation by angle, then un-zoom.
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return [st.hull.x + (c * wx + s * wy) / zoom, st.hull.y + (-s * wx + c * wy) / zoom];
}

/** Compares a frame's pixels (above the bar) with point-in-polygon classification. */
function checkFrame(
  env: CarRacing,
  frame: Uint8Array,
  w: number,
  h: number,
  stride = 1,
): Set<string> {
  // Keep only polygons whose bounding box meets the frame's footprint in the world.
  const corners = [[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]].map(([c, r]) =>
    pixelToWorld(env, c, r, w, h)
  );
  const [x0, x1] = [Math.min(...corners.map((p) => p[0])), Math.max(...corners.map((p) => p[0]))];
  const [y0, y1] = [Math.min(...corners.map((p) => p[1])), Math.max(...corners.map((p) => p[1]))];
  const polys = scene(env).filter((poly) =>
    Math.max(...poly.pts.map((p) => p[0])) >= x0 && Math.min(...poly.pts.map((p) => p[0])) <= x1 &&
    Math.max(...poly.pts.map((p) => p[1])) >= y0 && Math.min(...poly.pts.map((p) => p[1])) <= y1
  );
  const seen = new Set<string>();
  let checked = 0;
  let mismatches = 0;
  const barTop = h - (5 * h) / 40;
  let total = 0;
  for (let row = 0; row < h; row += stride) {
    if (row + 0.5 >= barTop) continue;
    for (let col = 0; col < w; col += stride) {
      total++;
      const p = pixelToWorld(env, col, row, w, h);
      let kind = "black";
      let ambiguous = false;
      for (const poly of polys) {
        const r = inside(p, poly.pts, 1e-6);
        if (r === "edge") ambiguous = true;
        if (r === "in") {
          kind = poly.kind;
          ambiguous = false;
        }
      }
      if (ambiguous) continue;
      checked++;
      const o = (row * w + col) * 3;
      const got = [frame[o], frame[o + 1], frame[o + 2]];
      if (RGB[kind].some((c) => c[0] === got[0] && c[1] === got[1] && c[2] === got[2])) {
        seen.add(kind);
      } else {
        mismatches++;
      }
    }
  }
  assert.ok(checked > 0.95 * total);
  assert.equal(mismatches, 0, `${mismatches} of ${checked} pixels differ from the geometry`);
  return seen;
}

Deno.test("pixels96 frames colour every pixel centre like gym's GL polygons", async () => {
  const env = await CarRacing.create({ observation: "pixels96", maxSteps: 2000 });
  try {
    // Zoomed out at reset: whole field, black beyond it.
    const first = env.reset({ seed: 2 }).observation;
    const seen0 = checkFrame(env, first, 96, 96);
    assert.ok(seen0.has("black") && seen0.has("field") && seen0.has("road"));
    assert.deepEqual([...first.subarray(0, 3)], [0, 0, 0]);
    // Full zoom after one second, moving (velocity camera), with a kerb in view.
    let frame = first;
    let kerbSeen = false;
    for (let i = 0; i < 400 && !kerbSeen; i++) {
      frame = env.step([0, i < 60 ? 0.2 : 0.05, 0]).observation;
      if (i > 55 && i % 5 === 0) {
        const seen = checkFrame(env, frame, 96, 96);
        assert.ok(seen.has("road") && seen.has("hull"));
        kerbSeen = seen.has("kerbWhite") && seen.has("kerbRed");
        // The hull centre sits at column 48, row 72.
        const o = (72 * 96 + 48) * 3;
        assert.deepEqual([...frame.subarray(o, o + 3)], [204, 0, 0]);
      }
    }
    assert.ok(kerbSeen, "a kerb came into view");
  } finally {
    env.close();
  }
});

Deno.test("render() draws the same scene at 600x400 with gym's squeeze", async () => {
  const env = await CarRacing.create({ maxSteps: 2000 });
  try {
    env.reset({ seed: 4 });
    for (let i = 0; i < 70; i++) env.step([0.1, 0.3, 0]);
    const frame = env.render({ width: 600, height: 400 });
    assert.equal(frame.length, 600 * 400 * 3);
    const seen = checkFrame(env, frame, 600, 400, 2);
    for (const kind of ["road", "hull", "wheel", "field"]) assert.ok(seen.has(kind), kind);
    assert.throws(() => env.render({ width: 0 }), RangeError);
  } finally {
    env.close();
  }
});

Deno.test("the indicator bar shows speed, wheel spin and steering at gym's positions", async () => {
  const env = await CarRacing.create({ observation: "pixels96" });
  try {
    env.reset({ seed: 3 });
    let obs: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 50; i++) obs = env.step([0, 1, 0]).observation;
    const px = (
      row: number,
      col: number,
    ) => [...obs.subarray((row * 96 + col) * 3, (row * 96 + col) * 3 + 3)];
    const st = env.state();
    const v = Math.hypot(st.hull.vx, st.hull.vy);
    // Speed bar: x in [12, 14.4), y from 2.4 to 2.4 + 2.4 * 0.02 * v pixels above the bottom.
    const top = 2.4 + 2.4 * 0.02 * v;
    for (let j = 0; j < 12; j++) {
      const row = 95 - j;
      const want = j + 0.5 >= 2.4 && j + 0.5 < top ? [255, 255, 255] : [0, 0, 0];
      assert.deepEqual(px(row, 12), want, `speed bar row ${row}`);
      assert.deepEqual(px(row, 13), want);
      assert.deepEqual(px(row, 14), [0, 0, 0]);
    }
    // Rear wheel spin (place 9, colour (0.2, 0, 1)) is above the front's (place 7, blue).
    assert.deepEqual(px(92, 17), [0, 0, 255]);
    assert.deepEqual(px(92, 22), [51, 0, 255]);
    // Steering right for a while: joint at -0.4, green bar from x = 48 to 57.6.
    for (let i = 0; i < 20; i++) obs = env.step([1, 0, 1]).observation;
    assert.deepEqual(px(88, 48), [0, 255, 0]);
    assert.deepEqual(px(88, 57), [0, 255, 0]);
    assert.deepEqual(px(88, 58), [0, 0, 0]);
    assert.deepEqual(px(88, 47), [0, 0, 0]);
  } finally {
    env.close();
  }
});

Deno.test("pixels64 is the area average of the top 84 rows of pixels96", async () => {
  const a = await CarRacing.create({ observation: "pixels96" });
  const b = await CarRacing.create({ observation: "pixels64" });
  try {
    let fa = a.reset({ seed: 8 }).observation;
    let fb = b.reset({ seed: 8 }).observation;
    for (let step = 0; step < 80; step++) {
      if (step % 20 === 0) {
        assert.equal(fb.length, 64 * 64 * 3);
        for (let y = 0; y < 64; y++) {
          for (let x = 0; x < 64; x++) {
            for (let ch = 0; ch < 3; ch++) {
              // Exact box filter: output covers [1.5x, 1.5x+1.5) x [1.3125y, 1.3125y+1.3125).
              let sum = 0;
              for (
                let r = Math.floor(1.3125 * y);
                r < Math.min(84, Math.ceil(1.3125 * (y + 1)));
                r++
              ) {
                const wy = Math.min(1.3125 * (y + 1), r + 1) - Math.max(1.3125 * y, r);
                for (let c = Math.floor(1.5 * x); c < Math.ceil(1.5 * (x + 1)); c++) {
                  const wx = Math.min(1.5 * (x + 1), c + 1) - Math.max(1.5 * x, c);
                  sum += wx * wy * fa[(r * 96 + c) * 3 + ch];
                }
              }
              const want = Math.round(sum / (1.5 * 1.3125));
              assert.equal(fb[(y * 64 + x) * 3 + ch], want, `pixel ${y},${x},${ch}`);
            }
          }
        }
      }
      fa = a.step([0.3, 0.5, 0]).observation;
      fb = b.step([0.3, 0.5, 0]).observation;
    }
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("render() draws skid marks of spinning wheels; observations never do", async () => {
  const env = await CarRacing.create({ observation: "pixels96" });
  try {
    env.reset({ seed: 3 });
    for (let i = 0; i < 45; i++) env.step([0, 1, 0]);
    const dark = (frame: Uint8Array, w: number, rows: [number, number]) => {
      let n = 0;
      for (let i = rows[0] * w; i < rows[1] * w; i++) {
        if (frame[i * 3] === 0 && frame[i * 3 + 1] === 0 && frame[i * 3 + 2] === 0) n++;
      }
      return n;
    };
    // Rows between the rear wheels (the hull is at row 300 of 400) and the bar (row 350).
    const behind: [number, number] = [328, 350];
    // Full throttle spins the rear wheels (slip force > 2x the friction limit): two
    // 5-pixel-wide black trails run from the rear wheels to the bottom of the view.
    const frame = env.render();
    const trail = dark(frame, 600, behind);
    assert.ok(trail >= 2 * 5 * (350 - 328) * 0.9, `black pixels behind the car: ${trail}`);
    assert.ok(trail <= 2 * 6 * (350 - 328), `black pixels behind the car: ${trail}`);
    // The observation shows no trails: only the wheels (a few pixels) are black.
    const obs = env.step([0, 1, 0]).observation;
    assert.ok(dark(obs, 96, [0, 84]) < 12, `black observation pixels ${dark(obs, 96, [0, 84])}`);
  } finally {
    env.close();
  }
});

Deno.test("formatScore() prints like Python's %04i and render() shows it in the bar", async () => {
  assert.equal(formatScore(0), "0000");
  assert.equal(formatScore(7.9), "0007");
  assert.equal(formatScore(871.2), "0871");
  assert.equal(formatScore(-12.7), "-012");
  assert.equal(formatScore(-0.3), "0000");
  const env = await CarRacing.create({ observation: "pixels96" });
  try {
    const obs = env.reset({ seed: 3 }).observation;
    const frame = env.render({ width: 600, height: 400 });
    // Label area: window x 20.., centred 2.5h above the bottom (rows ~364-386 of 400).
    let white = 0;
    for (let row = 360; row < 392; row++) {
      for (let col = 0; col < 70; col++) {
        const o = (row * 600 + col) * 3;
        if (frame[o] === 255 && frame[o + 1] === 255 && frame[o + 2] === 255) white++;
      }
    }
    assert.ok(white > 100, `${white} white label pixels`);
    // The state image keeps the bar's left part black (no label).
    for (let row = 84; row < 96; row++) {
      for (let col = 0; col < 10; col++) {
        const o = (row * 96 + col) * 3;
        assert.deepEqual([...obs.subarray(o, o + 3)], [0, 0, 0]);
      }
    }
  } finally {
    env.close();
  }
});
