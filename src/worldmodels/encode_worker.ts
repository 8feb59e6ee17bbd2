/**
 * Worker of `worldmodels/encode` with `workers` > 1: loads the VAE, opens the rollouts and
 * encodes the episodes it is asked for (see encode_pool.ts).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { RolloutReader } from "../data/rollouts.ts";
import { initBackend } from "../models/backend/mod.ts";
import { ConvVAE } from "../models/vae.ts";
import { encodeFrames, type EncoderReply, type EncoderRequest } from "./encode_pool.ts";

let vae: ConvVAE | undefined;
let reader: RolloutReader | undefined;
let batchSize = 1;

function reply(message: EncoderReply, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

self.onmessage = async (event: MessageEvent<EncoderRequest>) => {
  const message = event.data;
  try {
    if (message.type === "init") {
      await initBackend({ backend: message.backend });
      vae = await ConvVAE.load(message.vae);
      reader = await RolloutReader.open(message.rollouts);
      batchSize = message.batchSize;
      reply({ type: "ready" });
      return;
    }
    if (vae === undefined || reader === undefined) {
      throw new Error("the Worker was not initialised");
    }
    const info = reader.episodes[message.episode];
    if (info === undefined) throw new RangeError(`no episode ${message.episode}`);
    const frames = await reader.readFrames(info.start, info.length);
    const { mu, logvar } = encodeFrames(vae, frames, { length: info.length, batchSize });
    reply({ type: "latents", episode: message.episode, mu, logvar }, [
      mu.buffer as ArrayBuffer,
      logvar.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    reply({ type: "error", message: error instanceof Error ? error.message : String(error) });
  }
};
