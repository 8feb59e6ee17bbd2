import assert from "node:assert/strict";
import { ARENA_ALIGN, layoutArena } from "../../../src/models/simd/mod.ts";

Deno.test("layoutArena places buffers in order on cache lines, grows and clears the memory", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  new Float32Array(memory.buffer).fill(7);
  const { at, f32, bytes } = layoutArena(memory, { a: 1, b: 17, c: 40000 });
  assert.deepEqual(at, { a: 64, b: 128, c: 256 });
  assert.equal(bytes, 256 + 160000);
  assert.ok(Object.values(at).every((offset) => offset % ARENA_ALIGN === 0));
  assert.equal(memory.buffer.byteLength, 3 * 65536);
  assert.equal(f32.buffer, memory.buffer);
  assert.ok(f32.every((v) => v === 0));
  // A smaller layout keeps the memory and clears it again.
  f32.fill(1);
  const again = layoutArena(memory, { x: 3 });
  assert.equal(memory.buffer.byteLength, 3 * 65536);
  assert.ok(again.f32.every((v) => v === 0));
});
