/**
 * A simple scripted driver (pure pursuit on the centre line) for demos and tests: it shows
 * the car completing laps without a trained policy. Not part of gym.
 *
 * @module
 */

import type { CarRacing } from "./car_racing.ts";

/** Options of {@link TrackFollower}. */
export interface TrackFollowerOptions {
  /**
   * Cruising speed in units per second.
   * @default {35}
   */
  speed?: number;
  /**
   * How many centre-line points ahead to aim at.
   * @default {5}
   */
  lookahead?: number;
}

/** Steers towards a point a few tiles ahead on the centre line and holds a speed. */
export class TrackFollower {
  #speed: number;
  #lookahead: number;

  /**
   * Creates a driver.
   *
   * @param options Cruising speed and look-ahead.
   */
  constructor(options: TrackFollowerOptions = {}) {
    this.#speed = options.speed ?? 35;
    this.#lookahead = options.lookahead ?? 5;
  }

  /**
   * The next action for `env`'s current state.
   *
   * @param env A reset environment.
   * @returns [steer, gas, brake].
   */
  act(env: CarRacing): [number, number, number] {
    const { hull } = env.state();
    const track = env.track;
    let best = 0;
    let bestD = Infinity;
    for (let i = 0; i < track.length; i++) {
      const d = (track[i].x - hull.x) ** 2 + (track[i].y - hull.y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    const target = track[(best + this.#lookahead) % track.length];
    const hx = -Math.sin(hull.angle);
    const hy = Math.cos(hull.angle);
    const dx = target.x - hull.x;
    const dy = target.y - hull.y;
    // Positive error: target to the left; positive steer action turns right.
    const err = Math.atan2(hx * dy - hy * dx, hx * dx + hy * dy);
    const steer = Math.max(-1, Math.min(1, -2.5 * err));
    const speed = Math.hypot(hull.vx, hull.vy);
    const want = this.#speed * (1 - Math.min(0.5, Math.abs(err)));
    const gas = speed < want ? 0.6 : 0;
    const brake = speed > want + 8 ? 0.4 : 0;
    return [steer, gas, brake];
  }
}
