/**
 * The World Models controller ("C"): one linear layer from [z, h] (or z alone) to the three
 * CarRacing actions, as in the original `model.py`:
 *
 * - raw = b + [z, h] W  (W is [inputs, 3]); the flat parameter vector is the 3 biases first,
 *   then W row-major, exactly the original's order (867 numbers for z 32 + h 256);
 * - steer = tanh(raw0) in [-1, 1], gas = (tanh(raw1) + 1) / 2 in [0, 1], brake = clip(tanh(raw2),
 *   0, 1) (the original); `brake: "shift"` gives (tanh(raw2) + 1) / 2 (the book's version).
 *
 * Forward passes are plain JavaScript: at 867 parameters a tfjs call costs more than the maths.
 * {@linkcode controllerActions} evaluates many candidates (one parameter vector per row) at
 * once, which is what an evolution strategy does every frame.
 *
 * @module
 */

/** Which features the controller sees. */
export type ControllerInputs = "z" | "zh";

/** How the third output becomes a brake value. */
export type BrakeMapping = "clip" | "shift";

/** Options of {@linkcode Controller}. */
export interface ControllerOptions {
  /** `zh` (default, z and the LSTM's h) or `z` (latent only). */
  inputs?: ControllerInputs;
  /** Latent size; default 32. */
  zSize?: number;
  /** LSTM units; default 256 (ignored for `inputs: "z"`). */
  hidden?: number;
  /** Brake mapping; default `clip` (the original). */
  brake?: BrakeMapping;
}

/** The controller's file format (JSON). */
export interface ControllerJson {
  /** Format tag. */
  format: "ditto-controller";
  /** Format version. */
  version: 1;
  /** Which features the controller sees. */
  inputs: ControllerInputs;
  /** Latent size. */
  zSize: number;
  /** LSTM units (0 for `z`). */
  hidden: number;
  /** Brake mapping. */
  brake: BrakeMapping;
  /** 3 biases, then W [inputs, 3] row-major. */
  parameters: number[];
}

/** Number of actions: steer, gas, brake. */
export const ACTIONS = 3;

/** Resolved settings of a controller. */
interface Layout {
  zSize: number;
  hidden: number;
  features: number;
  count: number;
  brake: BrakeMapping;
}

function layoutOf(options: ControllerOptions): Layout {
  const inputs = options.inputs ?? "zh";
  if (inputs !== "z" && inputs !== "zh") {
    throw new TypeError(`Cannot create controller: inputs must be "z" or "zh", got ${inputs}`);
  }
  const brake = options.brake ?? "clip";
  if (brake !== "clip" && brake !== "shift") {
    throw new TypeError(`Cannot create controller: brake must be "clip" or "shift", got ${brake}`);
  }
  const zSize = options.zSize ?? 32;
  const hidden = inputs === "zh" ? options.hidden ?? 256 : 0;
  const features = zSize + hidden;
  return { zSize, hidden, features, count: ACTIONS + features * ACTIONS, brake };
}

/** Maps raw outputs to actions in place (3 per row). */
function mapActions(raw: Float32Array, brake: BrakeMapping): void {
  for (let i = 0; i < raw.length; i += ACTIONS) {
    raw[i] = Math.tanh(raw[i]);
    raw[i + 1] = (Math.tanh(raw[i + 1]) + 1) / 2;
    const b = Math.tanh(raw[i + 2]);
    raw[i + 2] = brake === "clip" ? (b < 0 ? 0 : b) : (b + 1) / 2;
  }
}

/** Features of row i: z then h. */
function checkInputs(layout: Layout, rows: number, z: Float32Array, h?: Float32Array): void {
  if (z.length !== rows * layout.zSize) {
    throw new RangeError(
      `Cannot compute actions: z has ${z.length} values, expected ${rows} x ${layout.zSize}`,
    );
  }
  if (layout.hidden > 0 && h?.length !== rows * layout.hidden) {
    throw new RangeError(
      `Cannot compute actions: h has ${h?.length} values, expected ${rows} x ${layout.hidden}`,
    );
  }
}

/**
 * Actions for `rows` environments, each with its own parameter vector (row i of `params`,
 * [rows, parameterCount]): returns [rows, 3] (steer, gas, brake).
 */
export function controllerActions(
  params: Float32Array,
  inputs: { z: Float32Array; h?: Float32Array; rows: number },
  options: ControllerOptions = {},
): Float32Array {
  const layout = layoutOf(options);
  const { z, h, rows } = inputs;
  if (params.length !== rows * layout.count) {
    throw new RangeError(
      `Cannot compute actions: params has ${params.length} values, expected ${rows} x ${layout.count}`,
    );
  }
  checkInputs(layout, rows, z, h);
  const out = new Float32Array(rows * ACTIONS);
  const { zSize, hidden } = layout;
  for (let r = 0; r < rows; r++) {
    const p = r * layout.count;
    let a0 = params[p], a1 = params[p + 1], a2 = params[p + 2];
    let w = p + ACTIONS;
    for (let i = 0; i < zSize; i++, w += ACTIONS) {
      const x = z[r * zSize + i];
      a0 += x * params[w];
      a1 += x * params[w + 1];
      a2 += x * params[w + 2];
    }
    for (let i = 0; i < hidden; i++, w += ACTIONS) {
      const x = h![r * hidden + i];
      a0 += x * params[w];
      a1 += x * params[w + 1];
      a2 += x * params[w + 2];
    }
    out[r * ACTIONS] = a0;
    out[r * ACTIONS + 1] = a1;
    out[r * ACTIONS + 2] = a2;
  }
  mapActions(out, layout.brake);
  return out;
}

