/**
 * Saving and loading tfjs layers models as files: `model.json` + `weights.bin` in the
 * TensorFlow.js layers format, the same files `tf.loadLayersModel("…/model.json")` reads in a
 * browser. tfjs has no file-system handler outside tfjs-node, so this one uses Deno's file API.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The name of the weights file written next to `model.json`. */
export const WEIGHTS_FILE = "weights.bin";

/**
 * An `IOHandler` that saves to / loads from the folder `dir` (`dir/model.json`,
 * `dir/weights.bin`). Use it with `model.save(fileHandler(dir))` and
 * `tf.loadLayersModel(fileHandler(dir))`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fileHandler } from "./layers_io.ts";
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
 * await model.save(fileHandler("/tmp/model"));
 * const again = await tf.loadLayersModel(fileHandler("/tmp/model"));
 * ```
 */
export function fileHandler(
  dir: string,
  options: { metadata?: Record<string, unknown> } = {},
): tf.io.IOHandler {
  const modelPath = `${dir}/model.json`;
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      await Deno.mkdir(dir, { recursive: true });
      const weightData = artifacts.weightData === undefined
        ? new ArrayBuffer(0)
        : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? "layers-model",
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
        userDefinedMetadata: { ...artifacts.userDefinedMetadata, ...options.metadata },
      };
      await Deno.writeFile(`${dir}/${WEIGHTS_FILE}`, new Uint8Array(weightData));
      await Deno.writeTextFile(modelPath, JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: "JSON",
          weightDataBytes: weightData.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      let text: string;
      try {
        text = await Deno.readTextFile(modelPath);
      } catch (error) {
        throw new Error(`Cannot load model from ${modelPath}: ${error}`, { cause: error });
      }
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new SyntaxError(`Cannot load model from ${modelPath}: not JSON (${error})`);
      }
      if (json.modelTopology === undefined || !Array.isArray(json.weightsManifest)) {
        throw new TypeError(
          `Cannot load model from ${modelPath}: not a TensorFlow.js layers model.json`,
        );
      }
      return await tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const path of group.paths) {
            const bytes = await Deno.readFile(`${dir}/${path}`);
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          }
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}
