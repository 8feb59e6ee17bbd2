import assert from "node:assert/strict";
import { mixSeed, Random } from "../../src/random/mod.ts";

Deno.test("mixSeed() is deterministic and separates its parts", () => {
  assert.equal(mixSeed(1, "a", 2), mixSeed(1, "a", 2));
  const seeds = new Set([
    mixSeed(1, "a", 2),
    mixSeed(1, "a", 3),
    mixSeed(2, "a", 2),
    mixSeed(1, "b", 2),
    mixSeed(1, 2),
    mixSeed(1 + 2 ** 32, "a", 2),
  ]);
  assert.equal(seeds.size, 6);
  for (const s of seeds) assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 32);
  assert.throws(() => mixSeed(-1), { name: "RangeError" });
});

Deno.test("Random draws reproducible uniform and standard normal variates", () => {
  const a = new Random(42);
  const b = new Random(42);
  const n = 20000;
  let sum = 0;
  let sumNormal = 0;
  let sumNormal2 = 0;
  for (let i = 0; i < n; i++) {
    const u = a.nextFloat();
    assert.equal(u, b.nextFloat());
    assert.ok(u >= 0 && u < 1);
    sum += u;
    const z = a.normal();
    assert.equal(z, b.normal());
    sumNormal += z;
    sumNormal2 += z * z;
  }
  // Means within ~5 standard errors.
  assert.ok(Math.abs(sum / n - 0.5) < 5 * Math.sqrt(1 / 12 / n));
  assert.ok(Math.abs(sumNormal / n) < 5 / Math.sqrt(n));
  assert.ok(Math.abs(sumNormal2 / n - 1) < 5 * Math.sqrt(2 / n));
  assert.notEqual(new Random(43).nextFloat(), new Random(42).nextFloat());
  const shuffled = new Random(1).shuffle(Array.from({ length: 10 }, (_, i) => i));
  assert.deepEqual([...shuffled].sort((x, y) => x - y), Array.from({ length: 10 }, (_, i) => i));
});
