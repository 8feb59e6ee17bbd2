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

/** Messages an encoder Worker accepts. */
export type EncoderRequest =
  | { type: "init"; backend: BackendName; vae: string; rollouts: string; batchSize: number }
  | { type: "episode"; episode: number };

/** Messages an encoder Worker sends. */
export type EncoderReply =
  | { type: "ready" }
  | { type: "latents"; episode: number; mu: Float32Array; logvar: Float32Array }
  | { type: "error"; message: string };

function request(worker: Worker, message: EncoderRequest): Promise<EncoderReply> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<EncoderReply>) => {
      if (event.data.type === "error") {
        reject(new Error(`Cannot encode in a Worker: ${event.data.message}`));
      } else resolve(event.data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`Cannot encode in a Worker: it failed: ${event.message}`));
    };
    worker.postMessage(message);
  });
}

/** Workers encoding whole episodes, each handed out round-robin and run one at a time. */
export class EncoderPool {
  readonly #workers: Worker[];
  readonly #queues: Promise<unknown>[];

  private constructor(workers: Worker[]) {
    this.#workers = workers;
    this.#queues = workers.map(() => Promise.resolve());
  }

  /** Starts `count` Workers, each loading the VAE and opening the rollouts. */
  static async start(
    count: number,
    options: { backend: BackendName; vae: string; rollouts: string; batchSize: number },
  ): Promise<EncoderPool> {
    const url = new URL("./encode_worker.ts", import.meta.url).href;
    const workers = Array.from({ length: count }, () => new Worker(url, { type: "module" }));
    try {
      await Promise.all(workers.map((w) => request(w, { type: "init", ...options })));
    } catch (error) {
      for (const worker of workers) worker.terminate();
      throw error;
    }
    return new EncoderPool(workers);
  }

  /** Number of Workers. */
  get size(): number {
    return this.#workers.length;
  }

  /** Encodes episode `episode` in the next Worker's queue. */
  encode(episode: number): Promise<EpisodeLatents> {
    const i = episode % this.#workers.length;
    const result = this.#queues[i].then(() =>
      request(this.#workers[i], { type: "episode", episode })
    ).then((reply) => {
      if (reply.type !== "latents" || reply.episode !== episode) {
        throw new Error(`Cannot encode episode ${episode}: unexpected reply ${reply.type}`);
      }
      return { mu: reply.mu, logvar: reply.logvar };
    });
    this.#queues[i] = result.catch(() => {});
    return result;
  }

  /** Stops the Workers. */
  close(): void {
    for (const worker of this.#workers) worker.terminate();
  }
}
