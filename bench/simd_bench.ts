/**
 * This machine's WebAssembly SIMD ceiling: GFLOP/s of a kernel made only of fused multiply-adds
 * (`f32x4.relaxed_madd`) into independent accumulators (src/models/simd/peak.ts), for 1, 2, 4, 6, 8,
 * 10, 12 and 16 accumulators (`simd_peak_gflops_acc<n>`: with few, the FMA latency limits it; with
 * enough, the FMA units do), and the best of them, `simd_peak_gflops` (one thread). Then the same
 * kernel on `navigator.hardwareConcurrency` (at most 2) Workers at once,
 * `simd_peak_gflops_2threads`, the ceiling of the two-thread engines on this machine as it is
 * loaded now. bench/main.ts divides every kernel figure by the peak (`<figure>_of_peak`).
 *
 * Run: `deno run -A bench/simd_bench.ts`. JSON lines on stdout, logs on stderr.
 *
 * @module
 */
import { emit } from "./timing.ts";
import { peakExpected, peakFlops, peakModule } from "../src/models/simd/peak.ts";

/** Seconds of measured work per configuration (best of several calls). */
const SECONDS = 0.4;

/** Best GFLOP/s of the kernel with `accumulators` registers over calls of about 5 ms each (the more calls, the likelier one runs undisturbed). */
function measure(accumulators: number, seconds = SECONDS): number {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(peakModule(accumulators), { env: { memory } });
  const peak = instance.exports.peak as (passes: number, out: number) => void;
  // Warm-up calls let V8 tier the function up to its optimising compiler; they also size a call.
  let passes = 1000;
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    peak(passes, 0);
    const ms = performance.now() - t0;
    if (ms < 5) passes = Math.min(2 ** 30, Math.ceil(passes * Math.max(2, 5 / (ms + 0.01))));
  }
  peak(passes, 0);
  const got = new Float32Array(memory.buffer)[0];
  if (got !== peakExpected(accumulators, passes)) {
    throw new Error(`peak kernel: got ${got}, expected ${peakExpected(accumulators, passes)}`);
  }
  let best = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    peak(passes, 0);
    const s = (performance.now() - t0) / 1000;
    best = Math.max(best, peakFlops(accumulators, passes) / s / 1e9);
  }
  return best;
}

/** Runs `measure(accumulators)` in `threads` Workers at once; returns their summed GFLOP/s. */
async function parallel(threads: number, accumulators: number): Promise<number> {
  const workers = Array.from(
    { length: threads },
    () => new Worker(import.meta.url, { type: "module" }),
  );
  try {
    const results = await Promise.all(workers.map((w) =>
      new Promise<number>((resolve, reject) => {
        w.onmessage = (e) => resolve(e.data as number);
        w.onerror = (e) => reject(new Error(e.message));
        w.postMessage(accumulators);
      })
    ));
    return results.reduce((a, b) => a + b, 0);
  } finally {
    for (const w of workers) w.terminate();
  }
}

const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined";

if (inWorker) {
  const scope = self as unknown as {
    onmessage: (e: MessageEvent<number>) => void;
    postMessage: (v: number) => void;
  };
  scope.onmessage = (e) => scope.postMessage(measure(e.data, SECONDS * 2));
} else if (import.meta.main) {
  let best = { gflops: 0, accumulators: 0 };
  for (const accumulators of [1, 2, 4, 6, 8, 10, 12, 16]) {
    const gflops = measure(accumulators);
    emit(`simd_peak_gflops_acc${accumulators}`, gflops, "GFLOP/s");
    if (gflops > best.gflops) best = { gflops, accumulators };
  }
  console.log(JSON.stringify({
    name: "simd_peak_gflops",
    value: Number(best.gflops.toPrecision(6)),
    unit: "GFLOP/s",
    accumulators: best.accumulators,
    threads: 1,
    kernel: "f32x4.relaxed_madd",
  }));
  const threads = Math.min(2, navigator.hardwareConcurrency);
  if (threads > 1) {
    const total = await parallel(threads, best.accumulators);
    emit(`simd_peak_gflops_${threads}threads`, total, "GFLOP/s");
  }
  console.error(
    `[simd bench] load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}, ` +
      `${navigator.hardwareConcurrency} cores`,
  );
}