/** A linear controller with a flat parameter vector. */
export class Controller {
  /** Which features the controller sees. */
  readonly inputs: ControllerInputs;
  /** Latent size. */
  readonly zSize: number;
  /** LSTM units (0 for `z`). */
  readonly hidden: number;
  /** Brake mapping. */
  readonly brake: BrakeMapping;
  /** Length of the parameter vector: 3 + 3 * (zSize + hidden). */
  readonly parameterCount: number;
  private params: Float32Array;

  /** Creates a controller with all parameters zero (the CMA-ES start point x0 = 0). */
  constructor(options: ControllerOptions = {}) {
    const layout = layoutOf(options);
    this.inputs = options.inputs ?? "zh";
    this.zSize = layout.zSize;
    this.hidden = layout.hidden;
    this.brake = layout.brake;
    this.parameterCount = layout.count;
    this.params = new Float32Array(layout.count);
  }

  /** The options this controller was built with. */
  private get options(): ControllerOptions {
    return { inputs: this.inputs, zSize: this.zSize, hidden: this.hidden, brake: this.brake };
  }

  /** A copy of the parameters: 3 biases, then W [inputs, 3] row-major. */
  getParameters(): Float32Array {
    return this.params.slice();
  }

  /** Replaces the parameters (copied); the length must be {@linkcode parameterCount}. */
  setParameters(params: ArrayLike<number>): void {
    if (params.length !== this.parameterCount) {
      throw new RangeError(
        `Cannot set controller parameters: got ${params.length} values, expected ${this.parameterCount}`,
      );
    }
    for (let i = 0; i < params.length; i++) {
      if (!Number.isFinite(params[i])) {
        throw new RangeError(`Cannot set controller parameters: value ${i} is ${params[i]}`);
      }
    }
    this.params = Float32Array.from(params);
  }

  /** Actions [rows, 3] for z [rows, zSize] and (for `zh`) h [rows, hidden]. */
  act(z: Float32Array, h?: Float32Array): Float32Array {
    const rows = z.length / this.zSize;
    if (!Number.isInteger(rows)) {
      throw new RangeError(
        `Cannot compute actions: z has ${z.length} values, not rows of ${this.zSize}`,
      );
    }
    const params = new Float32Array(rows * this.parameterCount);
    for (let r = 0; r < rows; r++) params.set(this.params, r * this.parameterCount);
    return controllerActions(params, { z, h, rows }, this.options);
  }

  /** The JSON file content. */
  toJSON(): ControllerJson {
    return {
      format: "ditto-controller",
      version: 1,
      inputs: this.inputs,
      zSize: this.zSize,
      hidden: this.hidden,
      brake: this.brake,
      parameters: Array.from(this.params),
    };
  }

  /** Builds a controller from {@linkcode toJSON}'s output, checking the parameter count. */
  static fromJSON(json: ControllerJson): Controller {
    if (json?.format !== "ditto-controller" || json.version !== 1) {
      throw new TypeError("Cannot read controller: not a ditto-controller version 1 document");
    }
    const c = new Controller({
      inputs: json.inputs,
      zSize: json.zSize,
      hidden: json.inputs === "zh" ? json.hidden : undefined,
      brake: json.brake,
    });
    if (!Array.isArray(json.parameters) || json.parameters.length !== c.parameterCount) {
      throw new RangeError(
        `Cannot read controller: ${json.parameters?.length} parameters, expected ${c.parameterCount}` +
          ` for inputs ${json.inputs} (zSize ${json.zSize}, hidden ${json.hidden})`,
      );
    }
    c.setParameters(json.parameters);
    return c;
  }

  /** Writes the controller as JSON to `path`. */
  async save(path: string): Promise<void> {
    await Deno.writeTextFile(path, JSON.stringify(this.toJSON()) + "\n");
  }

  /**
   * Reads a controller saved by {@linkcode save}; with `expected` options, a file of another
   * shape is an error.
   */
  static async load(path: string, expected: ControllerOptions = {}): Promise<Controller> {
    let json: ControllerJson;
    try {
      json = JSON.parse(await Deno.readTextFile(path));
    } catch (error) {
      throw new Error(`Cannot load controller from ${path}: ${error}`, { cause: error });
    }
    let c: Controller;
    try {
      c = Controller.fromJSON(json);
    } catch (error) {
      const message = `Cannot load controller from ${path}: ${(error as Error).message}`;
      throw error instanceof RangeError ? new RangeError(message) : new TypeError(message);
    }
    const want = new Controller(expected);
    const mismatch = (Object.keys(expected) as (keyof ControllerOptions)[]).find((k) =>
      want[k] !== c[k]
    );
    if (mismatch) {
      throw new RangeError(
        `Cannot load controller from ${path}: ${mismatch} is ${c[mismatch]}, expected ${
          want[mismatch]
        }`,
      );
    }
    return c;
  }
}
