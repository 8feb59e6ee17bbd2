import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { Random } from "../../../src/random/mod.ts";
import { RolloutWriter } from "../../../src/data/rollouts.ts";
import { initBackend } from "../../../src/models/backend/mod.ts";
import { ConvVAE, framesToTensor } from "../../../src/models/vae.ts";
import { runExperiment } from "../../../src/runner/mod.ts";
import { builtinStages } from "../../../src/stages/mod.ts";
import { python } from "../../data/python.ts";

const LENGTHS = [7, 5];
const Z = 4;

/** Writes a small rollout dataset of smooth random images (real .npy files). */
async function writeRollouts(dir: string): Promise<void> {
  const rng = new Random(11);
  const writer = await RolloutWriter.create(dir);
  for (const [e, length] of LENGTHS.entries()) {
    const frames = new Uint8Array(length * 64 * 64 * 3);
    for (let t = 0; t < length; t++) {
      const base = [rng.nextInt(256), rng.nextInt(256), rng.nextInt(256)];
      for (let i = 0; i < 64 * 64; i++) {
        for (let c = 0; c < 3; c++) {
          frames[(t * 64 * 64 + i) * 3 + c] = (base[c] + (i % 64) * (c + 1)) % 256;
        }
      }
    }
    const actions = Float32Array.from({ length: length * 3 }, () => rng.uniform(-1, 1));
    const rewards = Float32Array.from({ length }, (_, t) => t % 3 === 0 ? 3.2 : -0.1);
    const dones = new Uint8Array(length);
    if (e === 1) dones[length - 1] = 1;
    await writer.append(100 + e, { frames, actions, rewards, dones });
  }
  await writer.close();
}

Deno.test("worldmodels/encode writes mu/logvar of every frame, the steps and initial z as NumPy files, in float16 or float32, the same bytes for any worker count", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ditto_encode_" });
  try {
    const rollouts = join(dir, "rollouts");
    const vaeDir = join(dir, "vae");
    await writeRollouts(rollouts);
    await initBackend({ backend: "wasm" });
    const vae = new ConvVAE({ zSize: Z, seed: 5 });
    await vae.save(vaeDir);
    const file = join(dir, "encode.yaml");
    await Deno.writeTextFile(
      file,
      `name: encode_test
seed: 1
stages:
  encode:
    uses: worldmodels/encode
    deps: { rollouts: ${rollouts}, vae: ${vaeDir} }
    inputs: { rollouts: "\${deps.rollouts}", vae: "\${deps.vae}" }
    with: { batch_size: 3 }
`,
    );
    const runsDir = join(dir, "runs");
    const half = await runExperiment(file, { runsDir, builtins: builtinStages });
    assert.equal(half.status, "succeeded", JSON.stringify(half.stages));
    const full = await runExperiment(file, {
      runsDir,
      builtins: builtinStages,
      sets: ["stages.encode.with.z_dtype=float32"],
    });
    assert.equal(full.status, "succeeded", JSON.stringify(full.stages));
    // Two Worker threads encoding episodes write the same bytes as the stage thread alone.
    const threaded = await runExperiment(file, {
      runsDir,
      builtins: builtinStages,
      sets: ["stages.encode.with.workers=2"],
    });
    assert.equal(threaded.stages[0].status, "ran", JSON.stringify(threaded.stages));
    for (const name of ["mu.npy", "logvar.npy", "initial_z.npy", "dones.npy", "index.json"]) {
      assert.deepEqual(
        await Deno.readFile(join(threaded.dir!, "encode", "series", name)),
        await Deno.readFile(join(half.dir!, "encode", "series", name)),
        name,
      );
    }

    const script = `
import sys, json, os, numpy as np
out = {}
for name, d in (("f2", sys.argv[1]), ("f4", sys.argv[2])):
    arrays = {k: np.load(os.path.join(d, k + ".npy")) for k in ("mu", "logvar", "actions", "rewards", "dones", "initial_z")}
    index = json.load(open(os.path.join(d, "index.json")))
    out[name] = {
        "dtypes": {k: a.dtype.str for k, a in arrays.items()},
        "shapes": {k: list(a.shape) for k, a in arrays.items()},
        "mu": arrays["mu"].astype(np.float64).tolist(),
        "logvar": arrays["logvar"].astype(np.float64).tolist(),
        "initial_z": arrays["initial_z"].astype(np.float64).tolist(),
        "actions": arrays["actions"].astype(np.float64).tolist(),
        "rewards": arrays["rewards"].astype(np.float64).tolist(),
        "dones": arrays["dones"].tolist(),
        "index": {k: index[k] for k in ("format", "z_size", "z_dtype", "episodes_count", "frames_count")},
        "seeds": [e["seed"] for e in index["episodes"]],
        "starts": [e["start"] for e in index["episodes"]],
    }
print(json.dumps(out))
`;
    const result = JSON.parse(
      await python(script, [
        join(half.dir!, "encode", "series"),
        join(full.dir!, "encode", "series"),
      ]),
    );
    const n = LENGTHS[0] + LENGTHS[1];
    for (const [name, dtype] of [["f2", "<f2"], ["f4", "<f4"]]) {
      const r = result[name];
      assert.deepEqual(r.dtypes, {
        mu: dtype,
        logvar: dtype,
        actions: "<f4",
        rewards: "<f4",
        dones: "|b1",
        initial_z: "<f4",
      });
      assert.deepEqual(r.shapes, {
        mu: [n, Z],
        logvar: [n, Z],
        actions: [n, 3],
        rewards: [n],
        dones: [n],
        initial_z: [2, 2, Z],
      });
      assert.deepEqual(r.index, {
        format: "ditto.series",
        z_size: Z,
        z_dtype: name,
        episodes_count: 2,
        frames_count: n,
      });
      assert.deepEqual(r.seeds, [100, 101]);
      assert.deepEqual(r.starts, [0, LENGTHS[0]]);
      assert.deepEqual(r.dones, [...Array(n - 1).fill(false), true]);
      assert.equal(r.rewards[3], Math.fround(3.2));
    }
    // mu and logvar are the VAE's encoding of each frame (float16: to 3 significant digits).
    const frames = (await Deno.readFile(join(rollouts, "frames.npy"))).subarray(-n * 64 * 64 * 3);
    const x = framesToTensor(frames, n);
    const { mu, logvar } = vae.encode(x);
    const want = { mu: await mu.array(), logvar: await logvar.array() };
    tf.dispose([x, mu, logvar]);
    vae.dispose();
    for (const [name, tolerance] of [["f4", 1e-5], ["f2", 2e-3]] as const) {
      for (const key of ["mu", "logvar"] as const) {
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < Z; j++) {
            const got = result[name][key][i][j], expected = want[key][i][j];
            assert.ok(
              Math.abs(got - expected) <= tolerance * Math.max(1, Math.abs(expected)),
              `${name} ${key}[${i}][${j}] = ${got}, expected ${expected}`,
            );
          }
        }
      }
      // The first frame of each episode, in float32.
      for (const [e, start] of [0, LENGTHS[0]].entries()) {
        for (let j = 0; j < Z; j++) {
          assert.ok(Math.abs(result[name].initial_z[e][0][j] - want.mu[start][j]) < 1e-5);
          assert.ok(Math.abs(result[name].initial_z[e][1][j] - want.logvar[start][j]) < 1e-5);
        }
      }
    }
    assert.deepEqual(result.f2.actions, result.f4.actions);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
