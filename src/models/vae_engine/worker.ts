/**
 * Helper Worker of {@linkcode VaeTrainer} (trainer.ts): its own {@linkcode VaeEngine}, reading
 * the trainer's shared parameters at every request (methods:
 * {@linkcode VaeEngineWorkerMethods}).
 *
 * @module
 */
import { serveWorker } from "../../pool/mod.ts";
import { VaeEngine } from "./train.ts";
import { parameterViews, shardGradients, type VaeEngineWorkerMethods } from "./trainer.ts";

let state: { engine: VaeEngine; weights: Float32Array[] } | undefined;

serveWorker<VaeEngineWorkerMethods>({
  init({ parameters, zSize, klTolerance }) {
    state = {
      engine: new VaeEngine(zSize, klTolerance),
      weights: parameterViews(parameters, zSize),
    };
  },
  shards({ x, eps, bounds, scale }, { transfer }) {
    if (state === undefined) throw new Error("the Worker was not initialised");
    state.engine.setWeights(state.weights);
    const parts = shardGradients(state.engine, x, eps, bounds, scale);
    for (const part of parts) transfer(...part.grads.map((g) => g.buffer));
    return parts;
  },
});
