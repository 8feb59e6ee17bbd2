/**
 * A batch of CarRacing environments stepped in parallel across Deno Workers (one per core
 * by default). Environments are split into contiguous slices, one slice per Worker; all
 * batched data lives in one SharedArrayBuffer, so a step costs one message per Worker.
 *
 * Episode end: there is no auto-reset. When an environment terminates or is truncated it is
 * frozen until the next {@link VectorEnv.reset}: later steps ignore its action, report
 * reward 0, and repeat its final observation, flags and counters. `done[i]` tells which
 * environments have ended, so a rollout loop can run until every entry is 1.
 *
 * @module
 */

import { type ObservationKind, validateAction } from "../car_racing/mod.ts";
import { createPool, type WorkerPool } from "../../pool/mod.ts";
import { type SharedLayout, SharedViews, type VectorWorkerMethods } from "./protocol.ts";

/** Options of {@link VectorEnv.create}. */
export interface VectorEnvOptions {
  /** Number of environments. */
  n: number;
  /**
   * Number of Workers (at most `n`).
   * @default {navigator.hardwareConcurrency}
   */
  workers?: number;
  /**
   * Observation format of every environment.
   * @default {"pixels64"}
   */
  observation?: ObservationKind;
  /**
   * Truncation limit of every environment.
   * @default {1000}
   */
  maxSteps?: number;
}

/** Batched per-environment counters. */
export interface VectorInfo {
  /** Tiles visited per environment. */
  tilesVisited: Int32Array;
  /** Tiles of each environment's track. */
  tilesTotal: Int32Array;
  /** Steps taken since reset per environment. */
  steps: Int32Array;
  /** gym's accumulated reward per environment. */
  episodeReward: Float64Array;
}

/** Result of {@link VectorEnv.reset}. */
export interface VectorResetResult {
  /** n observations back to back (n * H * W * 3 bytes); a copy owned by the caller. */
  observations: Uint8Array;
  /** Counters. */
  info: VectorInfo;
}

/** Result of {@link VectorEnv.step}. */
export interface VectorStepResult extends VectorResetResult {
  /** Rewards of this step (0 for environments that had already ended). */
  rewards: Float64Array;
  /** 1 where the episode terminated (sticky until reset). */
  terminated: Uint8Array;
  /** 1 where the episode was truncated (sticky until reset). */
  truncated: Uint8Array;
  /** 1 where the episode has ended (terminated or truncated). */
  done: Uint8Array;
}

/**
 * N CarRacing environments across Workers.
 *
 * @example Usage
 * ```ts
 * import { VectorEnv } from "./mod.ts";
 * const venv = await VectorEnv.create({ n: 8, workers: 2, observation: "pixels64" });
 * await venv.reset([0, 1, 2, 3, 4, 5, 6, 7]);
 * const actions = new Float64Array(8 * 3).fill(0.5);
 * const { observations, rewards, done } = await venv.step(actions);
 * await venv.close();
 * ```
 */
export class VectorEnv {
  /** Number of environments. */
  readonly n: number;
  /** Number of Workers. */
  readonly workers: number;
  /** Bytes per observation. */
  readonly observationSize: number;
  /** Observation shape [height, width, channels]. */
  readonly observationShape: readonly [number, number, number];
  #pool: WorkerPool<VectorWorkerMethods>;
  #views: SharedViews;
  #busy = false;
  #resetDone = false;
  #closed = false;

  private constructor(
    n: number,
    pool: WorkerPool<VectorWorkerMethods>,
    views: SharedViews,
    shape: readonly [number, number, number],
  ) {
    this.n = n;
    this.workers = pool.size;
    this.#pool = pool;
    this.#views = views;
    this.observationShape = shape;
    this.observationSize = shape[0] * shape[1] * shape[2];
  }

