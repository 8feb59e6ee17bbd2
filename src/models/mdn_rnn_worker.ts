/**
 * Worker side of the MDN-RNN's data-parallel training: computes the loss and gradients of one
 * shard of a batch with its own {@linkcode MdnRnnEngine} and posts them back (buffers
 * transferred, not copied). Methods: {@linkcode ShardMethods}.
 *
 * @module
 */
import { serveWorker } from "../pool/mod.ts";
import type { ShardMethods } from "./mdn_rnn.ts";
import { MdnRnnEngine } from "./mdn_rnn_engine/mod.ts";

let engine: MdnRnnEngine | undefined;
let engineKey = "";

serveWorker<ShardMethods>({
  shard({ dims, weights, batch }, { transfer }) {
    const key = JSON.stringify(dims);
    if (!engine || key !== engineKey) {
      engine = new MdnRnnEngine(dims);
      engineKey = key;
    }
    const out = engine.compute(weights, batch);
    const g = out.grads;
    for (const key of ["kernel", "recurrentKernel", "bias", "headKernel", "headBias"] as const) {
      transfer(g[key].buffer as ArrayBuffer);
    }
    return out;
  },
});
