import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  BackendUnavailableError,
  initBackend,
  parseBackendName,
} from "../../../src/models/backend/mod.ts";

Deno.test("initBackend() starts the wasm backend with SIMD and the fast kernels", async () => {
  const info = await initBackend({ backend: "wasm" });
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(info.name, "wasm");
  assert.equal(info.version, "4.22.0");
  assert.equal(info.simd, true);
  assert.equal(info.threads, 1);
  assert.equal(info.fastKernels, true);
  assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm") !== undefined);
  // The description goes into run.json.
  assert.deepEqual(JSON.parse(JSON.stringify(info)), info);
});

Deno.test("initBackend() switches to the cpu backend and back", async () => {
  const cpu = await initBackend({ backend: "cpu" });
  assert.equal(tf.getBackend(), "cpu");
  assert.equal(cpu.name, "cpu");
  assert.equal(cpu.threads, 1);
  await initBackend();
  assert.equal(tf.getBackend(), "wasm");
});

Deno.test("initBackend() explains how to install the tensorflow backend when it is missing", async () => {
  await assert.rejects(() => initBackend({ backend: "tensorflow" }), (error: Error) => {
    assert.ok(error instanceof BackendUnavailableError);
    assert.match(error.message, /^Cannot load the 'tensorflow' backend/);
    assert.match(error.message, /deno install --allow-scripts=npm:@tensorflow\/tfjs-node/);
    return true;
  });
  assert.equal(tf.getBackend(), "wasm");
});

Deno.test("parseBackendName() rejects an unknown backend", () => {
  assert.equal(parseBackendName("cpu"), "cpu");
  assert.throws(() => parseBackendName("webgl"), {
    name: "TypeError",
    message: /Cannot use backend 'webgl'/,
  });
});

Deno.test("initBackend() works inside a Worker", async () => {
  const worker = new Worker(new URL("./backend_worker.ts", import.meta.url).href, {
    type: "module",
  });
  try {
    const reply = await new Promise<{ name: string; sum: number }>((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
    });
    assert.equal(reply.name, "wasm");
    assert.equal(reply.sum, 6);
  } finally {
    worker.terminate();
  }
});
