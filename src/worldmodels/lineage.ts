/**
 * Lineage: whether a controller trained in the real environment contributed data or parameters
 * anywhere upstream of an artifact. A dream-only claim ("this controller learned to drive only
 * in the dream") is a claim about the whole DAG, not about one stage: a world model trained on a
 * real-trained controller's rollouts, or a controller initialised from one, already knows what
 * reality rewards.
 *
 * Each World Models stage writes `lineage.json` beside its output when (and only when) one of
 * its inputs has one or it is itself a real-trained controller's product (the rollouts of
 * `collect_controller`); an artifact without the file has no real-trained controller upstream.
 * Writing nothing in the common case keeps the bytes of random-data artifacts as they were.
 *
 * @module
 */

import { join } from "node:path";

/** File name of the lineage record inside an output directory. */
export const LINEAGE_FILE = "lineage.json";

/** The JSON of `lineage.json`. */
export interface LineageFile {
  /** Format tag. */
  format: "ditto.lineage";
  /** Format version. */
  version: 1;
  /** Each real-trained controller upstream, described (sorted, unique). */
  real_trained: string[];
}

/** The training chain of a controller: `["real"]`, `["dream"]` or `["dream", "real"]`. */
export interface ControllerTraining {
  /** Where it was trained, first to last (the init's chain, then its own mode). */
  mode: string;
  /** `training` of the controller file, if it records one. */
  training?: string[];
}

/** The training chain of a controller file (its `training`, else its single `mode`). */
export function trainingChain(file: ControllerTraining): string[] {
  return file.training ?? [file.mode];
}

/**
 * The training chain in words, repeats merged: `real`, `dream`, `dream then real` (a refinement
 * in the same place is the same mode).
 */
export function describeTraining(file: ControllerTraining): string {
  return trainingChain(file).filter((mode, i, all) => i === 0 || all[i - 1] !== mode).join(
    " then ",
  );
}

/** Whether any step of the controller's training chain ran in the real environment. */
export function trainedInReality(file: ControllerTraining): boolean {
  return trainingChain(file).some((mode) => mode !== "dream");
}

/** Reads `lineage.json` of an artifact directory; [] without one (or for a file input). */
export async function readLineage(path: string | undefined): Promise<string[]> {
  if (path === undefined) return [];
  const file = join(path, LINEAGE_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    // A file input (not a directory) or a directory without the record: nothing upstream.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return [];
    }
    throw error;
  }
  const json = JSON.parse(text) as LineageFile;
  if (json.format !== "ditto.lineage" || !Array.isArray(json.real_trained)) {
    throw new TypeError(`Cannot read ${file}: not a ditto.lineage file`);
  }
  return json.real_trained;
}

/** The union of the lineages of several inputs (and extra entries), sorted. */
export async function mergeLineage(
  inputs: readonly (string | undefined)[],
  extra: readonly string[] = [],
): Promise<string[]> {
  const all = new Set(extra);
  for (const input of inputs) for (const entry of await readLineage(input)) all.add(entry);
  return [...all].sort();
}

/** Writes `lineage.json` into `dir` when `realTrained` is not empty; a no-op otherwise. */
export async function writeLineage(dir: string, realTrained: readonly string[]): Promise<void> {
  if (realTrained.length === 0) return;
  const file: LineageFile = { format: "ditto.lineage", version: 1, real_trained: [...realTrained] };
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, LINEAGE_FILE), JSON.stringify(file, null, 1) + "\n");
}
