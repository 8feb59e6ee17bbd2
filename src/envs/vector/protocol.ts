/**
 * Worker methods and shared-memory layout between {@link VectorEnv} and its Workers.
 *
 * @module
 */

import type { ObservationKind, StepInfo } from "../car_racing/mod.ts";

/** Sizes of the shared arrays for `n` environments. */
export interface SharedLayout {
  /** Number of environments. */
  n: number;
  /** Bytes of one observation. */
  obsSize: number;
}

/** What a Worker is set up with: its slice of the environments and their options. */
export interface VectorWorkerInit {
  /** Sizes of the shared arrays. */
  layout: SharedLayout;
  /** The shared memory. */
  buffer: SharedArrayBuffer;
  /** First environment of the slice. */
  start: number;
  /** Environments in the slice. */
  count: number;
  /** Observation format. */
  observation: ObservationKind;
  /** Truncation limit. */
  maxSteps: number;
}

/** The methods of a {@link VectorEnv} Worker; all data goes through the shared memory. */
export type VectorWorkerMethods = {
  init: { payload: VectorWorkerInit; result: void };
  reset: { payload: (number | null)[]; result: void };
  step: { payload: undefined; result: void };
  close: { payload: undefined; result: void };
};

/** Typed views over the one SharedArrayBuffer that holds all batched data. */
export class SharedViews {
  /** The layout. */
  readonly layout: SharedLayout;
  /** Actions, 3 per env (float64). */
  readonly actions: Float64Array;
  /** Rewards of the last step. */
  readonly rewards: Float64Array;
  /** Counters per env: tilesVisited, tilesTotal, step, episodeReward. */
  readonly info: Float64Array;
  /** 1 where the episode terminated. */
  readonly terminated: Uint8Array;
  /** 1 where the episode was truncated. */
  readonly truncated: Uint8Array;
  /** Observations, `obsSize` bytes per env. */
  readonly obs: Uint8Array;

  /**
   * Lays the views out over `buffer`.
   *
   * @param layout Sizes.
   * @param buffer Shared memory of {@link SharedViews.byteLength} bytes.
   */
  constructor(layout: SharedLayout, buffer: SharedArrayBuffer) {
    const n = layout.n;
    this.layout = layout;
    let off = 0;
    this.actions = new Float64Array(buffer, off, n * 3);
    off += n * 3 * 8;
    this.rewards = new Float64Array(buffer, off, n);
    off += n * 8;
    this.info = new Float64Array(buffer, off, n * 4);
    off += n * 4 * 8;
    this.terminated = new Uint8Array(buffer, off, n);
    off += n;
    this.truncated = new Uint8Array(buffer, off, n);
    off += n;
    this.obs = new Uint8Array(buffer, off, n * layout.obsSize);
  }

  /** Bytes needed for `layout`. */
  static byteLength(layout: SharedLayout): number {
    return layout.n * (3 * 8 + 8 + 4 * 8 + 2) + layout.n * layout.obsSize;
  }

  /** Stores env `i`'s counters. */
  writeInfo(i: number, info: StepInfo): void {
    this.info[i * 4] = info.tilesVisited;
    this.info[i * 4 + 1] = info.tilesTotal;
    this.info[i * 4 + 2] = info.step;
    this.info[i * 4 + 3] = info.episodeReward;
  }
}
