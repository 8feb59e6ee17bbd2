/**
 * A small seeded random number generator whose whole state can be saved and restored, so that a
 * restored CMA-ES draws exactly the candidates an uninterrupted run would have drawn.
 *
 * The generator is xoshiro128** (Blackman & Vigna) seeded through SplitMix32; normal deviates
 * use Marsaglia's polar method, which needs only `Math.log` and `Math.sqrt`.
 *
 * @module
 */

/** A source of randomness the optimiser can draw its seed from (e.g. the runner's stage RNG). */
export interface SeedSource {
  /** A uniform integer in [0, 2^32). Used when present. */
  nextUint32?(): number;
  /** A uniform float in [0, 1). Used when `nextUint32` is absent. */
  nextFloat(): number;
}

/** The JSON-safe state of an {@linkcode EsRng}. */
export interface EsRngState {
  /** The four 32-bit words of the xoshiro128** state. */
  s: [number, number, number, number];
  /** The second deviate of the last polar-method pair, or null when none is cached. */
  spare: number | null;
}

function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) | 0;
  let z = state.x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Seeded generator of uniform and standard normal deviates with serialisable state. */
export class EsRng {
  #s = new Uint32Array(4);
  #spare: number | null = null;

  /**
   * Creates a generator from an integer seed (any safe integer, negative allowed).
   *
   * @param seed The seed; the same seed always gives the same sequence.
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new TypeError(
        `Cannot seed the ES random generator: seed ${seed} is not a safe integer`,
      );
    }
    const low = seed % 0x100000000;
    const high = Math.floor(seed / 0x100000000);
    const mix = { x: (low ^ Math.imul(high, 0x27d4eb2d)) | 0 };
    for (let i = 0; i < 4; i++) this.#s[i] = splitmix32(mix);
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[0] = 1;
  }

  /** Creates a generator seeded with 53 bits drawn from another source of randomness. */
  static fromSource(source: SeedSource): EsRng {
    const draw = () =>
      source.nextUint32 ? source.nextUint32() >>> 0 : Math.floor(source.nextFloat() * 0x100000000);
    const high = draw() & 0x1fffff;
    return new EsRng(high * 0x100000000 + draw());
  }

  /** Restores a generator from {@linkcode EsRng.prototype.toState}. */
  static fromState(state: EsRngState): EsRng {
    const { s, spare } = state;
    if (
      !Array.isArray(s) || s.length !== 4 ||
      s.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff) ||
      (spare !== null && typeof spare !== "number")
    ) {
      throw new TypeError("Cannot restore the ES random generator: malformed state");
    }
    const rng = new EsRng(0);
    rng.#s.set(s);
    rng.#spare = spare;
    return rng;
  }

  /** The current state, JSON-safe. */
  toState(): EsRngState {
    const s = this.#s;
    return { s: [s[0], s[1], s[2], s[3]], spare: this.#spare };
  }

  /** A uniform integer in [0, 2^32). */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A standard normal deviate. */
  normal(): number {
    if (this.#spare !== null) {
      const value = this.#spare;
      this.#spare = null;
      return value;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.nextFloat() - 1;
      v = 2 * this.nextFloat() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const factor = Math.sqrt((-2 * Math.log(s)) / s);
    this.#spare = v * factor;
    return u * factor;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
