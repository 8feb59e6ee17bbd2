/**
 * The World Models controller ("C") as a flat parameter vector, in the original `model.py`
 * layout: 3 biases first, then W row-major [inputSize, 3]. raw = x W + b, then
 * steer = tanh(raw0), gas = (tanh(raw1) + 1) / 2, brake = clip(tanh(raw2), 0, 1).
 *
 * Kept here, next to the batched driver that applies it to many environments at once, so one
 * parameter vector per environment costs a few hundred multiply-adds per step.
 *
 * @module
 */

/** What the controller sees: the latent z only, or z and the MDN-RNN's hidden state h. */
export type ControllerInputs = "z" | "zh";

/** The allowed {@linkcode ControllerInputs}. */
export const CONTROLLER_INPUTS: readonly ControllerInputs[] = ["z", "zh"];

/** Number of actions (steer, gas, brake). */
export const ACTION_SIZE = 3;

/**
 * Input size of the controller: zSize, or zSize + hidden with `zh`.
 *
 * @example
 * ```ts
 * controllerInputSize("zh", 32, 256); // 288
 * ```
 */
export function controllerInputSize(
  inputs: ControllerInputs,
  zSize: number,
  hidden: number,
): number {
  return inputs === "zh" ? zSize + hidden : zSize;
}

/**
 * Number of parameters of a linear controller with `inputSize` inputs: (inputSize + 1) * 3
 * (867 for [z, h] with z 32 and h 256).
 */
export function controllerParameterCount(inputSize: number): number {
  return (inputSize + 1) * ACTION_SIZE;
}

/**
 * Writes the action of the controller `params` for input `x` into `out` (3 values).
 *
 * @param params Flat parameters (biases, then W row-major [x.length, 3]).
 * @param x Controller input.
 * @param out Destination of [steer, gas, brake].
 */
export function controllerAction(
  params: ArrayLike<number>,
  x: ArrayLike<number>,
  out: Float32Array,
): void {
  const n = x.length;
  if (params.length !== controllerParameterCount(n)) {
    throw new RangeError(
      `Cannot apply controller: ${params.length} parameters do not fit ${n} inputs ` +
        `(expected ${controllerParameterCount(n)})`,
    );
  }
  let r0 = params[0], r1 = params[1], r2 = params[2];
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const w = 3 + i * 3;
    r0 += v * params[w];
    r1 += v * params[w + 1];
    r2 += v * params[w + 2];
  }
  out[0] = Math.tanh(r0);
  out[1] = (Math.tanh(r1) + 1) / 2;
  out[2] = Math.min(Math.max(Math.tanh(r2), 0), 1);
}
