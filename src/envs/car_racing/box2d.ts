/**
 * Loads box2d-wasm (Box2D 2.4) under Deno: the UMD build, with the `.wasm` bytes handed
 * over through `wasmBinary` (the ES build expects `__dirname`). Only the slice of the API
 * that CarRacing uses is typed here.
 *
 * @module
 */

import Box2DFactory from "box2d-wasm/dist/umd/Box2D.simd.js";
import { createRequire } from "node:module";

/** A wrapped C++ object. */
export interface B2Object {
  readonly __b2?: never;
}

/** b2Vec2. */
export interface B2Vec2 extends B2Object {
  get_x(): number;
  get_y(): number;
  Set(x: number, y: number): void;
}

/** b2Body. */
export interface B2Body extends B2Object {
  CreateFixture(def: B2FixtureDef): B2Fixture;
  GetTransform(): B2Object;
  GetPosition(): B2Vec2;
  GetAngle(): number;
  GetLinearVelocity(): B2Vec2;
  GetAngularVelocity(): number;
  ApplyForceToCenter(force: B2Vec2, wake: boolean): void;
  GetMass(): number;
}

/** b2Fixture. */
export interface B2Fixture extends B2Object {
  GetBody(): B2Body;
}

/** b2Filter. */
export interface B2Filter extends B2Object {
  set_categoryBits(bits: number): void;
  set_maskBits(bits: number): void;
}

/** b2FixtureDef. */
export interface B2FixtureDef extends B2Object {
  set_shape(shape: B2Object): void;
  set_density(density: number): void;
  set_restitution(restitution: number): void;
  set_isSensor(sensor: boolean): void;
  get_filter(): B2Filter;
}

/** b2PolygonShape. */
export interface B2PolygonShape extends B2Object {
  Set(vertices: B2Vec2, count: number): void;
}

/** b2BodyDef. */
export interface B2BodyDef extends B2Object {
  set_type(type: number): void;
  set_position(p: B2Vec2): void;
  set_angle(angle: number): void;
}

/** b2RevoluteJointDef. */
export interface B2RevoluteJointDef extends B2Object {
  set_bodyA(body: B2Body): void;
  set_bodyB(body: B2Body): void;
  set_localAnchorA(p: B2Vec2): void;
  set_localAnchorB(p: B2Vec2): void;
  set_enableMotor(flag: boolean): void;
  set_enableLimit(flag: boolean): void;
  set_maxMotorTorque(torque: number): void;
  set_motorSpeed(speed: number): void;
  set_lowerAngle(angle: number): void;
  set_upperAngle(angle: number): void;
}

/** b2RevoluteJoint. */
export interface B2RevoluteJoint extends B2Object {
  GetJointAngle(): number;
  SetMotorSpeed(speed: number): void;
}

/** b2World. */
export interface B2World extends B2Object {
  CreateBody(def: B2BodyDef): B2Body;
  CreateJoint(def: B2RevoluteJointDef): B2Object;
  SetContactListener(listener: B2ContactListener): void;
  Step(dt: number, velocityIterations: number, positionIterations: number): void;
}

/** b2Contact. */
export interface B2Contact extends B2Object {
  GetFixtureA(): B2Fixture;
  GetFixtureB(): B2Fixture;
}

/** JSContactListener: its four callbacks receive raw pointers. */
export interface B2ContactListener extends B2Object {
  BeginContact: (contact: number) => void;
  EndContact: (contact: number) => void;
  PreSolve: (contact: number, manifold: number) => void;
  PostSolve: (contact: number, impulse: number) => void;
}

/** The loaded module (the part CarRacing uses). */
export interface Box2D {
  b2World: new (gravity: B2Vec2) => B2World;
  b2Vec2: new (x: number, y: number) => B2Vec2;
  b2BodyDef: new () => B2BodyDef;
  b2FixtureDef: new () => B2FixtureDef;
  b2PolygonShape: new () => B2PolygonShape;
  b2RevoluteJointDef: new () => B2RevoluteJointDef;
  b2RevoluteJoint: unknown;
  b2Joint: unknown;
  b2Body: unknown;
  b2Fixture: unknown;
  b2Transform: unknown;
  b2Filter: unknown;
  b2Contact: unknown;
  b2Vec2Class?: never;
  JSContactListener: new () => B2ContactListener;
  b2_dynamicBody: number;
  b2_staticBody: number;
  wrapPointer<T>(ptr: number, cls: unknown): T;
  castObject<T>(obj: B2Object, cls: unknown): T;
  getPointer(obj: B2Object): number;
  getCache(cls: unknown): Record<number, unknown>;
  destroy(obj: B2Object): void;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPF32: Float32Array;
}

/**
 * Remembers the JS wrappers that box2d-wasm caches per C++ pointer (every body, fixture,
 * joint, contact or vector it hands back is kept in a per-class table forever), so they can
 * be dropped when the world that owns them is destroyed. Without this, each episode would
 * leave ~600 stale wrappers behind.
 */
export class WrapperCache {
  #b: Box2D;
  #entries: [unknown, number][] = [];

  /** @param b The module. */
  constructor(b: Box2D) {
    this.#b = b;
  }

  /**
   * Records a wrapper and returns it.
   *
   * @param obj The wrapper.
   * @param cls Its class as the cache knows it.
   * @returns `obj`.
   */
  keep<T extends B2Object>(obj: T, cls: unknown): T {
    this.#entries.push([cls, this.#b.getPointer(obj)]);
    return obj;
  }

  /** Drops every recorded wrapper from box2d-wasm's caches. */
  purge(): void {
    for (const [cls, ptr] of this.#entries) delete this.#b.getCache(cls)[ptr];
    this.#entries = [];
  }
}

let loading: Promise<Box2D> | undefined;

/**
 * Loads box2d-wasm once per JS realm (each Worker loads its own copy).
 *
 * @returns The module.
 */
export function loadBox2D(): Promise<Box2D> {
  if (loading) return loading;
  loading = (async () => {
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve("box2d-wasm/dist/umd/Box2D.simd.wasm");
    const wasmBinary = await Deno.readFile(wasmPath);
    const factory = Box2DFactory as unknown as (opts: { wasmBinary: Uint8Array }) => Promise<Box2D>;
    return await factory({ wasmBinary });
  })();
  return loading;
}
