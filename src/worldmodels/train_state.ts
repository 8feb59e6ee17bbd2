/**
 * Training state shared by the World Models training stages: an Adam optimiser over tfjs
 * variables whose whole state (moments and step count) can be read and restored, and a
 * single-file binary checkpoint format holding named float32 arrays plus a JSON header.
 *
 * Adam is written out here instead of using `tf.train.adam` because a resumed run must continue
 * bit for bit: tfjs's optimizer rebuilds its bias-correction products with `pow` on restore,
 * which differs in the last bits from the running products it keeps while training. Here the
 * bias corrections are computed in float64 from the step count alone, as Keras and the MDN-RNN
 * of `src/models/mdn_rnn.ts` do.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Adam hyper-parameters (Keras/tfjs defaults except the learning rate). */
export interface AdamOptions {
  /** Step size. */
  learningRate: number;
  /** First-moment decay; default 0.9. */
  beta1?: number;
  /** Second-moment decay; default 0.999. */
  beta2?: number;
  /** Denominator fuzz; default 1e-7 (Keras, tfjs). */
  epsilon?: number;
  /** Element-wise gradient clip to [-clip, clip] before the update; 0 (default) = none. */
  clip?: number;
}

function adamCoefficients(options: AdamOptions, step: number) {
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.999;
  const epsilon = options.epsilon ?? 1e-7;
  const c1 = 1 - beta1 ** step;
  const c2 = 1 - beta2 ** step;
  return {
    beta1,
    beta2,
    // lr * sqrt(c2) / c1 and eps * sqrt(c2): the bias-corrected update, algebraically rearranged.
    alpha: options.learningRate * Math.sqrt(c2) / c1,
    epsilonHat: epsilon * Math.sqrt(c2),
  };
}

/** Adam over a fixed list of tfjs variables, with readable and restorable state. */
export class TfAdam {
  /** The variables it updates, in order. */
  readonly variables: readonly tf.Variable[];
  /** Updates applied so far. */
  step = 0;
  #options: AdamOptions;
  #m: tf.Variable[];
  #v: tf.Variable[];

  /** Creates zero moments for `variables`. */
  constructor(variables: tf.Variable[], options: AdamOptions) {
    this.variables = variables;
    this.#options = options;
    this.#m = variables.map((x) => tf.variable(tf.zerosLike(x), false));
    this.#v = variables.map((x) => tf.variable(tf.zerosLike(x), false));
  }

  /**
   * Computes `f`'s value and its gradients with respect to the variables, applies one Adam
   * step and returns the value (the caller disposes it).
   */
  minimize(f: () => tf.Scalar): tf.Scalar {
    const { value, grads } = tf.variableGrads(f, [...this.variables]);
    try {
      this.apply(this.variables.map((x) => grads[x.name]));
    } finally {
      tf.dispose(Object.values(grads));
    }
    return value;
  }

