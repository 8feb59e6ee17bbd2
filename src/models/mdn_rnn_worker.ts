/**
 * Worker side of the MDN-RNN's data-parallel training: computes the loss and gradients of one
 * shard of a batch with its own {@linkcode MdnRnnEngine} and posts them back (buffers
 * transferred, not copied).
 *
 * @module
 */
import {
  type MdnRnnBatch,
  type MdnRnnDims,
  MdnRnnEngine,
  type MdnRnnWeights,
} from "./mdn_rnn_engine/mod.ts";

/** A request to the worker. */
export interface ShardRequest {
  /** Network sizes (the engine is rebuilt when they change). */
  dims: MdnRnnDims;
  /** Current weights. */
  weights: MdnRnnWeights;
  /** The shard. */
  batch: MdnRnnBatch;
}

let engine: MdnRnnEngine | undefined;
let engineKey = "";

// deno-lint-ignore no-explicit-any
const scope = self as any;
scope.onmessage = (event: MessageEvent<ShardRequest>) => {
  const { dims, weights, batch } = event.data;
  try {
    const key = JSON.stringify(dims);
    if (!engine || key !== engineKey) {
      engine = new MdnRnnEngine(dims);
      engineKey = key;
    }
    const out = engine.compute(weights, batch);
    const g = out.grads;
    scope.postMessage(out, [
      g.kernel.buffer,
      g.recurrentKernel.buffer,
      g.bias.buffer,
      g.headKernel.buffer,
      g.headBias.buffer,
    ]);
  } catch (error) {
    scope.postMessage({ error: String((error as Error)?.stack ?? error) });
  }
};
