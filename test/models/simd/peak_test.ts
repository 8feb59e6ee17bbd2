import assert from "node:assert/strict";
import {
  PEAK_UNROLL,
  peakExpected,
  peakFlops,
  peakFunc,
  peakModule,
} from "../../../src/models/simd/peak.ts";

function run(accumulators: number, passes: number): number {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { exports } = new WebAssembly.Instance(peakModule(accumulators), { env: { memory } });
  (exports.peak as (passes: number, out: number) => void)(passes, 64);
  return new Float32Array(memory.buffer)[16];
}

Deno.test("the peak kernel does its multiply-adds on every accumulator and stores their sum", () => {
  // acc = acc * 0.5 + 0.5 from 0: 0.5, 0.75, 0.875, ... so each pass and each accumulator counts.
  assert.equal(run(1, 0), 0);
  assert.equal(run(1, 1), 4 * (1 - 0.5 ** PEAK_UNROLL));
  assert.equal(run(3, 1), 3 * 4 * (1 - 0.5 ** PEAK_UNROLL));
  assert.equal(run(2, 2), 2 * 4 * (1 - 0.5 ** (2 * PEAK_UNROLL)));
  for (const [acc, passes] of [[8, 5], [12, 1000], [16, 3]]) {
    assert.equal(run(acc, passes), peakExpected(acc, passes));
  }
  assert.equal(peakFlops(8, 10), 8 * PEAK_UNROLL * 10 * 8);
});

Deno.test("the peak kernel refuses a count of accumulators that is not a positive integer", () => {
  assert.throws(() => peakFunc(0), /with 0 accumulators/);
  assert.throws(() => peakFunc(2.5), /with 2.5 accumulators/);
});
