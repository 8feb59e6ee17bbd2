import { assert, assertEquals, assertThrows } from "./assert.ts";
import { CmaEs, type CmaEsOptions, type CmaEsState, l2Penalty } from "../../src/es/mod.ts";

// Test functions as in pycma's `cma.ff` / purecma's `ff`: the ellipsoid has axis ratio 1e3,
// i.e. condition number 1e6.
function sphere(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

function ellipsoid(x: ArrayLike<number>): number {
  const n = x.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += 1e6 ** (i / (n - 1)) * x[i] * x[i];
  return s;
}

function rosenbrock(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) {
    s += 100 * (x[i] * x[i] - x[i + 1]) ** 2 + (x[i] - 1) ** 2;
  }
  return s;
}

interface RunResult {
  /** Evaluations told when the best fitness first reached the target (Infinity if never). */
  evaluations: number;
  best: number;
  stop: string[];
}

/** Runs ask/tell until the target is reached or a termination criterion holds. */
function minimise(
  f: (x: Float64Array) => number,
  x0: number,
  n: number,
  sigma0: number,
  options: CmaEsOptions,
  target: number,
): RunResult {
  const es = new CmaEs(new Float64Array(n).fill(x0), sigma0, { ftarget: target, ...options });
  while (Object.keys(es.stop()).length === 0) {
    const xs = es.ask();
    es.tell(xs, xs.map(f));
  }
  const best = es.best!.fitness;
  return {
    evaluations: best <= target ? es.evaluations : Infinity,
    best,
    stop: Object.keys(es.stop()),
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function runs(
  seeds: number[],
  f: (x: Float64Array) => number,
  x0: number,
  n: number,
  sigma0: number,
  target: number,
  options: Partial<CmaEsOptions> = {},
): RunResult[] {
  return seeds.map((seed) => minimise(f, x0, n, sigma0, { seed, ...options }, target));
}

// Published anchors (default population size, evaluations to the target):
// - ellipsoid 10-D, x0 = 0.5, sigma0 = 0.3: f = 5.3e-10 after 6,000 evaluations (N. Hansen,
//   barecmaes2.py `fmin` docstring example, cmap.polytechnique.fr/~nikolaus.hansen/
//   html-pythonbarecma2/barecmaes2-module.html).
// - Rosenbrock 10-D, x0 = 0.1, sigma0 = 0.3: f < 1e-12 within 8,000 evaluations (pycma
//   `cma.fmin` docstring doctest, cma/evolution_strategy.py; that run is aCMA with 100 diagonal
//   iterations). Rosenbrock 8-D, x0 = 0, sigma0 = 0.5: 1.3e-11 after 4,000 evaluations (pycma
//   1.x README usage example); pycma notes the first run finds the local optimum in about 20%
//   of 4-D cases.
// - sphere 10-D, x0 = 1, sigma0 = 1: about 1,500-2,000 evaluations to 1e-10 (the figure quoted in
//   issue 5's brief; no primary source located).
// No 30-D figure was located; the 30-D bounds below are 1.5 x the medians measured with this
// implementation (sphere 4,424, ellipsoid 38,976, Rosenbrock 46,844 to 1e-10), which sit where
// the n^2 scaling of the learning rates puts them from the 10-D anchors.

Deno.test("CmaEs uses Hansen's default population size, parent number and weights", () => {
  const es10 = new CmaEs(new Float64Array(10), 1, { seed: 1 });
  assertEquals(es10.popsize, 10);
  assertEquals(es10.mu, 5);
  // pycma prints mu_w=3.2 for (5_w,10) in 10-D.
  assert(Math.abs(es10.mueff - 3.1672) < 1e-4, `mueff ${es10.mueff}`);
  const es867 = new CmaEs(new Float64Array(867), 0.1, { seed: 1, popsize: 64 });
  assertEquals(es867.popsize, 64);
  assertEquals(es867.mu, 32);
  assertEquals(new CmaEs(new Float64Array(867), 0.1, { seed: 1 }).popsize, 24);
});

Deno.test("CmaEs solves the 10-D sphere in about the published number of evaluations", () => {
  const results = runs([1, 2, 3, 4, 5], sphere, 1, 10, 1, 1e-10);
  for (const r of results) assert(r.best < 1e-8, `best ${r.best}`);
  const m = median(results.map((r) => r.evaluations));
  assert(m >= 1000 && m <= 3000, `median evaluations ${m}, published about 1,500-2,000`);
});

Deno.test("CmaEs solves the 10-D ellipsoid (condition 1e6) in about 6,000 evaluations", () => {
  const results = runs([1, 2, 3, 4, 5], ellipsoid, 0.5, 10, 0.3, 5.3e-10);
  for (const r of results) assert(r.best < 1e-8, `best ${r.best}`);
  const m = median(results.map((r) => r.evaluations));
  assert(m >= 3000 && m <= 9000, `median evaluations ${m}, published 6,000`);
});

Deno.test("CmaEs solves the 10-D Rosenbrock function within the published budget", () => {
  const results = runs([1, 2, 3, 4, 5], rosenbrock, 0.1, 10, 0.3, 1e-12);
  // Runs that end in the local optimum near x1 = -1 (f about 3.99) are legitimate CMA-ES
  // behaviour; at most one of five is accepted.
  const global = results.filter((r) => r.best < 1e-8);
  assert(global.length >= 4, `only ${global.length}/5 runs reached 1e-8`);
  for (const r of results) assert(r.best < 1e-8 || Math.abs(r.best - 3.99) < 0.1, `${r.best}`);
  const m = median(global.map((r) => r.evaluations));
  assert(m >= 4000 && m <= 12000, `median evaluations ${m}, published < 8,000`);
});

Deno.test("CmaEs solves sphere, ellipsoid and Rosenbrock in 30-D", () => {
  const seeds = [1, 2, 3];
  const cases = [
    { name: "sphere", f: sphere, x0: 1, sigma0: 1, max: 6600 },
    { name: "ellipsoid", f: ellipsoid, x0: 1, sigma0: 1, max: 58500 },
    { name: "rosenbrock", f: rosenbrock, x0: 0, sigma0: 0.5, max: 70000 },
  ];
  for (const c of cases) {
    const results = runs(seeds, c.f, c.x0, 30, c.sigma0, 1e-10);
    const reached = results.filter((r) => r.best < 1e-8);
    assert(reached.length >= seeds.length - (c.name === "rosenbrock" ? 1 : 0), c.name);
    const m = median(reached.map((r) => r.evaluations));
    assert(m <= c.max, `${c.name}: median evaluations ${m} > ${c.max}`);
    assert(m >= c.max / 3, `${c.name}: median evaluations ${m} implausibly low`);
  }
});

Deno.test("CmaEs uses a large population through the rank-mu update (Hansen et al. 2003)", () => {
  // With lambda = 50 in 10-D the rank-mu update carries most of the covariance learning: about
  // 190 generations to 1e-10 here, while without it the run never converges.
  for (const r of runs([1, 2], ellipsoid, 1, 10, 1, 1e-10, { popsize: 50 })) {
    assert(r.best <= 1e-10, `best ${r.best}`);
    assert(r.evaluations / 50 <= 300, `${r.evaluations / 50} generations`);
  }
});

Deno.test("CmaEs decomposes the covariance matrix lazily, every eigenEvery generations", () => {
  // Hansen's gap lambda / (c1 + cmu) / n / 10 is 172 evaluations at n = 867, lambda = 64: the
  // decomposition runs every third generation.
  const big = new CmaEs(new Float64Array(867), 0.1, { seed: 1, popsize: 64 });
  assertEquals(big.toState().options.eigenEvery, 3);
  const es = new CmaEs(new Float64Array(6).fill(1), 1, { seed: 4, eigenEvery: 5 });
  let condition = es.conditionNumber;
  for (let g = 1; g <= 40; g++) {
    const xs = es.ask();
    es.tell(xs, xs.map(ellipsoid));
    const state = es.toState();
    assertEquals(state.eigenGeneration, g - (g % 5));
    if (g % 5 !== 0) assertEquals(es.conditionNumber, condition);
    condition = es.conditionNumber;
  }
  assert(condition > 10, `condition ${condition} did not grow on the ellipsoid`);
});

Deno.test("CmaEs with diagonal covariance (sep-CMA-ES) is fast on separable problems", () => {
  const sep = runs([1, 2, 3], ellipsoid, 1, 30, 1, 1e-10, { covariance: "diagonal" });
  for (const r of sep) assert(r.best < 1e-8, `best ${r.best}`);
  const mSep = median(sep.map((r) => r.evaluations));
  // Full CMA-ES needs about 39,000 here: it must learn n(n+1)/2 entries, sep-CMA-ES only n, with
  // learning rates (n + 2) / 3 times larger (Ros & Hansen 2008).
  assert(mSep <= 15000, `sep-CMA-ES median evaluations ${mSep}`);
  const full = runs([1], ellipsoid, 1, 30, 1, 1e-10);
  assert(mSep * 2 < full[0].evaluations, `sep ${mSep} vs full ${full[0].evaluations}`);
  const sepSphere = runs([1, 2, 3], sphere, 1, 30, 1, 1e-10, { covariance: "diagonal" });
  assert(median(sepSphere.map((r) => r.evaluations)) <= 6600);
});

Deno.test("CmaEs with diagonal covariance keeps linear-size state in 867-D", () => {
  const es = new CmaEs(new Float64Array(867), 0.1, {
    seed: 3,
    popsize: 64,
    covariance: "diagonal",
  });
  const shift = Float64Array.from({ length: 867 }, (_, i) => Math.sin(i));
  const f = (x: Float64Array) => sphere(x.map((v, i) => v - shift[i]));
  const start = f(es.mean);
  for (let g = 0; g < 60; g++) {
    const xs = es.ask();
    es.tell(xs, xs.map(f));
  }
  assert(f(es.mean) < 0.8 * start, `f(mean) ${f(es.mean)} vs ${start}`);
  const state = es.toState();
  assertEquals(state.b, null);
  assert(state.c.length < 867 * 8 * 2, "diagonal state must not hold an n x n matrix");
});

function trajectory(es: CmaEs, generations: number, f = rosenbrock): Float64Array[] {
  const out: Float64Array[] = [];
  for (let g = 0; g < generations; g++) {
    const xs = es.ask();
    out.push(...xs);
    es.tell(xs, xs.map(f));
  }
  return out;
}

function assertSameBits(a: Float64Array[], b: Float64Array[]): void {
  assertEquals(a.length, b.length);
  for (let k = 0; k < a.length; k++) {
    const x = new Uint8Array(a[k].buffer), y = new Uint8Array(b[k].buffer);
    assertEquals(x.length, y.length);
    for (let i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) throw new Error(`candidate ${k} differs at byte ${i}`);
    }
  }
}

Deno.test("CmaEs draws bit-identical candidates for the same seed", () => {
  const a = trajectory(new CmaEs(new Float64Array(12).fill(0.1), 0.3, { seed: 42 }), 40);
  const b = trajectory(new CmaEs(new Float64Array(12).fill(0.1), 0.3, { seed: 42 }), 40);
  assertSameBits(a, b);
  const c = trajectory(new CmaEs(new Float64Array(12).fill(0.1), 0.3, { seed: 43 }), 1);
  assert(c[0][0] !== a[0][0], "a different seed must give different candidates");
});

Deno.test("CmaEs draws its seed once from an rng with nextUint32 or nextFloat", () => {
  let calls = 0;
  const source = (seed: number) => ({
    nextFloat() {
      calls++;
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    },
  });
  const a = trajectory(new CmaEs(new Float64Array(5), 1, { rng: source(7) }), 5, sphere);
  const b = trajectory(new CmaEs(new Float64Array(5), 1, { rng: source(7) }), 5, sphere);
  assertSameBits(a, b);
  assertEquals(calls, 4);
  let u = 0;
  const es = new CmaEs(new Float64Array(5), 1, {
    rng: { nextUint32: () => u++, nextFloat: () => 0 },
  });
  assertEquals(u, 2);
  assertEquals(es.generation, 0);
});

for (const covariance of ["full", "diagonal"] as const) {
  Deno.test(`CmaEs restored from a JSON checkpoint continues bit for bit (${covariance})`, () => {
    const options: CmaEsOptions = { seed: 9, covariance, maximize: false };
    // n = 7 and lambda = 9 draw 63 normals per generation, so after 23 generations the
    // generator holds a cached polar-method deviate that the state must carry.
    const uninterrupted = new CmaEs(new Float64Array(7).fill(0.1), 0.3, options);
    const before = trajectory(uninterrupted, 23);
    const after = trajectory(uninterrupted, 60);

    const first = new CmaEs(new Float64Array(7).fill(0.1), 0.3, options);
    assertSameBits(trajectory(first, 23), before);
    const text = JSON.stringify(first);
    const restored = CmaEs.fromState(JSON.parse(text) as CmaEsState);
    assertEquals(restored.generation, 23);
    assertEquals(restored.evaluations, first.evaluations);
    assertEquals(restored.sigma, first.sigma);
    assertEquals(restored.best, first.best);
    // 60 more generations cross several eigendecompositions and the tolFun history window.
    assertSameBits(trajectory(restored, 60), after);
    assertEquals(restored.stop(), uninterrupted.stop());
    assertEquals(JSON.stringify(restored), JSON.stringify(uninterrupted));
  });
}

Deno.test("CmaEs.fromState() rejects states of another format or with damaged arrays", () => {
  const state = new CmaEs(new Float64Array(4), 1, { seed: 1 }).toState();
  assertThrows(() => CmaEs.fromState({ ...state, format: "other" } as never), TypeError);
  assertThrows(() => CmaEs.fromState({ ...state, mean: state.pc.slice(4) }), TypeError);
  assertThrows(() => CmaEs.fromState({ ...state, dimension: 5 }), TypeError);
  assertThrows(() => CmaEs.fromState(null as never), TypeError);
});

Deno.test("CmaEs with maximize: true follows the minimisation path of the negated fitness", () => {
  const min = new CmaEs(new Float64Array(6).fill(1), 0.5, { seed: 5 });
  const max = new CmaEs(new Float64Array(6).fill(1), 0.5, { seed: 5, maximize: true });
  for (let g = 0; g < 30; g++) {
    const a = min.ask(), b = max.ask();
    assertSameBits(a, b);
    min.tell(a, a.map(sphere));
    max.tell(b, b.map((x) => -sphere(x)));
  }
  assertEquals(max.best!.fitness, -min.best!.fitness);
  assertEquals(max.best!.evaluation, min.best!.evaluation);
  assert(max.best!.fitness <= 0);
});

Deno.test("CmaEs tracks the best candidate ever told, not the last generation's", () => {
  const es = new CmaEs(new Float64Array(3), 1, { seed: 2, popsize: 4 });
  const first = es.ask();
  es.tell(first, [5, 1, 3, 4]);
  const second = es.ask();
  es.tell(second, [9, 8, 7, 6]);
  const best = es.best!;
  assertEquals(best.fitness, 1);
  assertEquals(best.evaluation, 2);
  assertEquals(best.generation, 1);
  assertEquals(Array.from(best.x), Array.from(first[1]));
  best.x[0] = 123; // a copy: changing it leaves the optimiser alone
  assert(es.best!.x[0] !== 123);
});

Deno.test("CmaEs.tell() accepts Float32Array and rounded candidates", () => {
  const es = new CmaEs(new Float64Array(5).fill(1), 0.5, { seed: 8 });
  for (let g = 0; g < 80; g++) {
    const xs = es.ask().map((x) => Float32Array.from(x, (v) => Math.round(v * 1e4) / 1e4));
    es.tell(xs, xs.map(sphere));
  }
  assert(es.best!.fitness < 1e-4, `best ${es.best!.fitness}`);
});

Deno.test("CmaEs.stop() reports termination criteria instead of throwing", () => {
  const flat = new CmaEs(new Float64Array(4), 1, { seed: 1 });
  assertEquals(flat.stop(), {});
  for (let g = 0; g < 2; g++) {
    const xs = flat.ask();
    flat.tell(xs, xs.map(() => 1));
  }
  assertEquals(flat.stop().tolFun, 1e-11);

  const capped = new CmaEs(new Float64Array(4), 1, { seed: 1, maxIter: 3, maxFevals: 16 });
  for (let g = 0; g < 3; g++) {
    const xs = capped.ask();
    capped.tell(xs, xs.map(sphere));
  }
  assertEquals(Object.keys(capped.stop()).sort(), ["maxFevals", "maxIter"]);
  capped.ask(); // asking after a criterion holds is still allowed

  const illConditioned = minimise(ellipsoid, 1, 6, 1, { seed: 1, conditionLimit: 1e4 }, 0);
  assert(illConditioned.stop.includes("conditionCov"), illConditioned.stop.join());

  const converged = minimise(sphere, 1, 6, 1, { seed: 1 }, -Infinity);
  assert(
    converged.stop.some((s) => ["tolFun", "tolX", "noEffectAxis", "noEffectCoord"].includes(s)),
    converged.stop.join(),
  );
  assert(converged.best < 1e-12);

  const target = minimise(sphere, 1, 6, 1, { seed: 1 }, 1e-3);
  assertEquals(target.stop, ["ftarget"]);
});

Deno.test("CmaEs rejects bad options and bad tell() input with clear errors", () => {
  const x0 = new Float64Array(3);
  assertThrows(() => new CmaEs(x0, 1, {}), TypeError, "seed");
  assertThrows(() => new CmaEs(x0, 1, { seed: 1, rng: { nextFloat: () => 0 } }), TypeError);
  assertThrows(() => new CmaEs(x0, 0, { seed: 1 }), RangeError, "sigma0");
  assertThrows(() => new CmaEs([], 1, { seed: 1 }), RangeError, "x0");
  assertThrows(() => new CmaEs([NaN], 1, { seed: 1 }), RangeError, "x0[0]");
  assertThrows(() => new CmaEs(x0, 1, { seed: 1, popsize: 1 }), RangeError, "popsize");
  assertThrows(() => new CmaEs(x0, 1, { seed: 1.5 }), TypeError, "seed");
  assertThrows(
    () => new CmaEs(x0, 1, { seed: 1, covariance: "banded" as never }),
    RangeError,
    "covariance",
  );
  const es = new CmaEs(x0, 1, { seed: 1 });
  const xs = es.ask();
  assertThrows(() => es.tell(xs.slice(1), [1, 2, 3, 4, 5, 6]), RangeError, "expected 7");
  assertThrows(() => es.tell(xs, xs.map((_, k) => (k === 2 ? NaN : k))), RangeError, "NaN");
  const bad = xs.map((x) => x.slice());
  bad[1][0] = Infinity;
  assertThrows(() => es.tell(bad, xs.map(sphere)), RangeError, "candidate 1");
  assertEquals(es.generation, 0, "a rejected tell must not change the state");
});

Deno.test("l2Penalty() is coefficient times the mean square of the parameters", () => {
  assertEquals(l2Penalty([1, 2, 3, 4], 0.01), 0.01 * 7.5);
  assertEquals(l2Penalty([], 0.01), 0);
});
