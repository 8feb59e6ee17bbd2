import assert from "node:assert/strict";
import {
  type MdnRnnDims,
  MdnRnnEngine,
  MdnRnnStepper,
  type MdnRnnWeights,
} from "../../../src/models/mdn_rnn_engine/mod.ts";
import { EncoderEngine } from "../../../src/models/vae_encoder_engine.ts";
import { VaeEngine, vaeWeightShapes } from "../../../src/models/vae_engine/mod.ts";

/** Deterministic values in [-scale, scale). */
function noise(n: number, seed: number, scale = 0.3): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = ((s >>> 8) / (1 << 24) * 2 - 1) * scale;
  }
  return out;
}

function weightsFor(dims: MdnRnnDims, outputs: number, seed: number): MdnRnnWeights {
  const { inputSize: I, hidden: H } = dims;
  return {
    kernel: noise(I * 4 * H, seed),
    recurrentKernel: noise(H * 4 * H, seed + 1),
    bias: noise(4 * H, seed + 2),
    headKernel: noise(H * outputs, seed + 3),
    headBias: noise(outputs, seed + 4),
  };
}

/** The shapes the engines are built with: the book's, the tiny experiment's, and odd ones. */
const SHAPES: MdnRnnDims[] = [
  { inputSize: 35, hidden: 256, zSize: 32, mixtures: 5, rewardHead: false },
  { inputSize: 36, hidden: 256, zSize: 32, mixtures: 5, rewardHead: true },
  { inputSize: 11, hidden: 16, zSize: 8, mixtures: 2, rewardHead: false },
  { inputSize: 7, hidden: 8, zSize: 3, mixtures: 2, rewardHead: true },
  { inputSize: 13, hidden: 40, zSize: 12, mixtures: 1, rewardHead: true },
  { inputSize: 9, hidden: 24, zSize: 5, mixtures: 3, rewardHead: false },
];

Deno.test("every module the SIMD engines emit validates, and runs on odd batch sizes", () => {
  // Record the bytes of every module compiled while the engines are built. Each test file
  // runs in its own isolate, so no module was cached before this test.
  const Original = WebAssembly.Module;
  const emitted: Uint8Array<ArrayBuffer>[] = [];
  class Recording extends Original {
    constructor(bytes: BufferSource) {
      emitted.push(new Uint8Array(bytes as Uint8Array<ArrayBuffer>));
      super(bytes);
    }
  }
  Object.defineProperty(WebAssembly, "Module", { value: Recording, configurable: true });
  const kinds = new Set<string>();
  try {
    for (const [i, dims] of SHAPES.entries()) {
      const engine = new MdnRnnEngine(dims);
      const stepper = new MdnRnnStepper(dims);
      // Training builds the mixture-loss kernel only when zSize is a multiple of 4.
      kinds.add(`${dims.hidden}:${dims.zSize % 4 === 0 ? `${dims.zSize}x${dims.mixtures}` : ""}`);
      kinds.add(`${dims.hidden}:`);
      const O = engine.outputs;
      const w = weightsFor(dims, O, 10 * i);
      const [B, T] = [3, 2];
      const out = engine.compute(w, {
        input: noise(B * T * dims.inputSize, i + 100, 1),
        targetZ: noise(B * T * dims.zSize, i + 200, 1),
        targetReward: dims.rewardHead ? new Float32Array(B * T).fill(1) : undefined,
        batch: B,
        seq: T,
      });
      assert.ok(Number.isFinite(out.loss) && out.loss > 0, `loss of ${JSON.stringify(dims)}`);
      assert.equal(out.grads.recurrentKernel.length, dims.hidden * 4 * dims.hidden);
      const n = 5;
      const h = new Float32Array(n * dims.hidden), c = new Float32Array(n * dims.hidden);
      const step = stepper.step(w, 0, noise(n * dims.inputSize, i + 300, 1), {
        h,
        c,
        batch: n,
      }, true);
      assert.ok(step.state.h.every((v) => Math.abs(v) < 1 && v !== 0));
      assert.equal(step.mixture?.mu.length, n * dims.zSize * dims.mixtures);
    }
    for (const z of [32, 5]) {
      const convs = [[3, 32], [32, 64], [64, 128], [128, 256]].map(([cin, cout], i) => ({
        kernel: noise(16 * cin * cout, i, 0.05),
        bias: noise(cout, i + 10, 0.05),
      }));
      const head = (seed: number) => ({
        kernel: noise(1024 * z, seed, 0.05),
        bias: noise(z, seed),
      });
      const encoder = EncoderEngine.fromWeights({ convs, mu: head(20), logvar: head(21) });
      const frames = Uint8Array.from(noise(3 * 64 * 64 * 3, z), (v) => (v + 1) * 127);
      const { mu } = encoder.encode(frames, 3);
      assert.ok(mu.length === 3 * z && mu.every(Number.isFinite) && mu.some((v) => v !== 0));
    }
    kinds.add("encoder");
    const vae = new VaeEngine(5, 0.5);
    vae.setWeights(
      vaeWeightShapes(5).map((s, i) => noise(s.reduce((a, b) => a * b, 1), 40 + i, 0.05)),
    );
    const { grads } = vae.gradients(noise(64 * 64 * 3, 50, 1).map(Math.abs), noise(5, 51), 1, 1);
    assert.ok(grads.every((g) => g.every(Number.isFinite)) && grads[0].some((v) => v !== 0));
    kinds.add("vae_engine");
  } finally {
    Object.defineProperty(WebAssembly, "Module", { value: Original, configurable: true });
  }
  assert.equal(emitted.length, kinds.size);
  for (const [i, bytes] of emitted.entries()) {
    assert.equal(WebAssembly.validate(bytes), true, `module ${i} of ${emitted.length}`);
  }
});
