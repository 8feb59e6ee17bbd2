import { Random } from "../../src/random/mod.ts";
import { assert, assertEquals, assertThrows } from "../es/assert.ts";

Deno.test("Random.splitMix() gives the same sequence for the same seed and another for another seed", () => {
  const a = Random.splitMix(123), b = Random.splitMix(123), c = Random.splitMix(124);
  const xs = Array.from({ length: 100 }, () => a.nextUint32());
  assertEquals(Array.from({ length: 100 }, () => b.nextUint32()), xs);
  assert(c.nextUint32() !== xs[0]);
  // Seeds beyond 32 bits and negative seeds are distinct seeds too.
  assert(Random.splitMix(2 ** 40).nextUint32() !== Random.splitMix(0).nextUint32());
  assert(Random.splitMix(-1).nextUint32() !== Random.splitMix(1).nextUint32());
});

Deno.test("Random.splitMix() normal() has mean 0 and variance 1", () => {
  const rng = Random.splitMix(7);
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

Deno.test("Random.splitMix() nextFloat() is uniform on [0, 1)", () => {
  const rng = Random.splitMix(1);
  const bins = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const u = rng.nextFloat();
    assert(u >= 0 && u < 1);
    bins[Math.floor(u * 10)]++;
  }
  for (const b of bins) assert(Math.abs(b - 10_000) < 500, `bin count ${b}`);
});

Deno.test("Random restored from its state continues the same sequence, cached deviate included", () => {
  const rng = Random.splitMix(99);
  rng.normal(); // leaves the pair's second deviate cached
  const restored = Random.fromState(JSON.parse(JSON.stringify(rng.toState())));
  assertEquals(
    Array.from({ length: 11 }, () => restored.normal()),
    Array.from({ length: 11 }, () => rng.normal()),
  );
  assertThrows(() => Random.fromState({ s: [1, 2, 3], spare: null } as never), TypeError);
  assertThrows(() => Random.splitMix(0.5), TypeError, "seed");
});

Deno.test("Random.fromSource() draws the seed from nextUint32 or else nextFloat", () => {
  let i = 0;
  const a = Random.fromSource({ nextUint32: () => 1000 + i++, nextFloat: () => 0.5 });
  const b = Random.fromSource({ nextUint32: () => 1000 + (i++ - 2), nextFloat: () => 0.5 });
  assertEquals(a.nextUint32(), b.nextUint32());
  const c = Random.fromSource({ nextFloat: () => 0.25 });
  assertEquals(c.nextUint32(), Random.fromSource({ nextFloat: () => 0.25 }).nextUint32());
});

Deno.test("Random.keyedSplitMix() gives the same stream for the same seed and rejects bad seeds", () => {
  const a = Random.keyedSplitMix(123);
  const b = Random.keyedSplitMix(123);
  const c = Random.keyedSplitMix(124);
  const xa = Array.from({ length: 5 }, () => a.nextFloat());
  assertEquals(xa, Array.from({ length: 5 }, () => b.nextFloat()));
  assert(xa[0] !== c.nextFloat());
  for (const x of xa) assert(x >= 0 && x < 1);
  assertThrows(() => Random.keyedSplitMix(-1), RangeError, "seed -1");
  assertThrows(() => Random.keyedSplitMix(1.5), RangeError, "seed 1.5");
});