  /**
   * Starts the Workers and creates the environments.
   *
   * @param options Sizes and environment options.
   * @returns The vector environment; call {@link reset} next.
   * @throws {RangeError} On a bad `n` or `workers`.
   */
  static async create(options: VectorEnvOptions): Promise<VectorEnv> {
    const n = options.n;
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(`Cannot create VectorEnv: n ${n} is not a positive integer`);
    }
    const requested = options.workers ?? navigator.hardwareConcurrency ?? 1;
    if (!Number.isSafeInteger(requested) || requested < 1) {
      throw new RangeError(
        `Cannot create VectorEnv: workers ${requested} is not a positive integer`,
      );
    }
    const count = Math.min(requested, n);
    const observation = options.observation ?? "pixels64";
    const shape: [number, number, number] = observation === "pixels96" ? [96, 96, 3] : [64, 64, 3];
    if (observation !== "pixels64" && observation !== "pixels96") {
      throw new TypeError(`Cannot create VectorEnv: unknown observation "${observation}"`);
    }
    const layout: SharedLayout = { n, obsSize: shape[0] * shape[1] * shape[2] };
    const buffer = new SharedArrayBuffer(SharedViews.byteLength(layout));
    const maxSteps = options.maxSteps ?? 1000;
    const pool = await createPool<VectorWorkerMethods>(
      new URL("./worker.ts", import.meta.url),
      (k) => {
        const [start, end] = slice(n, count, k);
        return { layout, buffer, start, count: end - start, observation, maxSteps };
      },
      count,
      { context: (k) => `Worker ${k} failed` },
    );
    return new VectorEnv(n, pool, new SharedViews(layout, buffer), shape);
  }

  /**
   * Resets every environment.
   *
   * @param seeds One seed per environment; `undefined` continues that environment's stream
   *   (its first reset needs a seed).
   * @returns First observations and counters.
   */
  async reset(seeds: readonly (number | undefined)[]): Promise<VectorResetResult> {
    if (seeds.length !== this.n) {
      throw new RangeError(`Cannot reset: got ${seeds.length} seeds for ${this.n} environments`);
    }
    await this.#all((k) => {
      const [start, end] = slice(this.n, this.workers, k);
      return this.#pool.request("reset", seeds.slice(start, end).map((s) => s ?? null), {
        worker: k,
      });
    });
    this.#resetDone = true;
    return { observations: this.#views.obs.slice(), info: this.#info() };
  }

  /**
   * Steps every environment that has not ended.
   *
   * @param actions n*3 numbers (steer, gas, brake per env) or n arrays of 3; clipped like
   *   {@link CarRacing.step}.
   * @returns Batched observations, rewards, flags and counters (copies).
   * @throws {TypeError | RangeError} On a malformed action (nothing is stepped).
   */
  async step(actions: ArrayLike<number> | readonly ArrayLike<number>[]): Promise<VectorStepResult> {
    if (!this.#resetDone) throw new Error("Cannot step: call reset() first");
    const a = this.#views.actions;
    const flat = actions.length === this.n * 3 && typeof actions[0] === "number";
    if (!flat && actions.length !== this.n) {
      throw new TypeError(
        `Cannot step: expected ${this.n * 3} numbers or ${this.n} actions, got ${actions.length}`,
      );
    }
    const staged = new Float64Array(this.n * 3);
    for (let i = 0; i < this.n; i++) {
      const action = flat
        ? [actions[i * 3], actions[i * 3 + 1], actions[i * 3 + 2]] as ArrayLike<number>
        : (actions as readonly ArrayLike<number>[])[i];
      staged.set(validateAction(action as ArrayLike<number>), i * 3);
    }
    a.set(staged);
    await this.#all((k) => this.#pool.request("step", undefined, { worker: k }));
    const v = this.#views;
    const done = new Uint8Array(this.n);
    for (let i = 0; i < this.n; i++) done[i] = v.terminated[i] | v.truncated[i];
    return {
      observations: v.obs.slice(),
      rewards: v.rewards.slice(),
      terminated: v.terminated.slice(),
      truncated: v.truncated.slice(),
      done,
      info: this.#info(),
    };
  }

  /** Closes the environments and terminates the Workers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      if (!this.#busy) {
        await this.#all((k) => this.#pool.request("close", undefined, { worker: k }));
      }
    } finally {
      this.#pool.close();
      this.#closed = true;
    }
  }

  #info(): VectorInfo {
    const n = this.n;
    const info = this.#views.info;
    const out: VectorInfo = {
      tilesVisited: new Int32Array(n),
      tilesTotal: new Int32Array(n),
      steps: new Int32Array(n),
      episodeReward: new Float64Array(n),
    };
    for (let i = 0; i < n; i++) {
      out.tilesVisited[i] = info[i * 4];
      out.tilesTotal[i] = info[i * 4 + 1];
      out.steps[i] = info[i * 4 + 2];
      out.episodeReward[i] = info[i * 4 + 3];
    }
    return out;
  }

  async #all(call: (k: number) => Promise<void>): Promise<void> {
    if (this.#closed) throw new Error("Cannot use VectorEnv: it is closed");
    if (this.#busy) throw new Error("Cannot use VectorEnv: a reset or step is still running");
    this.#busy = true;
    try {
      const results = await Promise.allSettled(
        Array.from({ length: this.workers }, (_, k) => call(k)),
      );
      const failed = results.find((r) => r.status === "rejected") as
        | PromiseRejectedResult
        | undefined;
      if (failed) throw failed.reason;
    } finally {
      this.#busy = false;
    }
  }
}

/** Environments [start, end) of Worker `k` of `workers`: contiguous slices, sizes within 1. */
function slice(n: number, workers: number, k: number): [number, number] {
  const per = Math.floor(n / workers);
  const extra = n % workers;
  const start = k * per + Math.min(k, extra);
  return [start, start + per + (k < extra ? 1 : 0)];
}
