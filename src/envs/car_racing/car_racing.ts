/**
 * CarRacing, ported from gym v0 (gym 0.9.4, what World Models used) onto box2d-wasm, with
 * its own software renderer. The algorithm is gym's CarRacing-v0 environment and its car
 * dynamics (gym 0.9.4), followed step for step except where noted below.
 *
 * Deliberate differences from gym v0 (each is also marked "Differs from gym" where it lives):
 * - Random numbers: the env's own xoshiro128** stream (`Random.keyedSplitMix`, src/random/),
 *   not numpy's MT19937, so a seed gives a different track than in gym; the track
 *   distribution is the same.
 * - Physics: Box2D 2.4 (box2d-wasm) instead of pybox2d's 2.3; same call order and
 *   iteration counts, slightly different joint solver.
 * - A fresh b2World per reset, so an episode never depends on earlier ones.
 * - Actions are clipped to their ranges (gym clips only gas) and malformed actions throw;
 *   stepping after the episode ended throws; the 1,000-step limit (gym's TimeLimit wrapper)
 *   is built in as `truncated`, which is false when the same step terminates.
 * - Skid marks in `render()` are drawn as one 5-pixel quad per segment (GL wide lines,
 *   approximately); the score label is drawn with a blocky font, and only in `render()`.
 * - `pixels64` is a clean area average of the 96x96 frame's top 84 rows, without World
 *   Models' per-frame min-max stretch and uint8 wrap-around.
 *
 * @module
 */

import {
  type B2Contact,
  type B2ContactListener,
  type B2Vec2,
  type B2World,
  type Box2D,
  loadBox2D,
  WrapperCache,
} from "./box2d.ts";
import { Car } from "./car.ts";
import { FPS, PLAYFIELD, STATE_H, STATE_W } from "./constants.ts";
import { downsample64, Raster } from "./raster.ts";
import { COLORS, quadBounds, SceneDrawer, type SceneView, tileColor } from "./render.ts";
import { Random } from "../../random/mod.ts";
import { generateTrack, type Track, type TrackPoint } from "./track.ts";

/** Observation formats. */
export type ObservationKind = "pixels64" | "pixels96";

/** Options of {@link CarRacing.create}. */
export interface CarRacingOptions {
  /**
   * `pixels96`: gym's 96x96 state image. `pixels64`: its top 84 rows area-averaged to 64x64
   * (World Models' input, clean pipeline).
   * @default {"pixels64"}
   */
  observation?: ObservationKind;
  /**
   * Steps after which an episode is truncated (gym's TimeLimit).
   * @default {1000}
   */
  maxSteps?: number;
}

/** An action: [steer in [-1, 1], gas in [0, 1], brake in [0, 1]]. */
export type Action = ArrayLike<number>;

/** Episode counters reported with every observation. */
export interface StepInfo {
  /** Tiles visited so far. */
  tilesVisited: number;
  /** Tiles of the track. */
  tilesTotal: number;
  /** Steps taken since reset (the reset's own physics step is not counted). */
  step: number;
  /** Accumulated reward of gym's env (includes tiles touched during reset). */
  episodeReward: number;
}

/** Information returned by reset. */
export interface ResetInfo extends StepInfo {
  /** Track generation attempts for this track (1 = first attempt accepted). */
  trackAttempts: number;
}

/** Result of {@link CarRacing.reset}. */
export interface ResetResult {
  /** The first observation (H*W*3 RGB bytes, row 0 at the top). */
  observation: Uint8Array;
  /** Counters. */
  info: ResetInfo;
}

/** Result of {@link CarRacing.step}. */
export interface StepResult {
  /** The new observation (a fresh array each step). */
  observation: Uint8Array;
  /** Reward of this step. */
  reward: number;
  /** Every tile visited, or the car left the playfield (then reward is -100). */
  terminated: boolean;
  /** `maxSteps` reached without termination. */
  truncated: boolean;
  /** Counters. */
  info: StepInfo;
}

