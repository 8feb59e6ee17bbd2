import { assert, assertEquals, assertThrows } from "./assert.ts";
import { EsRng } from "../../src/es/mod.ts";

Deno.test("EsRng gives the same sequence for the same seed and another for another seed", () => {
  const a = new EsRng(123), b = new EsRng(123), c = new EsRng(124);
  const xs = Array.from({ length: 100 }, () => a.nextUint32());
  assertEquals(Array.from({ length: 100 }, () => b.nextUint32()), xs);
  assert(c.nextUint32() !== xs[0]);
  // Seeds beyond 32 bits and negative seeds are distinct seeds too.
  assert(new EsRng(2 ** 40).nextUint32() !== new EsRng(0).nextUint32());
  assert(new EsRng(-1).nextUint32() !== new EsRng(1).nextUint32());
});

Deno.test("EsRng.normal() has mean 0 and variance 1", () => {
  const rng = new EsRng(7);
  const n = 200_000;
  let sum = 0, sumSq = 0;
  for (let i = 0; i < n; i++) {
    const v = rng.normal();
    sum += v;
    sumSq += v * v;
  }
  const mean = sum / n, variance = sumSq / n - mean * mean;
  assert(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert(Math.abs(variance - 1) < 0.015, `variance ${variance}`);
});

Deno.test("EsRng.nextFloat() is uniform on [0, 1)", () => {
  const rng = new EsRng(1);
  const bins = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const u = rng.nextFloat();
    assert(u >= 0 && u < 1);
    bins[Math.floor(u * 10)]++;
  }
  for (const b of bins) assert(Math.abs(b - 10_000) < 500, `bin count ${b}`);
});

Deno.test("EsRng restored from its state continues the same sequence, cached deviate included", () => {
  const rng = new EsRng(99);
  rng.normal(); // leaves the pair's second deviate cached
  const restored = EsRng.fromState(JSON.parse(JSON.stringify(rng.toState())));
  assertEquals(
    Array.from({ length: 11 }, () => restored.normal()),
    Array.from({ length: 11 }, () => rng.normal()),
  );
  assertThrows(() => EsRng.fromState({ s: [1, 2, 3], spare: null } as never), TypeError);
  assertThrows(() => new EsRng(0.5), TypeError, "seed");
});

Deno.test("EsRng.fromSource() draws the seed from nextUint32 or else nextFloat", () => {
  let i = 0;
  const a = EsRng.fromSource({ nextUint32: () => 1000 + i++, nextFloat: () => 0.5 });
  const b = EsRng.fromSource({ nextUint32: () => 1000 + (i++ - 2), nextFloat: () => 0.5 });
  assertEquals(a.nextUint32(), b.nextUint32());
  const c = EsRng.fromSource({ nextFloat: () => 0.25 });
  assertEquals(c.nextUint32(), EsRng.fromSource({ nextFloat: () => 0.25 }).nextUint32());
});
