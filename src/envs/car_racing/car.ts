/**
 * The car of gym's `car_dynamics.py` on box2d-wasm: a hull with four fixtures, four wheels
 * on revolute joints with steering motors, and the per-wheel tyre force model.
 *
 * Body state is read straight from Box2D's memory: `GetTransform()` and
 * `GetLinearVelocity()` return references into the body, so their addresses stay valid for
 * the body's life and one Float32Array read replaces several wasm calls per step.
 *
 * @module
 */

import type { B2Body, B2RevoluteJoint, B2Vec2, B2World, Box2D, WrapperCache } from "./box2d.ts";
import {
  ENGINE_POWER,
  FRICTION_LIMIT,
  HULL_POLYS,
  SIZE,
  WHEEL_MOMENT_OF_INERTIA,
  WHEEL_R,
  WHEEL_W,
  WHEELPOS,
} from "./constants.ts";

/** One wheel's dynamic state (gym keeps these as attributes on the wheel body). */
export interface Wheel {
  /** The wheel body. */
  readonly body: B2Body;
  /** Its joint to the hull. */
  readonly joint: B2RevoluteJoint;
  /** Float index of the body transform (x, y, sin, cos) in HEAPF32. */
  readonly xf: number;
  /** Float index of the body linear velocity (vx, vy) in HEAPF32. */
  readonly vel: number;
  /** Engine throttle, rear wheels only. */
  gas: number;
  /** Brake input. */
  brake: number;
  /** Target steering angle (front wheels). */
  steer: number;
  /** Wheel rotation angle, used only for drawing. */
  phase: number;
  /** Wheel spin rate. */
  omega: number;
  /** Number of road tiles the wheel touches (gym keeps a set; the count is what matters). */
  tiles: number;
  /** Joint angle after the last physics step. */
  jointAngle: number;
  /** Where a skid began (x, y), until it becomes a particle. */
  skidStart: [number, number] | null;
  /** The skid mark this wheel is extending. */
  skidParticle: SkidMark | null;
}

/** A skid mark: a polyline drawn in videos (never in observations). */
export interface SkidMark {
  /** Made on grass (mud colour) or on road (black). */
  readonly grass: boolean;
  /** Points x0, y0, x1, y1, ... */
  readonly points: number[];
}

/** gym keeps at most this many skid marks, and this many points per mark. */
const MAX_SKID = 30;

/** The wheel's collision category: wheels collide with tiles only. */
const WHEEL_CATEGORY = 0x0020;
/** Radius of the wheels in world units. */
export const WHEEL_RADIUS = WHEEL_R * SIZE;
/** Force gain of the tyre model ("random coefficient to cut oscillations"). */
const FORCE_GAIN = 205000 * SIZE * SIZE;
/** Brake rate, radians per second per step per unit brake. */
const BRAKE_FORCE = 15;

/** The car: hull, wheels and the tyre force model. */
export class Car {
  /** The hull body. */
  readonly hull: B2Body;
  /** The wheels, front-left, front-right, rear-left, rear-right. */
  readonly wheels: Wheel[] = [];
  /** Float index of the hull transform (x, y, sin, cos) in HEAPF32. */
  readonly hullXf: number;
  /** Float index of the hull linear velocity (vx, vy) followed by its angular velocity. */
  readonly hullVel: number;
  /** Fixture pointers of the wheels, in wheel order. */
  readonly wheelFixtures: number[] = [];
  /** Fixture pointers of the hull. */
  readonly hullFixtures: number[] = [];
  /** Skid marks, oldest first (at most 30). */
  readonly particles: SkidMark[] = [];
  #b: Box2D;
  #force: B2Vec2;
  #forceIdx: number;

