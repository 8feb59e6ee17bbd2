/**
 * CarRacing speed: single-env steps per second with random actions and pixels64 on one
 * core, reset time, and VectorEnv throughput with 1 and 2
 * Workers. Prints JSON lines `{"name", "value", "unit"}`; logs go to stderr.
 *
 * Anchor: Python Gymnasium CarRacing does about 265 steps/s on one core of this machine
 * (96x96 observation); `env_step_vs_gymnasium` is measured steps/s over that figure.
 * `env_step_per_cpu_s` divides by process CPU time instead of wall time, which other
 * processes on a shared machine disturb less.
 *
 * Run: deno run -A bench/env_bench.ts [--steps 6000] [--vector-steps 300]
 */

import process from "node:process";
import { CarRacing } from "../src/envs/car_racing/mod.ts";
import { Random } from "../src/random/mod.ts";
import { VectorEnv } from "../src/envs/vector/mod.ts";

const GYMNASIUM_STEPS_PER_S = 265;

function emit(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Number(value.toPrecision(6)), unit }));
}

function randomAction(rng: Random): [number, number, number] {
  return [rng.uniform(-1, 1), rng.nextFloat(), rng.nextFloat()];
}

async function singleEnv(steps: number): Promise<void> {
  const env = await CarRacing.create({ observation: "pixels64" });
  const rng = Random.keyedSplitMix(12345);
  let seed = 0;
  env.reset({ seed: seed++ });
  // Warm up the JIT before timing.
  for (let i = 0; i < 500; i++) {
    const r = env.step(randomAction(rng));
    if (r.terminated || r.truncated) env.reset({ seed: seed++ });
  }
  let stepMs = 0;
  let stepCpuUs = 0;
  let resetMs = 0;
  let resetCpuUs = 0;
  let resets = 0;
  for (let i = 0; i < steps; i++) {
    const a = randomAction(rng);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = env.step(a);
    stepMs += performance.now() - t0;
    const c = process.cpuUsage(c0);
    stepCpuUs += c.user + c.system;
    if (r.terminated || r.truncated) {
      const c1 = process.cpuUsage();
      const t1 = performance.now();
      env.reset({ seed: seed++ });
      resetMs += performance.now() - t1;
      const c = process.cpuUsage(c1);
      resetCpuUs += c.user + c.system;
      resets++;
    }
  }
  // A few more resets so the reset figure rests on more than a handful of samples.
  for (let i = 0; i < 20; i++) {
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    env.reset({ seed: seed++ });
    resetMs += performance.now() - t1;
    const c = process.cpuUsage(c1);
    resetCpuUs += c.user + c.system;
    resets++;
  }
  env.close();
  const perS = steps / (stepMs / 1000);
  emit("env_step_per_s", perS, "steps/s");
  emit("env_step_vs_gymnasium", perS / GYMNASIUM_STEPS_PER_S, "x");
  // CPU time is less sensitive than wall time to other processes sharing the cores.
  emit("env_step_per_cpu_s", steps / (stepCpuUs / 1e6), "steps/s");
  emit("env_reset_ms", resetMs / resets, "ms");
  emit("env_reset_cpu_ms", resetCpuUs / 1000 / resets, "ms");
}

async function vector(workers: number, n: number, steps: number): Promise<number> {
  const venv = await VectorEnv.create({ n, workers, observation: "pixels64" });
  const rng = Random.keyedSplitMix(999);
  const seeds = Array.from({ length: n }, (_, i) => i);
  await venv.reset(seeds);
  const actions = new Float64Array(n * 3);
  let count = 0;
  let ms = 0;
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < n; i++) actions.set(randomAction(rng), i * 3);
    const t0 = performance.now();
    const r = await venv.step(actions);
    const dt = performance.now() - t0;
    // The first 100 steps warm up the JIT in the Workers.
    if (s >= 100) {
      ms += dt;
      for (let i = 0; i < n; i++) count += r.done[i] ? 0 : 1;
    }
    if (r.done.every((d) => d === 1)) await venv.reset(seeds);
  }
  await venv.close();
  return count / (ms / 1000);
}

if (import.meta.main) {
  const flag = (name: string, fallback: number) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
  };
  const steps = flag("steps", 6000);
  const vectorSteps = flag("vector-steps", 300);
  await singleEnv(steps);
  const n = 16;
  const one = await vector(1, n, vectorSteps);
  emit("vector_env_step_per_s_1w", one, "steps/s");
  const two = await vector(2, n, vectorSteps);
  emit("vector_env_step_per_s_2w", two, "steps/s");
  emit("vector_env_scaling_2w_over_1w", two / one, "x");
  console.error(
    `vector env: n=${n}, ${vectorSteps} batched steps per run; ` +
      `load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}, ` +
      `${navigator.hardwareConcurrency} cores`,
  );
}
