import assert from "node:assert/strict";
import { initBackend } from "../../src/models/backend/mod.ts";
import { layersModelFlops, mdnRnnFlops, vaeFlops } from "../../src/models/flops.ts";
import { ConvVAE } from "../../src/models/vae.ts";
import { MdnRnn } from "../../src/models/mdn_rnn.ts";

Deno.test("vaeFlops counts the ConvVAE's multiply-adds layer by layer", async () => {
  await initBackend({ backend: "cpu" });
  const vae = new ConvVAE({ seed: 0 });
  // Encoder: conv 4x4 stride 2 to 31x31x32, 14x14x64, 6x6x128, 2x2x256; two dense 1,024 -> 32.
  const encoder = 31 * 31 * 32 * 48 + 14 * 14 * 64 * 512 + 6 * 6 * 128 * 1024 +
    2 * 2 * 256 * 2048 + 2 * 1024 * 32;
  // Decoder: dense 32 -> 1,024; each input position of a deconv meets every kernel tap.
  const decoder = 32 * 1024 + 1 * 1024 * 128 * 25 + 5 * 5 * 128 * 64 * 25 +
    13 * 13 * 64 * 32 * 36 + 30 * 30 * 32 * 3 * 36;
  assert.equal(layersModelFlops(vae.encoder), 2 * encoder);
  assert.equal(layersModelFlops(vae.decoder), 2 * decoder);
  assert.deepEqual(vaeFlops(vae), { encode: 2 * encoder, train: 6 * (encoder + decoder) });
  vae.dispose();
});

Deno.test("mdnRnnFlops counts the LSTM's and the head's products per timestep", () => {
  const rnn = new MdnRnn({ rewardHead: true }, { seed: 0 });
  // Input z 32 + action 3 + reward 1, 256 units, head 5 x 3 x 32 + 1.
  const step = 2 * (36 * 1024 + 256 * 1024 + 256 * 481);
  assert.deepEqual(mdnRnnFlops(rnn), { step, train: 3 * step });
});
