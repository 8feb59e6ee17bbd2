/**
 * Helper Worker of {@linkcode ParallelEncoder}: runs its own {@linkcode EncoderEngine} on the
 * share of each batch it is sent.
 *
 * @module
 */
import { EncoderEngine, type EncoderWeights } from "./vae_encoder_engine.ts";

const scope = self as unknown as {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
};
let engine: EncoderEngine | undefined;

scope.onmessage = (event: MessageEvent) => {
  const message = event.data;
  try {
    if (message.type === "init") {
      engine = EncoderEngine.fromWeights(message.weights as EncoderWeights);
      scope.postMessage({ type: "ready" });
    } else if (message.type === "encode" && engine !== undefined) {
      const { mu, logvar } = engine.encode(message.frames as Uint8Array, message.batch);
      scope.postMessage({ type: "encoded", mu, logvar }, [mu.buffer, logvar.buffer]);
    } else {
      throw new Error(`unexpected message ${message.type}`);
    }
  } catch (error) {
    scope.postMessage({ type: "error", message: String(error) });
  }
};
