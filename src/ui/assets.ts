/**
 * The files the pages load: uPlot's script and styles, read from the npm package pinned in
 * `deno.json` (served by ditto itself, never from a CDN), and the UI's own script and styles.
 *
 * @module
 */

// Importing uPlot keeps the package in the module graph, so `node_modules` holds its files.
import "uplot";

/** Asset name -> text. */
export interface Assets {
  /** uPlot, the browser build. */
  "uplot.js": string;
  /** uPlot's styles. */
  "uplot.css": string;
  /** The UI's script. */
  "app.js": string;
  /** The UI's styles. */
  "app.css": string;
}

let loaded: Promise<Assets> | undefined;

/**
 * Reads the assets once per process.
 *
 * @returns The asset texts.
 */
export function loadAssets(): Promise<Assets> {
  loaded ??= (async () => {
    const uplot = import.meta.resolve("uplot");
    const read = (url: string | URL) => Deno.readTextFile(new URL(url));
    const [js, css, app, style] = await Promise.all([
      read(new URL("./uPlot.iife.min.js", uplot)),
      read(new URL("./uPlot.min.css", uplot)),
      read(new URL("./client/app.js", import.meta.url)),
      read(new URL("./client/app.css", import.meta.url)),
    ]);
    return { "uplot.js": js, "uplot.css": css, "app.js": app, "app.css": style };
  })();
  return loaded;
}
