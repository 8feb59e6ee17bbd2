/**
 * Constants of CarRacing, gym v0 (gym 0.9.4, the version World Models used).
 * Units are Box2D world units, seconds and radians unless noted.
 *
 * @module
 */

/** Observation side length of gym's state image, pixels. */
export const STATE_W = 96;
/** Observation height of gym's state image, pixels. */
export const STATE_H = 96;
/** Logical window width of gym 0.9.x (later gym versions use 1000). */
export const WINDOW_W = 1200;
/** Logical window height of gym 0.9.x (later gym versions use 800). */
export const WINDOW_H = 1000;

/** Track scale. */
export const SCALE = 6.0;
/** Nominal track radius. */
export const TRACK_RAD = 900 / SCALE;
/** Half-size of the square playfield; leaving it ends the episode with -100. */
export const PLAYFIELD = 2000 / SCALE;
/** Physics and control rate, steps per second. */
export const FPS = 50;
/** Camera zoom factor (window pixels per unit = ZOOM * SCALE). */
export const ZOOM = 2.7;
/** Spacing of centre-line points. */
export const TRACK_DETAIL_STEP = 21 / SCALE;
/** Maximum heading change per centre-line point. */
export const TRACK_TURN_RATE = 0.31;
/** Half-width of the road. */
export const TRACK_WIDTH = 40 / SCALE;
/** Kerb width. */
export const BORDER = 8 / SCALE;
/** Consecutive same-direction bends needed for a kerb. */
export const BORDER_MIN_COUNT = 4;
/** Number of random checkpoints of a track. */
export const CHECKPOINTS = 12;
/** Maximum centre-line iterations per attempt. */
export const NO_FREEZE = 2500;

/** Car scale: car geometry is given in these units. */
export const SIZE = 0.02;
/** Engine power. */
export const ENGINE_POWER = 100000000 * SIZE * SIZE;
/** Wheel moment of inertia. */
export const WHEEL_MOMENT_OF_INERTIA = 4000 * SIZE * SIZE;
/** Tyre friction limit on road; grass gives 0.6 of it. */
export const FRICTION_LIMIT = 1000000 * SIZE * SIZE;
/** Wheel radius. */
export const WHEEL_R = 27;
/** Wheel half-width. */
export const WHEEL_W = 14;
/** Wheel centres in car units, order front-left, front-right, rear-left, rear-right. */
export const WHEELPOS: readonly (readonly [number, number])[] = [
  [-55, +80],
  [+55, +80],
  [-55, -82],
  [+55, -82],
];
/** The four convex hull fixtures of the car, in car units (+y forward). */
export const HULL_POLYS: readonly (readonly (readonly [number, number])[])[] = [
  [[-60, +130], [+60, +130], [+60, +110], [-60, +110]],
  [[-15, +120], [+15, +120], [+20, +20], [-20, +20]],
  [[+25, +20], [+50, -10], [+50, -40], [+20, -90], [-20, -90], [-50, -40], [-50, -10], [-25, +20]],
  [[-50, -120], [+50, -120], [+50, -90], [-50, -90]],
];
