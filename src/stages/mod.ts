/**
 * Registry of built-in stages: `uses: <name>` in an experiment resolves to the module URL
 * here. The CLI passes this object to the runner (the runner never imports it itself).
 *
 * @module
 */

/** Built-in stage name -> module URL (a `file:` URL whose default export is a stage). */
export const builtinStages: Record<string, string> = {
  "worldmodels/collect": new URL("./worldmodels/collect.ts", import.meta.url).href,
  "worldmodels/train_vae": new URL("./worldmodels/train_vae.ts", import.meta.url).href,
  "worldmodels/encode": new URL("./worldmodels/encode.ts", import.meta.url).href,
  "worldmodels/train_rnn": new URL("./worldmodels/train_rnn.ts", import.meta.url).href,
  "worldmodels/train_controller": new URL("./worldmodels/train_controller.ts", import.meta.url)
    .href,
  "worldmodels/evaluate": new URL("./worldmodels/evaluate.ts", import.meta.url).href,
  "worldmodels/dream_video": new URL("./worldmodels/dream_video.ts", import.meta.url).href,
  "worldmodels/baseline": new URL("./worldmodels/baseline.ts", import.meta.url).href,
  "worldmodels/collect_controller": new URL("./worldmodels/collect_controller.ts", import.meta.url)
    .href,
};
