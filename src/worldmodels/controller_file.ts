/**
 * The controller file `worldmodels/train_controller` writes (`controller/controller.json`) and
 * the stages that drive a trained controller read, with the rule that picks which of its
 * solutions to use.
 *
 * @module
 */

import type { ControllerInputs } from "../models/controller.ts";

/** Where the controller is trained. */
export const CONTROLLER_MODES = ["real", "dream"] as const;

/** One of {@linkcode CONTROLLER_MODES}. */
export type ControllerMode = typeof CONTROLLER_MODES[number];

/** The JSON written as `controller/controller.json`. */
export interface ControllerFile {
  /** Format tag. */
  format: "ditto.controller";
  /** Format version. */
  version: 1;
  /** What the controller sees. */
  inputs: ControllerInputs;
  /** Controller input size (z, or z + h). */
  input_size: number;
  /** Latent size of the VAE it was trained with. */
  z_size: number;
  /** LSTM size of the MDN-RNN (0 with inputs z). */
  hidden: number;
  /** Parameter layout. */
  layout: string;
  /** Training mode (of this stage; `training` has the whole chain when it started from `init`). */
  mode: ControllerMode;
  /** The training chain, first to last, when the stage started from an `init` controller. */
  training?: ControllerMode[];
  /** The controller it started from (input `init`), if any. */
  init?: { solution: string; generation: number; training: ControllerMode[] };
  /** The dream's temperature (mode `dream` only). */
  temperature?: number;
  /** Generations run. */
  generation: number;
  /** The final CMA-ES mean. */
  mean: number[];
  /** The best candidate told to CMA-ES (noisy: scored on its generation's tracks only). */
  best: { params: number[]; fitness: number; generation: number };
  /** The mean with the highest evaluation, if any evaluation ran. */
  best_eval: { params: number[]; eval_mean_return: number; generation: number } | null;
  /** Every evaluation of the mean. */
  evaluations: {
    generation: number;
    mean_return: number;
    std_return: number;
    /** Mode dream: the mean's dream return on the same seeds. */
    dream_mean_return?: number;
  }[];
}

/** Which parameters of the controller file to evaluate. */
export const SOLUTIONS = ["auto", "best_eval", "mean", "best"] as const;

/** One of {@linkcode SOLUTIONS}. */
export type Solution = typeof SOLUTIONS[number];

/** Reads a controller file (a `controller` directory or the JSON file itself). */
export async function readControllerFile(path: string): Promise<ControllerFile> {
  const stat = await Deno.stat(path);
  const file = stat.isDirectory ? `${path}/controller.json` : path;
  const json = JSON.parse(await Deno.readTextFile(file)) as ControllerFile;
  if (json.format !== "ditto.controller" || !Array.isArray(json.mean)) {
    throw new TypeError(`Cannot read controller ${file}: not a ditto.controller file`);
  }
  return json;
}

/**
 * The parameters `solution` names in a controller file (`auto`: the best evaluated mean, else
 * the mean).
 */
export function pickSolution(
  file: ControllerFile,
  solution: Solution,
): { name: string; params: number[]; generation: number } {
  const mean = { name: "mean", params: file.mean, generation: file.generation };
  if (solution === "mean") return mean;
  if (solution === "best") {
    return { name: "best", params: file.best.params, generation: file.best.generation };
  }
  if (solution === "best_eval" && file.best_eval === null) {
    throw new TypeError(
      "Cannot evaluate best_eval: the controller was never evaluated in training",
    );
  }
  if (file.best_eval !== null) {
    const { params, generation } = file.best_eval;
    return { name: "best_eval", params, generation };
  }
  return mean;
}
