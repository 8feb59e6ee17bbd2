/**
 * Throughput of the dream (src/worldmodels/dream_env.ts) on one core: dream steps per
 * second for a whole population's batch (`--jobs`, default 64 = popsize 16 x 4 episodes) with
 * the book's MDN-RNN (z 32, 256 units, 5 mixtures, reward head): one batched LSTM step, the
 * mixture sampled per latent dimension at temperature 1.15, the linear controller.
 *
 * Anchors, measured in the same run: bare CarRacing steps/s (pixels64, no models) and the real
 * batched driver's steps/s (VAE encoder + controller, inputs z and zh; what a real-mode
 * generation costs per step). `dream_*_vs_*` divide steps per CPU second (less disturbed by
 * other processes on a shared machine than wall time). Models are freshly initialised.
 *
 * Run: deno run -A bench/dream_bench.ts [--jobs 64] [--steps 200] [--slots 16]
 */

import { parseArgs } from "node:util";
import { emit, timed } from "./timing.ts";
import { join } from "node:path";
import { CarRacing } from "../src/envs/car_racing/mod.ts";
import { initBackend } from "../src/models/backend/mod.ts";
import { ConvVAE } from "../src/models/vae.ts";
import { MdnRnn } from "../src/models/mdn_rnn.ts";
import { writeNpy } from "../src/data/npy/mod.ts";
import { mixSeed, Random } from "../src/random/mod.ts";
import { DreamEnv } from "../src/worldmodels/dream_env.ts";
import { ControllerDriver } from "../src/worldmodels/agent.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "64" },
    steps: { type: "string", default: "200" },
    slots: { type: "string", default: "16" },
  },
});
const JOBS = Number(values.jobs);
const STEPS = Number(values.steps);
const SLOTS = Number(values.slots);

await initBackend({ backend: "wasm" });
const dir = await Deno.makeTempDir({ prefix: "ditto_dream_bench_" });
try {
  const rng = new Random(7);
  const vae = new ConvVAE({ seed: 1 });
  await vae.save(join(dir, "vae"));
  vae.dispose();
  await new MdnRnn({ rewardHead: true }, { seed: 2 }).save(join(dir, "rnn"));
  await Deno.mkdir(join(dir, "series"));
  const initial = new Float32Array(10 * 2 * 32);
  for (let i = 0; i < initial.length; i++) initial[i] = (i % 64) < 32 ? rng.normal() : -2;
  await writeNpy(join(dir, "series", "initial_z.npy"), {
    dtype: "f4",
    shape: [10, 2, 32],
    data: initial,
  });

  // Anchor 1: bare environments.
  const envs = await Promise.all(
    Array.from({ length: SLOTS }, () => CarRacing.create({ observation: "pixels64" })),
  );
  envs.forEach((env, i) => env.reset({ seed: mixSeed(3, i) }));
  const bare = await timed(() => {
    for (let t = 0; t < STEPS; t++) {
      envs.forEach((env, i) => {
        const r = env.step([rng.uniform(-1, 1), 0.3, 0]);
        // Random steering can leave the playfield; a new track keeps the env stepping.
        if (r.terminated || r.truncated) env.reset({ seed: mixSeed(3, i, t) });
      });
    }
  });
  for (const env of envs) env.close();
  const bareSteps = SLOTS * STEPS;
  emit("dream_anchor_env_steps_per_s", bareSteps / bare.wall, "steps/s");
  emit("dream_anchor_env_steps_per_cpu_s", bareSteps / bare.cpu, "steps/cpu-s");

  for (const inputs of ["z", "zh"] as const) {
    // Anchor 2: the real agent (encoder every step), as a real-mode generation runs.
    const driver = await ControllerDriver.create({
      vae: join(dir, "vae"),
      rnn: join(dir, "rnn"),
      inputs,
      maxSteps: STEPS,
      slots: SLOTS,
    });
    const params = new Float32Array(driver.parameterCount);
    for (let i = 0; i < params.length; i++) params[i] = 0.1 * rng.normal();
    const realJobs = Array.from(
      { length: SLOTS },
      (_, i) => ({ candidate: 0, seed: mixSeed(5, i) }),
    );
    let realSteps = 0;
    const real = await timed(async () => {
      const outcomes = await driver.run([params], realJobs);
      realSteps = outcomes.reduce((a, o) => a + o.length, 0);
    });
    driver.close();
    emit(`dream_anchor_real_${inputs}_steps_per_s`, realSteps / real.wall, "steps/s");
    emit(`dream_anchor_real_${inputs}_steps_per_cpu_s`, realSteps / real.cpu, "steps/cpu-s");

    const dream = await DreamEnv.create({
      rnn: join(dir, "rnn"),
      series: join(dir, "series"),
      inputs,
      maxSteps: STEPS,
      temperature: 1.15,
    });
    const candidates = Array.from({ length: 16 }, () => {
      const p = new Float32Array(dream.parameterCount);
      for (let i = 0; i < p.length; i++) p[i] = 0.1 * rng.normal();
      return p;
    });
    const jobs = Array.from({ length: JOBS }, (_, i) => ({ candidate: i % 16, seed: i }));
    await dream.run(candidates, jobs.slice(0, 2)); // warm-up: kernels compiled, buffers sized
    const run = await timed(async () => {
      await dream.run(candidates, jobs);
    });
    const steps = JOBS * STEPS;
    const name = inputs === "zh" ? "dream_steps_per_s" : "dream_z_steps_per_s";
    emit(name, steps / run.wall, "steps/s");
    emit(`${name.replace("_per_s", "")}_per_cpu_s`, steps / run.cpu, "steps/cpu-s");
    emit(
      `dream_${inputs}_vs_real_${inputs}`,
      (steps / run.cpu) / (realSteps / real.cpu),
      "ratio",
    );
    emit(`dream_${inputs}_vs_env`, (steps / run.cpu) / (bareSteps / bare.cpu), "ratio");
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
