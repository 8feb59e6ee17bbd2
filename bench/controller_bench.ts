/**
 * Throughput of the controller stages' batched driver (src/worldmodels/agent.ts) on one
 * core: real CarRacing steps per second with the ConvVAE encoder (z 32, `EncoderEngine`) run
 * once per step for all environments, the linear controller, and, for inputs `zh`, the MDN-RNN (256 units) stepped
 * for all environments at once. These numbers size `experiments/car_racing.yaml`.
 *
 * Anchor, measured in the same run: bare env steps/s (pixels64, same actions policy, no
 * models); `driver_*_vs_env` is the driver's steps/s over it. `*_per_cpu_s` divides by process
 * CPU time, which other processes on a shared machine disturb less than wall time.
 * Models are freshly initialised (speed does not depend on the weights).
 *
 * Run: deno run -A bench/controller_bench.ts [--slots 16] [--steps 200]
 */

import { parseArgs } from "node:util";
import { emit, timed } from "./timing.ts";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CarRacing } from "../src/envs/car_racing/mod.ts";
import { initBackend } from "../src/models/backend/mod.ts";
import { ConvVAE, framesToTensor } from "../src/models/vae.ts";
import { encodeFrames } from "../src/models/vae_encode.ts";
import { vaeFlops } from "../src/models/flops.ts";
import { MdnRnn } from "../src/models/mdn_rnn.ts";
import { ControllerDriver } from "../src/worldmodels/agent.ts";
import { mixSeed, Random } from "../src/random/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { slots: { type: "string", default: "16" }, steps: { type: "string", default: "200" } },
});
const SLOTS = Number(values.slots);
const STEPS = Number(values.steps);

await initBackend({ backend: "wasm" });
const dir = await Deno.makeTempDir({ prefix: "ditto_controller_bench_" });
try {
  const vae = new ConvVAE({ seed: 1 });
  await vae.save(join(dir, "vae"));
  await new MdnRnn({}, { seed: 2 }).save(join(dir, "rnn"));

  // Anchor: the same number of environments stepped with no models.
  const envs = await Promise.all(
    Array.from({ length: SLOTS }, () => CarRacing.create({ observation: "pixels64" })),
  );
  const rng = new Random(7);
  envs.forEach((env, i) => env.reset({ seed: mixSeed(3, i) }));
  const frames = new Uint8Array(SLOTS * 64 * 64 * 3);
  const anchor = await timed(() => {
    for (let t = 0; t < STEPS; t++) {
      envs.forEach((env, i) => {
        const r = env.step([rng.uniform(-1, 1), 0.3, 0]);
        frames.set(r.observation, i * 12288);
        // Random steering can leave the playfield; a new track keeps the env stepping.
        if (r.terminated || r.truncated) env.reset({ seed: mixSeed(3, i, t) });
      });
    }
  });
  for (const env of envs) env.close();
  const envSteps = SLOTS * STEPS;
  emit("controller_env_steps_per_s", envSteps / anchor.wall, "steps/s");
  emit("controller_env_steps_per_cpu_s", envSteps / anchor.cpu, "steps/cpu-s");

  // The encoder alone, one batch of SLOTS frames per call: the engine the driver uses, and the
  // tfjs layers model it replaced.
  const calls = 20;
  encodeFrames(vae, frames, SLOTS);
  const enc = await timed(() => {
    for (let i = 0; i < calls; i++) encodeFrames(vae, frames, SLOTS);
  });
  const kernel = { flops_per_unit: vaeFlops(vae).encode, threads: 1 };
  emit("encoder_images_per_s", (calls * SLOTS) / enc.wall, "images/s", kernel);
  emit("encoder_images_per_cpu_s", (calls * SLOTS) / enc.cpu, "images/cpu-s", kernel);
  tf.tidy(() => vae.encode(framesToTensor(frames, SLOTS)).mu.dataSync());
  const encTfjs = await timed(() => {
    for (let i = 0; i < calls; i++) {
      tf.tidy(() => {
        const { mu, logvar } = vae.encode(framesToTensor(frames, SLOTS));
        mu.dataSync();
        logvar.dataSync();
      });
    }
  });
  emit("encoder_tfjs_images_per_cpu_s", (calls * SLOTS) / encTfjs.cpu, "images/cpu-s", kernel);
  vae.dispose();

  for (const inputs of ["z", "zh"] as const) {
    const driver = await ControllerDriver.create({
      vae: join(dir, "vae"),
      rnn: join(dir, "rnn"),
      inputs,
      maxSteps: STEPS,
      slots: SLOTS,
    });
    const params = new Float32Array(driver.parameterCount);
    for (let i = 0; i < params.length; i++) params[i] = 0.1 * rng.normal();
    const jobs = Array.from({ length: SLOTS }, (_, i) => ({ candidate: 0, seed: mixSeed(5, i) }));
    let steps = 0;
    const run = await timed(async () => {
      const outcomes = await driver.run([params], jobs);
      steps = outcomes.reduce((a, o) => a + o.length, 0);
    });
    driver.close();
    emit(`driver_${inputs}_steps_per_s`, steps / run.wall, "steps/s");
    emit(`driver_${inputs}_steps_per_cpu_s`, steps / run.cpu, "steps/cpu-s");
    emit(`driver_${inputs}_vs_env`, (steps / run.cpu) / (envSteps / anchor.cpu), "ratio");
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