/** Dynamic state of one wheel. */
export interface WheelState {
  /** Position x. */
  x: number;
  /** Position y. */
  y: number;
  /** Box2D body angle. */
  angle: number;
  /** Spin rate. */
  omega: number;
  /** Rotation angle (drawing only). */
  phase: number;
  /** Current throttle. */
  gas: number;
  /** Current brake input. */
  brake: number;
  /** Steering target. */
  steer: number;
  /** Revolute joint angle relative to the hull. */
  jointAngle: number;
  /** Number of road tiles under the wheel (0 = on grass). */
  tiles: number;
}

/** A snapshot of the simulation. */
export interface CarRacingState {
  /** Hull pose and velocity; the car points along (-sin angle, cos angle). */
  hull: { x: number; y: number; angle: number; vx: number; vy: number; angularVelocity: number };
  /** Wheels: front-left, front-right, rear-left, rear-right. */
  wheels: WheelState[];
  /** Tiles visited. */
  tilesVisited: number;
  /** Tiles of the track. */
  tilesTotal: number;
  /** Steps since reset. */
  step: number;
  /** Seconds simulated since reset, including the reset's own step. */
  time: number;
}

const DT = 1 / FPS;

/**
 * The CarRacing environment (gym v0 physics, rewards and rendering).
 *
 * @example Usage
 * ```ts
 * import { CarRacing } from "./mod.ts";
 * const env = await CarRacing.create({ observation: "pixels64" });
 * let { observation } = env.reset({ seed: 7 });
 * const { reward, terminated, truncated } = env.step([0, 1, 0]);
 * env.close();
 * ```
 */
export class CarRacing {
  /** Observation format. */
  readonly observationKind: ObservationKind;
  /** Observation shape [height, width, channels]. */
  readonly observationShape: readonly [number, number, number];
  /** Truncation limit. */
  readonly maxSteps: number;

  #b: Box2D;
  #listener: B2ContactListener;
  #world: B2World | undefined;
  #car: Car | undefined;
  #rng: Random | undefined;
  #trackData: Track | undefined;
  #tileByFixture = new Map<number, number>();
  #wheelByFixture = new Map<number, number>();
  #visited = new Uint8Array(0);
  #visitedCount = 0;
  #reward = 0;
  #prevReward = 0;
  #t = 0;
  #steps = 0;
  #ended = false;
  #closed = false;
  #scene: SceneView;
  #drawer = new SceneDrawer();
  #state96 = new Raster(STATE_W, STATE_H);
  #videoRaster: Raster | undefined;
  #wrappers: WrapperCache;

