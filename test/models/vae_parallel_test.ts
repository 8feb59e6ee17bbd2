import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/models/backend/mod.ts";
import { ConvVAE } from "../../src/models/vae.ts";
import { ParallelVAETrainer } from "../../src/models/vae_parallel.ts";

Deno.test("ParallelVAETrainer computes full-batch gradients and encodings across a Worker", async () => {
  await initBackend({ backend: "wasm" });
  const x = tf.randomUniform([5, 64, 64, 3], 0, 1, "float32", 9) as tf.Tensor4D;
  const vae = new ConvVAE({ seed: 2 });
  const trainer = await ParallelVAETrainer.create(vae, { workers: 2 });
  try {
    const eps = vae.nextNoise(5);
    const reference = vae.gradients(x, eps);
    const split = await trainer.gradients(x, eps);
    assert.ok(Math.abs(reference.losses.loss - split.losses.loss) < 1e-4 * reference.losses.loss);
    reference.grads.forEach((g, k) => {
      const a = g.dataSync();
      const b = split.grads[k].dataSync();
      let scale = 1e-6;
      let diff = 0;
      a.forEach((v, j) => {
        scale = Math.max(scale, Math.abs(v));
        diff = Math.max(diff, Math.abs(v - b[j]));
      });
      assert.ok(diff < 1e-3 * scale, `gradient ${k} differs by ${diff} (scale ${scale})`);
    });
    tf.dispose([eps, ...reference.grads, ...split.grads]);
    const losses = await trainer.trainStep(x);
    assert.ok(Number.isFinite(losses.loss));
    assert.equal(vae.step, 1);
    // Encoding after the step must use the updated weights in the Worker too.
    const direct = vae.encode(x);
    const parallel = await trainer.encode(x);
    assert.deepEqual(parallel.mu.shape, [5, 32]);
    for (const key of ["mu", "logvar"] as const) {
      const a = direct[key].dataSync();
      const b = parallel[key].dataSync();
      a.forEach((v, j) => assert.ok(Math.abs(v - b[j]) < 1e-5, `${key}[${j}]: ${v} vs ${b[j]}`));
    }
    tf.dispose([direct.mu, direct.logvar, parallel.mu, parallel.logvar]);
  } finally {
    trainer.close();
    vae.dispose();
    x.dispose();
  }
});
