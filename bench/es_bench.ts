/**
 * CMA-ES overhead at the World Models controller's size: dimension 867, popsize 64.
 *
 * Prints JSON lines `{"name", "value", "unit"}` to stdout. The anchor is 64 dense 867 x 867
 * matrix-vector products (the floor of full-covariance sampling), timed in the same run.
 *
 * Run: `deno run -A bench/es_bench.ts`
 *
 * @module
 */

import { CmaEs, symmetricEigen } from "../src/es/mod.ts";

const N = 867;
const POPSIZE = 64;

function emit(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Number(value.toPrecision(6)), unit }));
}

function timeIt(fn: () => void, repeats: number): number {
  fn(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) fn();
  return (performance.now() - t0) / repeats;
}

const fitness = (x: Float64Array) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - 0.01 * (i % 7)) ** 2;
  return s;
};

// Anchor: 64 dense matrix-vector products with an n x n Float64Array.
const matrix = Float64Array.from({ length: N * N }, (_, i) => Math.sin(i));
const vector = Float64Array.from({ length: N }, (_, i) => Math.cos(i));
const result = new Float64Array(N);
const anchorMs = timeIt(() => {
  for (let k = 0; k < POPSIZE; k++) {
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let j = 0; j < N; j++) s += matrix[i * N + j] * vector[j];
      result[i] = s;
    }
  }
}, 5);
emit("es_anchor_64_matvec_867", anchorMs, "ms");

for (const covariance of ["diagonal", "full"] as const) {
  const es = new CmaEs(new Float64Array(N), 0.1, { seed: 1, popsize: POPSIZE, covariance });
  let askMs = 0, tellMs = 0;
  const generations = covariance === "full" ? 12 : 60;
  for (let g = 0; g < generations; g++) {
    let t = performance.now();
    const xs = es.ask();
    askMs += performance.now() - t;
    const f = xs.map(fitness);
    t = performance.now();
    es.tell(xs, f);
    tellMs += performance.now() - t;
  }
  emit(`es_${covariance}_ask_867x64`, askMs / generations, "ms/generation");
  emit(`es_${covariance}_tell_867x64`, tellMs / generations, "ms/generation");
  emit(
    `es_${covariance}_ask_tell_vs_anchor`,
    (askMs + tellMs) / generations / anchorMs,
    "ratio",
  );
  let text = "";
  const saveMs = timeIt(() => {
    text = JSON.stringify(es);
  }, 3);
  const restoreMs = timeIt(() => {
    CmaEs.fromState(JSON.parse(text));
  }, 3);
  emit(`es_${covariance}_state_json_bytes`, text.length, "bytes");
  emit(`es_${covariance}_state_save`, saveMs, "ms");
  emit(`es_${covariance}_state_restore`, restoreMs, "ms");
  console.error(`${covariance}: sigma ${es.sigma.toExponential(3)}, f(mean) ${fitness(es.mean)}`);
}

// One eigendecomposition of an 867 x 867 covariance (ml-matrix), done every few generations.
const spd = new Float64Array(N * N);
for (let i = 0; i < N; i++) {
  for (let j = 0; j <= i; j++) spd[i * N + j] = (i === j ? N : 0) + Math.sin(i * 7 + j * 3);
}
emit("es_eigen_867", timeIt(() => symmetricEigen(spd, N), 1), "ms");