  private constructor(b: Box2D, options: CarRacingOptions) {
    const observation = options.observation ?? "pixels64";
    if (observation !== "pixels64" && observation !== "pixels96") {
      throw new TypeError(`Cannot create CarRacing: unknown observation "${observation}"`);
    }
    const maxSteps = options.maxSteps ?? 1000;
    if (!Number.isSafeInteger(maxSteps) || maxSteps < 1) {
      throw new RangeError(
        `Cannot create CarRacing: maxSteps ${maxSteps} is not a positive integer`,
      );
    }
    this.observationKind = observation;
    this.observationShape = observation === "pixels64" ? [64, 64, 3] : [96, 96, 3];
    this.maxSteps = maxSteps;
    this.#b = b;
    this.#wrappers = new WrapperCache(b);
    this.#listener = new b.JSContactListener();
    this.#listener.BeginContact = (ptr: number) => this.#contact(ptr, true);
    this.#listener.EndContact = (ptr: number) => this.#contact(ptr, false);
    this.#listener.PreSolve = () => {};
    this.#listener.PostSolve = () => {};
    this.#scene = {
      t: 0,
      tiles: new Float64Array(0),
      tileColors: new Uint32Array(0),
      border: new Uint8Array(0),
      kerbs: new Float64Array(0),
      tileBounds: new Float64Array(0),
      kerbBounds: new Float64Array(0),
      hull: new Float64Array(8),
      wheels: new Float64Array(24),
      steerAngle: 0,
      score: 0,
      particles: [],
    };
  }

  /**
   * Loads box2d-wasm (once per realm) and creates an environment. Call {@link reset} next.
   *
   * @param options Observation format and step limit.
   * @returns The environment.
   */
  static async create(options: CarRacingOptions = {}): Promise<CarRacing> {
    const b = await loadBox2D();
    return new CarRacing(b, options);
  }

  /** The track's centre line, one point per tile (empty before the first reset). */
  get track(): readonly TrackPoint[] {
    return this.#trackData?.points ?? [];
  }

  /**
   * Starts an episode on a new track. With a seed, the environment's generator restarts
   * from it; without one, the stream continues (the first reset needs a seed).
   *
   * @param options `seed`: a non-negative safe integer.
   * @returns The first observation and counters.
   * @throws {RangeError} If no seed was ever given or the seed is invalid.
   */
  reset(options: { seed?: number } = {}): ResetResult {
    this.#assertOpen("reset");
    if (options.seed !== undefined) this.#rng = Random.keyedSplitMix(options.seed);
    if (!this.#rng) throw new RangeError("Cannot reset: the first reset needs a seed");
    this.#destroyWorld();
    const b = this.#b;
    const track = generateTrack(this.#rng);
    this.#trackData = track;
    const n = track.points.length;

    // Differs from gym: a fresh b2World per episode (gym reuses one and destroys the
    // bodies). Same physics; it makes every episode independent of the previous ones.
    const gravity = new b.b2Vec2(0, 0);
    const world = new b.b2World(gravity);
    b.destroy(gravity);
    world.SetContactListener(this.#listener);
    this.#world = world;
    this.#tileByFixture.clear();
    this.#wheelByFixture.clear();
    this.#createTiles(world, track);

    const start = track.points[0];
    const car = new Car(b, world, { angle: start.beta, x: start.x, y: start.y }, this.#wrappers);
    this.#car = car;
    car.wheelFixtures.forEach((ptr, i) => this.#wheelByFixture.set(ptr, i));
    this.#scene.particles = car.particles;

    this.#visited = new Uint8Array(n);
    this.#visitedCount = 0;
    this.#reward = 0;
    this.#prevReward = 0;
    this.#t = 0;
    this.#steps = 0;
    this.#ended = false;
    const scene = this.#scene;
    scene.tiles = track.tiles;
    scene.kerbs = track.kerbs;
    scene.border = track.border;
    scene.tileBounds = quadBounds(track.tiles);
    scene.kerbBounds = quadBounds(track.kerbs);
    scene.tileColors = new Uint32Array(n);
    for (let i = 0; i < n; i++) scene.tileColors[i] = tileColor(i);

    // gym's reset ends with step(None): physics runs once with no input, reward 0.
    this.#physicsStep();
    return {
      observation: this.#observe(),
      info: { ...this.#info(), trackAttempts: track.attempts },
    };
  }

  /**
   * Advances one step (1/50 s).
   *
   * @param action [steer, gas, brake]; values outside [-1, 1], [0, 1], [0, 1] are clipped.
   * @returns Observation, reward, termination flags and counters.
   * @throws {TypeError} If the action is not 3 numbers.
   * @throws {RangeError} If a component is NaN.
   * @throws {Error} Before reset or after the episode ended.
   */
  step(action: Action): StepResult {
    this.#assertOpen("step");
    const [steer, gas, brake] = validateAction(action);
    if (!this.#car) throw new Error("Cannot step: call reset() first");
    if (this.#ended) throw new Error("Cannot step: the episode has ended; call reset()");
    const car = this.#car;
    car.steer(-steer);
    car.gas(gas);
    car.brake(brake);
    this.#physicsStep();
    this.#steps++;

    this.#reward -= 0.1;
    let reward = this.#reward - this.#prevReward;
    this.#prevReward = this.#reward;
    let terminated = false;
    if (this.#visitedCount === this.#visited.length) terminated = true;
    const hull = this.#scene.hull;
    if (Math.abs(hull[0]) > PLAYFIELD || Math.abs(hull[1]) > PLAYFIELD) {
      terminated = true;
      reward = -100;
    }
    // Differs from gym: the TimeLimit wrapper's cap is built in (truncated, not done).
    const truncated = !terminated && this.#steps >= this.maxSteps;
    this.#ended = terminated || truncated;
    return { observation: this.#observe(), reward, terminated, truncated, info: this.#info() };
  }

  /**
   * A snapshot of the car and the episode counters.
   *
   * @returns Plain numbers (Box2D's float32 values widened exactly).
   */
  state(): CarRacingState {
    this.#assertOpen("read the state");
    const car = this.#car;
    if (!car) throw new Error("Cannot read the state: call reset() first");
    const h = this.#scene.hull;
    const wh = this.#scene.wheels;
    return {
      hull: { x: h[0], y: h[1], angle: h[7], vx: h[4], vy: h[5], angularVelocity: h[6] },
      wheels: car.wheels.map((w, i) => ({
        x: wh[i * 6],
        y: wh[i * 6 + 1],
        angle: w.body.GetAngle(),
        omega: w.omega,
        phase: w.phase,
        gas: w.gas,
        brake: w.brake,
        steer: w.steer,
        jointAngle: w.joint.GetJointAngle(),
        tiles: w.tiles,
      })),
      tilesVisited: this.#visitedCount,
      tilesTotal: this.#visited.length,
      step: this.#steps,
      time: this.#t,
    };
  }

  /**
   * Renders the current scene at any size with the same camera and squeeze as the state
   * image, plus skid marks and the score label, like gym's `rgb_array` mode (600x400 there).
   *
   * @param options Frame size in pixels.
   * @returns width*height*3 RGB bytes, row 0 at the top.
   */
  render(options: { width?: number; height?: number } = {}): Uint8Array {
    this.#assertOpen("render");
    if (!this.#car) throw new Error("Cannot render: call reset() first");
    const width = options.width ?? 600;
    const height = options.height ?? 400;
    for (const [name, v] of [["width", width], ["height", height]] as const) {
      if (!Number.isSafeInteger(v) || v < 1 || v > 8192) {
        throw new RangeError(`Cannot render: ${name} ${v} is not an integer in [1, 8192]`);
      }
    }
    let raster = this.#videoRaster;
    if (!raster || raster.width !== width || raster.height !== height) {
      raster = new Raster(width, height);
      this.#videoRaster = raster;
    }
    this.#scene.score = this.#reward;
    this.#drawer.draw(raster, this.#scene, { particles: true, score: true });
    return raster.toRgb();
  }

  /** Frees the Box2D world; the environment cannot be used afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#destroyWorld();
    this.#b.destroy(this.#listener);
    this.#closed = true;
  }

  #assertOpen(what: string): void {
    if (this.#closed) throw new Error(`Cannot ${what}: the environment is closed`);
  }

  #destroyWorld(): void {
    this.#car?.dispose();
    this.#car = undefined;
    if (this.#world) this.#b.destroy(this.#world);
    this.#world = undefined;
    this.#wrappers.purge();
  }

  #createTiles(world: B2World, track: Track): void {
    const b = this.#b;
    const bodyDef = new b.b2BodyDef();
    const fixtureDef = new b.b2FixtureDef();
    const shape = new b.b2PolygonShape();
    const verts = b._malloc(4 * 8);
    const vertsObj = this.#wrappers.keep(b.wrapPointer<B2Vec2>(verts, b.b2Vec2), b.b2Vec2);
    fixtureDef.set_isSensor(true);
    const n = track.points.length;
    for (let i = 0; i < n; i++) {
      const heap = b.HEAPF32;
      for (let k = 0; k < 8; k++) heap[(verts >> 2) + k] = track.tiles[i * 8 + k];
      shape.Set(vertsObj, 4);
      fixtureDef.set_shape(shape);
      const body = this.#wrappers.keep(world.CreateBody(bodyDef), b.b2Body);
      const fixture = this.#wrappers.keep(body.CreateFixture(fixtureDef), b.b2Fixture);
      this.#tileByFixture.set(b.getPointer(fixture), i);
    }
    b._free(verts);
    b.destroy(shape);
    b.destroy(fixtureDef);
    b.destroy(bodyDef);
  }

  /** gym's contact listener: recolour the tile; wheels record tiles and earn rewards. */
  #contact(ptr: number, begin: boolean): void {
    const b = this.#b;
    const contact = b.wrapPointer<B2Contact>(ptr, b.b2Contact);
    const fa = b.getPointer(contact.GetFixtureA());
    const fb = b.getPointer(contact.GetFixtureB());
    // Contacts come and go; do not let box2d-wasm keep a wrapper for each one.
    delete b.getCache(b.b2Contact)[ptr];
    let tile = this.#tileByFixture.get(fb);
    let other = fa;
    if (tile === undefined) {
      tile = this.#tileByFixture.get(fa);
      other = fb;
    }
    if (tile === undefined) return;
    // v0 recolours in place on begin and end, for wheels and hull alike.
    this.#scene.tileColors[tile] = COLORS.road;
    const wheel = this.#wheelByFixture.get(other);
    if (wheel === undefined || !this.#car) return;
    const w = this.#car.wheels[wheel];
    if (begin) {
      w.tiles++;
      if (!this.#visited[tile]) {
        this.#visited[tile] = 1;
        this.#reward += 1000 / this.#visited.length;
        this.#visitedCount++;
      }
    } else {
      w.tiles--;
    }
  }

  #physicsStep(): void {
    const car = this.#car!;
    car.step(DT);
    this.#world!.Step(DT, 6 * 30, 2 * 30);
    this.#t += DT;
    // Copy what rendering and termination need out of Box2D's memory.
    const heap = this.#b.HEAPF32;
    const s = this.#scene;
    const h = s.hull;
    const xf = car.hullXf;
    h[0] = heap[xf];
    h[1] = heap[xf + 1];
    h[2] = heap[xf + 2];
    h[3] = heap[xf + 3];
    h[4] = heap[car.hullVel];
    h[5] = heap[car.hullVel + 1];
    h[6] = car.hull.GetAngularVelocity();
    h[7] = car.hull.GetAngle();
    for (let i = 0; i < 4; i++) {
      const w = car.wheels[i];
      const o = i * 6;
      s.wheels[o] = heap[w.xf];
      s.wheels[o + 1] = heap[w.xf + 1];
      s.wheels[o + 2] = heap[w.xf + 2];
      s.wheels[o + 3] = heap[w.xf + 3];
      s.wheels[o + 4] = w.phase;
      s.wheels[o + 5] = w.omega;
    }
    s.steerAngle = car.wheels[0].joint.GetJointAngle();
    s.t = this.#t;
  }

  #observe(): Uint8Array {
    this.#drawer.draw(this.#state96, this.#scene);
    if (this.observationKind === "pixels96") return this.#state96.toRgb();
    // Differs from World Models' pipeline: a clean area average, no min-max stretch or wrap.
    return downsample64(this.#state96.pixels, new Uint8Array(64 * 64 * 3));
  }

  #info(): StepInfo {
    return {
      tilesVisited: this.#visitedCount,
      tilesTotal: this.#visited.length,
      step: this.#steps,
      episodeReward: this.#reward,
    };
  }
}

const ACTION_NAMES = ["steer", "gas", "brake"];
const ACTION_LOW = [-1, 0, 0];

/**
 * Checks and clips an action.
 *
 * @param action [steer, gas, brake].
 * @returns The clipped action.
 */
export function validateAction(action: Action): [number, number, number] {
  // Differs from gym: gym clips only gas and lets NaN or short actions into the world.
  if (action === null || typeof action !== "object" || action.length !== 3) {
    const got = action === null || typeof action !== "object"
      ? typeof action
      : `length ${action.length}`;
    throw new TypeError(`Cannot step: action must be [steer, gas, brake], got ${got}`);
  }
  const out: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const v = action[i];
    if (typeof v !== "number") {
      throw new TypeError(`Cannot step: action ${ACTION_NAMES[i]} is ${typeof v}, not a number`);
    }
    if (Number.isNaN(v)) throw new RangeError(`Cannot step: action ${ACTION_NAMES[i]} is NaN`);
    out[i] = Math.min(Math.max(v, ACTION_LOW[i]), 1);
  }
  return out;
}