  /**
   * Builds the car in `world` at the given pose, as gym's `Car.__init__`.
   *
   * @param b The Box2D module.
   * @param world The world.
   * @param pose Spawn angle and position.
   * @param cache Records the wrappers box2d-wasm creates, to drop them with the world.
   */
  constructor(
    b: Box2D,
    world: B2World,
    pose: { angle: number; x: number; y: number },
    cache: WrapperCache,
  ) {
    this.#b = b;
    const verts = b._malloc(8 * 8);
    const vertsObj = cache.keep(b.wrapPointer<B2Vec2>(verts, b.b2Vec2), b.b2Vec2);
    const setShape = (points: readonly (readonly [number, number])[]) => {
      const shape = new b.b2PolygonShape();
      const heap = b.HEAPF32;
      for (let i = 0; i < points.length; i++) {
        heap[(verts >> 2) + 2 * i] = points[i][0] * SIZE;
        heap[(verts >> 2) + 2 * i + 1] = points[i][1] * SIZE;
      }
      shape.Set(vertsObj, points.length);
      return shape;
    };
    const bodyDef = new b.b2BodyDef();
    bodyDef.set_type(b.b2_dynamicBody);
    const pos = new b.b2Vec2(pose.x, pose.y);
    bodyDef.set_position(pos);
    bodyDef.set_angle(pose.angle);
    this.hull = cache.keep(world.CreateBody(bodyDef), b.b2Body);
    const fixtureDef = new b.b2FixtureDef();
    for (const poly of HULL_POLYS) {
      const shape = setShape(poly);
      fixtureDef.set_shape(shape);
      fixtureDef.set_density(1.0);
      this.hullFixtures.push(
        b.getPointer(cache.keep(this.hull.CreateFixture(fixtureDef), b.b2Fixture)),
      );
      b.destroy(shape);
    }
    this.hullXf = b.getPointer(cache.keep(this.hull.GetTransform(), b.b2Transform)) >> 2;
    this.hullVel = b.getPointer(cache.keep(this.hull.GetLinearVelocity(), b.b2Vec2)) >> 2;

    const wheelPoly: [number, number][] = [
      [-WHEEL_W, +WHEEL_R],
      [+WHEEL_W, +WHEEL_R],
      [+WHEEL_W, -WHEEL_R],
      [-WHEEL_W, -WHEEL_R],
    ];
    const wheelShape = setShape(wheelPoly);
    const anchorA = new b.b2Vec2(0, 0);
    const anchorB = new b.b2Vec2(0, 0);
    for (const [wx, wy] of WHEELPOS) {
      // gym places the wheels without rotating their offsets by the spawn angle; the joint
      // solver snaps them into place during the first step.
      pos.Set(pose.x + wx * SIZE, pose.y + wy * SIZE);
      bodyDef.set_position(pos);
      const body = cache.keep(world.CreateBody(bodyDef), b.b2Body);
      fixtureDef.set_shape(wheelShape);
      fixtureDef.set_density(0.1);
      fixtureDef.set_restitution(0.0);
      const filter = cache.keep(fixtureDef.get_filter(), b.b2Filter);
      filter.set_categoryBits(WHEEL_CATEGORY);
      filter.set_maskBits(0x0001);
      this.wheelFixtures.push(
        b.getPointer(cache.keep(body.CreateFixture(fixtureDef), b.b2Fixture)),
      );
      const jd = new b.b2RevoluteJointDef();
      jd.set_bodyA(this.hull);
      jd.set_bodyB(body);
      anchorA.Set(wx * SIZE, wy * SIZE);
      jd.set_localAnchorA(anchorA);
      jd.set_localAnchorB(anchorB);
      jd.set_enableMotor(true);
      jd.set_enableLimit(true);
      jd.set_maxMotorTorque(180 * 900 * SIZE * SIZE);
      jd.set_motorSpeed(0);
      jd.set_lowerAngle(-0.4);
      jd.set_upperAngle(+0.4);
      const base = cache.keep(world.CreateJoint(jd), b.b2Joint);
      const joint = cache.keep(
        b.castObject<B2RevoluteJoint>(base, b.b2RevoluteJoint),
        b.b2RevoluteJoint,
      );
      b.destroy(jd);
      this.wheels.push({
        body,
        joint,
        xf: b.getPointer(cache.keep(body.GetTransform(), b.b2Transform)) >> 2,
        vel: b.getPointer(cache.keep(body.GetLinearVelocity(), b.b2Vec2)) >> 2,
        gas: 0,
        brake: 0,
        steer: 0,
        phase: 0,
        omega: 0,
        tiles: 0,
        jointAngle: 0,
        skidStart: null,
        skidParticle: null,
      });
    }
    b.destroy(anchorA);
    b.destroy(anchorB);
    b.destroy(wheelShape);
    b.destroy(fixtureDef);
    b.destroy(pos);
    b.destroy(bodyDef);
    b._free(verts);
    this.#force = new b.b2Vec2(0, 0);
    this.#forceIdx = b.getPointer(this.#force) >> 2;
  }

