import { createRng, stageRng } from "../../src/random/mod.ts";
import { assert, assertEquals } from "../runner/_helpers.ts";

Deno.test("createRng() gives the same sequence for the same seed and a different one otherwise", () => {
  const a = createRng(42), b = createRng(42), c = createRng(43);
  const sa = Array.from({ length: 5 }, () => a.nextUint32());
  assertEquals(sa, Array.from({ length: 5 }, () => b.nextUint32()));
  assert(sa.join() !== Array.from({ length: 5 }, () => c.nextUint32()).join());
});

Deno.test("createRng() floats are uniform in [0, 1) and normals have mean 0 and variance 1", () => {
  const rng = createRng(1);
  let sum = 0, sumSq = 0, min = 1, max = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const u = rng.nextFloat();
    min = Math.min(min, u);
    max = Math.max(max, u);
    const z = rng.normal();
    sum += z;
    sumSq += z * z;
  }
  assert(min >= 0 && max < 1);
  assert(Math.abs(sum / n) < 0.05, `mean ${sum / n}`);
  assert(Math.abs(sumSq / n - 1) < 0.05, `variance ${sumSq / n}`);
});

Deno.test("stageRng() depends on seed and stage name; fork() does not advance the parent", () => {
  assert(stageRng(1, "a").nextUint32() !== stageRng(1, "b").nextUint32());
  assertEquals(stageRng(1, "a").nextUint32(), stageRng(1, "a").nextUint32());
  const r = createRng(5), s = createRng(5);
  r.fork("x").nextUint32();
  assertEquals(r.nextUint32(), s.nextUint32());
});
