import assert from "node:assert/strict";
import { Controller, controllerActions } from "../../src/models/controller.ts";
import { createRng } from "../../src/random/mod.ts";

Deno.test("Controller has the original 867 (zh) and 99 (z) parameters", () => {
  assert.equal(new Controller().parameterCount, 867);
  assert.equal(new Controller({ inputs: "z" }).parameterCount, 99);
  assert.equal(new Controller({ inputs: "zh", zSize: 64, hidden: 512 }).parameterCount, 1731);
});

Deno.test("Controller.act() maps biases-first parameters to steer, gas and brake", () => {
  const c = new Controller({ inputs: "z", zSize: 2 });
  // biases (0.5, -0.3, 0.8), then W [2, 3] row-major.
  c.setParameters([0.5, -0.3, 0.8, 1, 2, -1, 0.5, 0, 3]);
  const z = Float32Array.from([0.2, -0.4, 0, 0]);
  const a = c.act(z);
  const raw0 = [0.5 + 0.2 * 1 - 0.4 * 0.5, -0.3 + 0.2 * 2, 0.8 - 0.2 - 0.4 * 3];
  assert.ok(Math.abs(a[0] - Math.tanh(raw0[0])) < 1e-6);
  assert.ok(Math.abs(a[1] - (Math.tanh(raw0[1]) + 1) / 2) < 1e-6);
  assert.equal(a[2], 0, "a negative brake is clipped to 0");
  // Second row: z = 0, so the raw outputs are the biases.
  assert.ok(Math.abs(a[3] - Math.tanh(0.5)) < 1e-6);
  assert.ok(Math.abs(a[5] - Math.tanh(0.8)) < 1e-6, "a positive brake stays tanh");
  const book = new Controller({ inputs: "z", zSize: 2, brake: "shift" });
  book.setParameters(c.getParameters());
  assert.ok(Math.abs(book.act(z)[2] - (Math.tanh(raw0[2]) + 1) / 2) < 1e-6);
});

Deno.test("Controller outputs stay in range and use h in zh mode", () => {
  const rng = createRng(1);
  const c = new Controller();
  c.setParameters(Float32Array.from({ length: 867 }, () => rng.normal() * 3));
  const rows = 50;
  const z = Float32Array.from({ length: rows * 32 }, () => rng.normal());
  const h = Float32Array.from({ length: rows * 256 }, () => rng.nextFloat() * 2 - 1);
  const a = c.act(z, h);
  for (let r = 0; r < rows; r++) {
    assert.ok(a[r * 3] >= -1 && a[r * 3] <= 1);
    assert.ok(a[r * 3 + 1] >= 0 && a[r * 3 + 1] <= 1);
    assert.ok(a[r * 3 + 2] >= 0 && a[r * 3 + 2] <= 1);
  }
  const h2 = h.map((v) => -v);
  assert.notDeepEqual(c.act(z, h2), a, "h changes the actions");
  assert.throws(() => c.act(z), /h has undefined values/);
});

Deno.test("controllerActions() evaluates one parameter vector per row like Controller.act()", () => {
  const rng = createRng(2);
  const rows = 4;
  const cs = Array.from({ length: rows }, () => {
    const c = new Controller();
    c.setParameters(Float32Array.from({ length: 867 }, () => rng.normal()));
    return c;
  });
  const z = Float32Array.from({ length: rows * 32 }, () => rng.normal());
  const h = Float32Array.from({ length: rows * 256 }, () => rng.normal());
  const params = new Float32Array(rows * 867);
  cs.forEach((c, i) => params.set(c.getParameters(), i * 867));
  const all = controllerActions(params, { z, h, rows });
  for (let i = 0; i < rows; i++) {
    const one = cs[i].act(z.slice(i * 32, i * 32 + 32), h.slice(i * 256, i * 256 + 256));
    assert.deepEqual(all.slice(i * 3, i * 3 + 3), one);
  }
});

Deno.test("Controller save/load round-trips and rejects a file of the wrong shape", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = new Controller();
    const rng = createRng(3);
    c.setParameters(Float32Array.from({ length: 867 }, () => rng.normal()));
    await c.save(`${dir}/c.json`);
    const back = await Controller.load(`${dir}/c.json`, { inputs: "zh" });
    assert.deepEqual(back.getParameters(), c.getParameters());
    await assert.rejects(
      () => Controller.load(`${dir}/c.json`, { inputs: "z" }),
      /Cannot load controller .*inputs is zh, expected z/,
    );
    const json = c.toJSON();
    json.parameters = json.parameters.slice(0, 99);
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify(json));
    await assert.rejects(
      () => Controller.load(`${dir}/bad.json`),
      (e: Error) => e instanceof RangeError && /99 parameters, expected 867/.test(e.message),
    );
    assert.throws(() => c.setParameters(new Float32Array(10)), /got 10 values, expected 867/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