  /** Sets the front wheels' target steering angle (gym passes -action[0]). */
  steer(s: number): void {
    this.wheels[0].steer = s;
    this.wheels[1].steer = s;
  }

  /** Throttle of the rear wheels: rises by at most 0.1 per step, drops at once. */
  gas(g: number): void {
    const gas = Math.min(Math.max(g, 0), 1);
    for (let i = 2; i < 4; i++) {
      const w = this.wheels[i];
      let diff = gas - w.gas;
      if (diff > 0.1) diff = 0.1;
      w.gas += diff;
    }
  }

  /** Brake input of every wheel (0.9 or more locks the wheels). */
  brake(b: number): void {
    for (const w of this.wheels) w.brake = b;
  }

  /**
   * Applies steering motors and tyre forces for one step, as gym's `Car.step(dt)`.
   *
   * @param dt Time step in seconds.
   */
  step(dt: number): void {
    const heap = this.#b.HEAPF32;
    for (const w of this.wheels) {
      const angle = w.joint.GetJointAngle();
      const err = w.steer - angle;
      w.joint.SetMotorSpeed(Math.sign(err) * Math.min(50.0 * Math.abs(err), 3.0));

      // gym: max(FRICTION_LIMIT * road_friction) over touched tiles (all 1.0), grass 0.6.
      const grass = w.tiles === 0;
      const frictionLimit = grass ? FRICTION_LIMIT * 0.6 : FRICTION_LIMIT;

      const s = heap[w.xf + 2];
      const c = heap[w.xf + 3];
      // forw = R * (0, 1), side = R * (1, 0)
      const forwX = -s;
      const forwY = c;
      const sideX = c;
      const sideY = s;
      const vx = heap[w.vel];
      const vy = heap[w.vel + 1];
      const vf = forwX * vx + forwY * vy;
      const vs = sideX * vx + sideY * vy;

      w.omega += (dt * ENGINE_POWER * w.gas) / WHEEL_MOMENT_OF_INERTIA / (Math.abs(w.omega) + 5.0);
      if (w.brake >= 0.9) {
        w.omega = 0;
      } else if (w.brake > 0) {
        const dir = -Math.sign(w.omega);
        let val = BRAKE_FORCE * w.brake;
        if (Math.abs(val) > Math.abs(w.omega)) val = Math.abs(w.omega);
        w.omega += dir * val;
      }
      w.phase += w.omega * dt;

      const vr = w.omega * WHEEL_RADIUS;
      let fForce = (-vf + vr) * FORCE_GAIN;
      let pForce = -vs * FORCE_GAIN;
      const force = Math.sqrt(fForce * fForce + pForce * pForce);
      // Skid marks: only drawn in videos, never in observations or physics.
      if (Math.abs(force) > 2.0 * frictionLimit) {
        const x = heap[w.xf];
        const y = heap[w.xf + 1];
        const p = w.skidParticle;
        if (p && p.grass === grass && p.points.length / 2 < MAX_SKID) {
          p.points.push(x, y);
        } else if (w.skidStart === null) {
          w.skidStart = [x, y];
        } else {
          const mark = { grass, points: [w.skidStart[0], w.skidStart[1], x, y] };
          this.particles.push(mark);
          while (this.particles.length > MAX_SKID) this.particles.shift();
          w.skidParticle = mark;
          w.skidStart = null;
        }
      } else {
        w.skidStart = null;
        w.skidParticle = null;
      }
      if (Math.abs(force) > frictionLimit) {
        fForce = (fForce / force) * frictionLimit;
        pForce = (pForce / force) * frictionLimit;
      }
      w.omega -= (dt * fForce * WHEEL_RADIUS) / WHEEL_MOMENT_OF_INERTIA;

      heap[this.#forceIdx] = pForce * sideX + fForce * forwX;
      heap[this.#forceIdx + 1] = pForce * sideY + fForce * forwY;
      w.body.ApplyForceToCenter(this.#force, true);
    }
  }

  /** Reads the joint angles after a physics step (used by the indicator bar and state). */
  readJoints(): void {
    for (const w of this.wheels) w.jointAngle = w.joint.GetJointAngle();
  }

  /** Frees the JS-owned helper vector (the bodies go with their world). */
  dispose(): void {
    this.#b.destroy(this.#force);
  }
}
