/**
 * Helper Worker of `ParallelEncoder` (vae_encoder_engine.ts): runs its own
 * {@linkcode EncoderEngine} on the share of each batch it is sent (methods:
 * {@linkcode EncoderWorkerMethods}).
 *
 * @module
 */
import { serveWorker } from "../pool/mod.ts";
import { EncoderEngine, type EncoderWorkerMethods } from "./vae_encoder_engine.ts";

let engine: EncoderEngine | undefined;

serveWorker<EncoderWorkerMethods>({
  init(weights) {
    engine = EncoderEngine.fromWeights(weights);
  },
  encode({ frames, batch }, { transfer }) {
    if (engine === undefined) throw new Error("the Worker was not initialised");
    const { mu, logvar } = engine.encode(frames, batch);
    transfer(mu.buffer, logvar.buffer);
    return { mu, logvar };
  },
});
