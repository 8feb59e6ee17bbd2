import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeFloat16, fromFloat16Bits } from "../../src/data/float16.ts";
import { python } from "./python.ts";

Deno.test("encodeFloat16() and fromFloat16Bits() match numpy bit for bit", async () => {
  // Every half bit pattern, decoded; and float32 values around every rounding boundary, encoded.
  const halves = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const f32 = new Float32Array(65536 * 3 + 64);
  const u32 = new Uint32Array(f32.buffer);
  for (let h = 0; h < 65536; h++) {
    // The float32 that is the exact midpoint above this half value, and its neighbours.
    const exact = fromFloat16Bits(h);
    const next = fromFloat16Bits(h + 1);
    f32[3 * h] = Number.isFinite(exact) && Number.isFinite(next) ? (exact + next) / 2 : exact;
    u32[3 * h + 1] = u32[3 * h] + 1;
    u32[3 * h + 2] = u32[3 * h] - 1;
  }
  f32.set(
    [65504, 65519.99, 65520, 1e10, -1e10, 2 ** -25, 2 ** -26, 2 ** -24 * 1.5, NaN],
    65536 * 3,
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(join(dir, "f32.bin"), new Uint8Array(f32.buffer));
    const out = await python(
      `
import sys, numpy as np
f = np.fromfile(sys.argv[1] + "/f32.bin", dtype="<f4")
f.astype("<f2").view("<u2").tofile(sys.argv[1] + "/f16.bin")
np.arange(65536, dtype="<u2").view("<f2").astype("<f4").tofile(sys.argv[1] + "/dec.bin")
`,
      [dir],
    );
    assert.deepEqual(out, "");
    const numpyBits = new Uint16Array((await Deno.readFile(join(dir, "f16.bin"))).buffer);
    const ours = encodeFloat16(f32);
    let mismatches = 0;
    for (let i = 0; i < f32.length; i++) if (ours[i] !== numpyBits[i]) mismatches++;
    assert.deepEqual(mismatches, 0);
    const numpyDecoded = new Float32Array((await Deno.readFile(join(dir, "dec.bin"))).buffer);
    for (let h = 0; h < 65536; h++) {
      const ours = fromFloat16Bits(halves[h]);
      if (Number.isNaN(numpyDecoded[h])) assert.ok(Number.isNaN(ours), `half ${h}`);
      else assert.ok(Object.is(ours, numpyDecoded[h]), `half ${h}: ${ours} vs ${numpyDecoded[h]}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
