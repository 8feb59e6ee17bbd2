/**
 * Worker of `worldmodels/encode` with `workers` > 1: loads the VAE, opens the rollouts and
 * encodes the episodes it is asked for (methods: {@linkcode EncoderMethods}).
 *
 * @module
 */
import { RolloutReader } from "../data/rollouts.ts";
import { initBackend } from "../models/backend/mod.ts";
import { ConvVAE } from "../models/vae.ts";
import { serveWorker } from "../pool/mod.ts";
import { encodeFrames, type EncoderMethods } from "./encode_pool.ts";

let vae: ConvVAE | undefined;
let reader: RolloutReader | undefined;
let batchSize = 1;

serveWorker<EncoderMethods>({
  async init(setup) {
    await initBackend({ backend: setup.backend });
    vae = await ConvVAE.load(setup.vae);
    reader = await RolloutReader.open(setup.rollouts);
    batchSize = setup.batchSize;
  },
  async episode(episode, { transfer }) {
    if (vae === undefined || reader === undefined) {
      throw new Error("the Worker was not initialised");
    }
    const info = reader.episodes[episode];
    if (info === undefined) throw new RangeError(`no episode ${episode}`);
    const frames = await reader.readFrames(info.start, info.length);
    const { mu, logvar } = encodeFrames(vae, frames, { length: info.length, batchSize });
    transfer(mu.buffer as ArrayBuffer, logvar.buffer as ArrayBuffer);
    return { mu, logvar };
  },
});
