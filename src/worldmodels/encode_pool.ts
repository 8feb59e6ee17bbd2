/**
 * Episode encoding for `worldmodels/encode`: the batched encoder pass over one episode's frames,
 * and a pool of Workers that each load the VAE and the rollouts and encode whole episodes. An
 * episode is always cut into the same batches, so its latents do not depend on the thread.
 *
 * @module
 */
import type { BackendName } from "../models/backend/mod.ts";
import type { ConvVAE } from "../models/vae.ts";
import { encodeFrames as encodeWithEngine } from "../models/vae_encode.ts";
import { createPool, type WorkerPool } from "../pool/mod.ts";

/** The latents of one episode: `length * zSize` values each. */
export interface EpisodeLatents {
  /** Encoder means. */
  mu: Float32Array;
  /** Encoder log-variances. */
  logvar: Float32Array;
}

/** Encodes `length` uint8 frames in batches of `batchSize` frames. */
export function encodeFrames(
  vae: ConvVAE,
  frames: Uint8Array,
  options: { length: number; batchSize: number },
): EpisodeLatents {
  const { length, batchSize } = options;
  const z = vae.zSize;
  const frameSize = frames.length / Math.max(length, 1);
  const mu = new Float32Array(length * z);
  const logvar = new Float32Array(length * z);
  for (let start = 0; start < length; start += batchSize) {
    const n = Math.min(batchSize, length - start);
    const out = encodeWithEngine(
      vae,
      frames.subarray(start * frameSize, (start + n) * frameSize),
      n,
    );
    mu.set(out.mu, start * z);
    logvar.set(out.logvar, start * z);
  }
  return { mu, logvar };
}

/** What an encoder Worker loads. */
export interface EncoderSetup {
  /** tfjs backend of the Worker. */
  backend: BackendName;
  /** Directory of the VAE. */
  vae: string;
  /** Directory of the rollouts. */
  rollouts: string;
  /** Frames encoded at once. */
  batchSize: number;
}

/** The methods of an encoder Worker (see encode_worker.ts): `episode` encodes one episode. */
export type EncoderMethods = {
  init: { payload: EncoderSetup; result: void };
  episode: { payload: number; result: EpisodeLatents };
};

/** Workers encoding whole episodes, each handed out round-robin and run one at a time. */
export class EncoderPool {
  readonly #workers: WorkerPool<EncoderMethods>;

  private constructor(workers: WorkerPool<EncoderMethods>) {
    this.#workers = workers;
  }

  /** Starts `count` Workers, each loading the VAE and opening the rollouts. */
  static async start(count: number, options: EncoderSetup): Promise<EncoderPool> {
    const url = new URL("./encode_worker.ts", import.meta.url);
    return new EncoderPool(
      await createPool<EncoderMethods>(url, options, count, {
        context: "Cannot encode in a Worker",
      }),
    );
  }

  /** Number of Workers. */
  get size(): number {
    return this.#workers.size;
  }

  /** Encodes episode `episode` in the queue of Worker `episode` mod size. */
  encode(episode: number): Promise<EpisodeLatents> {
    return this.#workers.request("episode", episode, { worker: episode % this.size });
  }

  /** Stops the Workers. */
  close(): void {
    this.#workers.close();
  }
}
