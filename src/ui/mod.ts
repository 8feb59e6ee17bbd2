/**
 * Looking at runs: a local, read-only web UI over a runs folder (experiments, runs tables, run
 * pages with the stage graph, metric curves and artifacts, comparison of 2 to 5 runs) and a
 * self-contained HTML report of one run.
 *
 * @example Serve a runs folder on the loopback interface
 * ```ts
 * import { serveUi } from "./mod.ts";
 * const server = await serveUi({ runsDir: "runs", port: 8080, onListen: console.log });
 * await server.finished;
 * ```
 *
 * @module
 */

export { createHandler, serveUi, type ServeUiOptions, type UiOptions } from "./server.ts";
export { renderReport, type ReportOptions } from "./report.ts";
export { escapeHtml, jsonForScript } from "./html.ts";
export { resolveInside, safeSegments } from "./safe_path.ts";