  /** Applies one Adam step with gradients given in variable order (not disposed here). */
  apply(grads: tf.Tensor[]): void {
    if (grads.length !== this.variables.length) {
      throw new RangeError(
        `Cannot apply Adam: ${grads.length} gradients for ${this.variables.length} variables`,
      );
    }
    this.step++;
    const { beta1, beta2, alpha, epsilonHat } = adamCoefficients(this.#options, this.step);
    const clip = this.#options.clip ?? 0;
    tf.tidy(() => {
      this.variables.forEach((x, i) => {
        let g: tf.Tensor = grads[i];
        if (g === undefined) throw new Error(`Cannot apply Adam: no gradient for ${x.name}`);
        if (clip > 0) g = tf.clipByValue(g, -clip, clip);
        const m = tf.add(tf.mul(this.#m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.#v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.#m[i].assign(m);
        this.#v[i].assign(v);
        x.assign(tf.sub(x, tf.div(tf.mul(m, alpha), tf.add(tf.sqrt(v), epsilonHat))));
      });
    });
  }

  /** Copies of the variables, first moments and second moments, in variable order. */
  readState(): { weights: Float32Array[]; m: Float32Array[]; v: Float32Array[] } {
    const read = (xs: readonly tf.Variable[]) => xs.map((x) => x.dataSync() as Float32Array);
    return { weights: read(this.variables), m: read(this.#m), v: read(this.#v) };
  }

  /** {@linkcode readState}, reading asynchronously (the way that works on `webgpu`). */
  async readStateAsync(): Promise<
    { weights: Float32Array[]; m: Float32Array[]; v: Float32Array[] }
  > {
    const read = (xs: readonly tf.Variable[]) =>
      Promise.all(xs.map((x) => x.data() as Promise<Float32Array>));
    return { weights: await read(this.variables), m: await read(this.#m), v: await read(this.#v) };
  }

  /** Restores what {@linkcode TfAdam.readState} returned, and the step count. */
  restore(state: { weights: Float32Array[]; m: Float32Array[]; v: Float32Array[] }, step: number) {
    const n = this.variables.length;
    if (state.weights.length !== n || state.m.length !== n || state.v.length !== n) {
      throw new RangeError(`Cannot restore Adam: expected ${n} arrays of each kind`);
    }
    this.variables.forEach((x, i) => {
      const size = x.size;
      for (const part of [state.weights[i], state.m[i], state.v[i]]) {
        if (part.length !== size) {
          throw new RangeError(
            `Cannot restore Adam: ${x.name} has ${size} values, the checkpoint ${part.length}`,
          );
        }
      }
      tf.tidy(() => {
        x.assign(tf.tensor(state.weights[i], x.shape));
        this.#m[i].assign(tf.tensor(state.m[i], x.shape));
        this.#v[i].assign(tf.tensor(state.v[i], x.shape));
      });
    });
    this.step = step;
  }

  /** Frees the moments (not the variables). */
  dispose(): void {
    tf.dispose([...this.#m, ...this.#v]);
  }
}

const MAGIC = "DITTOCK1";

/**
 * Packs a JSON header and named float32 arrays into one byte array (one atomic checkpoint
 * file): 8 magic bytes, a uint32 header length, the header JSON (with array names and sizes),
 * padding to 4 bytes, then the arrays' little-endian bytes in order.
 */
export function packCheckpoint(header: unknown, arrays: [string, Float32Array][]): Uint8Array {
  const full = { header, arrays: arrays.map(([name, a]) => ({ name, length: a.length })) };
  const json = new TextEncoder().encode(JSON.stringify(full));
  const start = Math.ceil((12 + json.length) / 4) * 4;
  const total = start + arrays.reduce((n, [, a]) => n + a.length * 4, 0);
  const bytes = new Uint8Array(total);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(8, json.length, true);
  bytes.set(json, 12);
  let offset = start;
  for (const [, a] of arrays) {
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += a.byteLength;
  }
  return bytes;
}

/** Reads what {@linkcode packCheckpoint} wrote. */
export function unpackCheckpoint<H>(
  bytes: Uint8Array,
): { header: H; arrays: Map<string, Float32Array> } {
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (bytes.length < 12 || magic !== MAGIC) {
    throw new TypeError("Cannot read checkpoint: not a ditto training checkpoint");
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  const full = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length))) as {
    header: H;
    arrays: { name: string; length: number }[];
  };
  let offset = Math.ceil((12 + length) / 4) * 4;
  const arrays = new Map<string, Float32Array>();
  for (const { name, length: n } of full.arrays) {
    if (offset + n * 4 > bytes.length) throw new RangeError("Cannot read checkpoint: truncated");
    // Copy: the file bytes need not be 4-byte aligned.
    arrays.set(name, new Float32Array(bytes.slice(offset, offset + n * 4).buffer));
    offset += n * 4;
  }
  return { header: full.header, arrays };
}

/** Resolves after a macrotask turn, so signal handlers (SIGTERM, Ctrl-C) get to run. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
