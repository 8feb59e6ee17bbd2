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
 * VectorEnv on a shared machine: when other processes hold the cores, two Workers cannot get
 * two cores and the wall-time scaling says little. So each VectorEnv run also reads every
 * thread's CPU time (Linux): `vector_env_cpu_ms_per_step_<n>w` is the process's CPU per batched
 * step, `vector_env_critical_cpu_ms_per_step_<n>w` the main thread's plus the busiest other
 * thread's (what a step takes when every thread has a core of its own: the main thread and the
 * Workers take turns), and `vector_env_cpu_scaling_2w_over_1w` the ratio of the latter, the
 * scaling two free cores would give.
 *
 * Run: deno run -A bench/env_bench.ts [--steps 6000] [--vector-steps 300]
 */

import process from "node:process";
import { CarRacing } from "../src/envs/car_racing/mod.ts";
import { Random } from "../src/random/mod.ts";
import { VectorEnv } from "../src/envs/vector/mod.ts";
import { cpuSeconds, threadCpuSeconds } from "./timing.ts";

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

/** Steps/s of a VectorEnv run, and its CPU per batched step: the process's and the critical. */
interface VectorRun {
  rate: number;
  cpuMs: number;
  criticalMs: number;
}

async function vector(workers: number, n: number, steps: number): Promise<VectorRun> {
  const venv = await VectorEnv.create({ n, workers, observation: "pixels64" });
  const rng = Random.keyedSplitMix(999);
  const seeds = Array.from({ length: n }, (_, i) => i);
  await venv.reset(seeds);
  const actions = new Float64Array(n * 3);
  let count = 0;
  let ms = 0;
  let threads0 = new Map<number, number>(), cpu0 = 0;
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < n; i++) actions.set(randomAction(rng), i * 3);
    if (s === 100) [threads0, cpu0] = [threadCpuSeconds(), cpuSeconds()];
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
  // Read before closing: a terminated Worker's thread leaves /proc.
  const [threads1, cpu1] = [threadCpuSeconds(), cpuSeconds()];
  await venv.close();
  const timedSteps = Math.max(1, steps - 100);
  // The main thread's id is the process id; the busiest other thread is a Worker.
  const main = (threads1.get(Deno.pid) ?? 0) - (threads0.get(Deno.pid) ?? 0);
  let busiest = 0;
  for (const [tid, s] of threads1) {
    if (tid !== Deno.pid) busiest = Math.max(busiest, s - (threads0.get(tid) ?? 0));
  }
  return {
    rate: count / (ms / 1000),
    cpuMs: ((cpu1 - cpu0) * 1000) / timedSteps,
    criticalMs: ((main + busiest) * 1000) / timedSteps,
  };
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
  emit("vector_env_step_per_s_1w", one.rate, "steps/s");
  const two = await vector(2, n, vectorSteps);
  emit("vector_env_step_per_s_2w", two.rate, "steps/s");
  emit("vector_env_scaling_2w_over_1w", two.rate / one.rate, "x");
  for (const [w, run] of [[1, one], [2, two]] as const) {
    emit(`vector_env_cpu_ms_per_step_${w}w`, run.cpuMs, "cpu-ms");
    emit(`vector_env_critical_cpu_ms_per_step_${w}w`, run.criticalMs, "cpu-ms");
  }
  if (two.criticalMs > 0) {
    emit("vector_env_cpu_scaling_2w_over_1w", one.criticalMs / two.criticalMs, "x");
  }
  console.error(
    `vector env: n=${n}, ${vectorSteps} batched steps per run; ` +
      `load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}, ` +
      `${navigator.hardwareConcurrency} cores`,
  );
}
