/**
 * The `diff --html` page: a {@linkcode RunDiff} as text, with SVG charts of the differing
 * metrics and the image artifacts of both runs side by side.
 *
 * @module
 */

import { extname, join } from "node:path";
import type { ContentHash } from "../../runner/hash.ts";
import { readMetrics, storeRoot } from "../run_data.ts";
import { manifestFiles, type RunDiff } from "./compute.ts";
import { formatDiff, num, short } from "./text.ts";

const IMAGE_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".svg": "image/svg+xml",
};
const MAX_IMAGE_BYTES = 8 << 20;
const MAX_IMAGES = 60;

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

function imageTag(storeDir: string, content: ContentHash | undefined, path: string): string {
  if (!content) return "<em>(absent)</em>";
  const type = IMAGE_TYPES[extname(path).toLowerCase()];
  if (!type || content.bytes > MAX_IMAGE_BYTES) return `<code>${short(content.hash)}</code>`;
  try {
    const bytes = Deno.readFileSync(
      join(storeDir, "objects", content.hash.slice(0, 2), content.hash),
    );
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return `<img alt="${escapeHtml(path)}" src="data:${type};base64,${btoa(binary)}">`;
  } catch {
    return `<em>(not in the store)</em>`;
  }
}

/** One SVG chart per differing metric: both runs' curves over their steps. */
function metricCharts(diff: RunDiff): string {
  const charts: string[] = [];
  for (const m of diff.metrics.slice(0, 40)) {
    const sa = readMetrics(diff.a, m.stage)[m.metric] ?? [];
    const sb = readMetrics(diff.b, m.stage)[m.metric] ?? [];
    const all = [...sa, ...sb];
    if (all.length < 2) continue;
    const [w, h, pad] = [360, 120, 4];
    const xs = all.map(([x]) => x);
    const ys = all.map(([, y]) => y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const px = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (w - 2 * pad);
    const py = (y: number) => h - pad - ((y - y0) / (y1 - y0 || 1)) * (h - 2 * pad);
    const line = (series: [number, number][], color: string) =>
      series.length === 0
        ? ""
        : `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${
          series.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ")
        }"/>`;
    charts.push(
      `<figure><figcaption>${escapeHtml(`${m.stage}.${m.metric}`)} ` +
        `<span style="color:#1f77b4">${escapeHtml(diff.a.run)}</span> vs ` +
        `<span style="color:#d62728">${escapeHtml(diff.b.run)}</span> ` +
        `(${num(y0)} .. ${num(y1)})</figcaption>` +
        `<svg width="${w}" height="${h}" style="border:1px solid #ccc">` +
        `${line(sa, "#1f77b4")}${line(sb, "#d62728")}</svg></figure>`,
    );
  }
  return charts.length > 0 ? charts.join("\n") : "<p>No step-wise metrics differ.</p>";
}

/**
 * Renders a self-contained HTML page: the diff as text plus image artifacts side by side
 * (embedded, so the file can be sent on its own).
 *
 * @param diff The diff.
 * @param options `runsA`/`runsB`: the runs folders whose stores hold the images.
 * @returns The HTML text.
 */
export function diffHtml(diff: RunDiff, options: { runsA: string; runsB: string }): string {
  const storeA = storeRoot(options.runsA);
  const storeB = storeRoot(options.runsB);
  const rows: string[] = [];
  let count = 0;
  for (const x of diff.artifacts) {
    // Pair files by path: a file output pairs with itself, a directory output by inner path.
    const fa = x.a ? manifestFiles(storeA, x.a) : new Map<string, ContentHash>();
    const fb = x.b ? manifestFiles(storeB, x.b) : new Map<string, ContentHash>();
    for (const path of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
      const name = path ? `${x.output}/${path}` : x.output;
      const file = path || x.output;
      if (!IMAGE_TYPES[extname(file).toLowerCase()]) continue;
      const ca = fa.get(path);
      const cb = fb.get(path);
      if (ca?.hash === cb?.hash && x.changed) continue;
      if (++count > MAX_IMAGES) break;
      rows.push(
        `<tr><th>${escapeHtml(`${x.stage}.${name}`)}${
          ca?.hash === cb?.hash ? " (same)" : ""
        }</th>` +
          `<td>${imageTag(storeA, ca, file)}</td><td>${imageTag(storeB, cb, file)}</td></tr>`,
      );
    }
  }
  const table = rows.length > 0
    ? `<table><tr><th></th><th>${escapeHtml(diff.a.run)}</th><th>${
      escapeHtml(diff.b.run)
    }</th></tr>\n${rows.join("\n")}</table>`
    : "<p>No image artifacts differ.</p>";
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>diff ${escapeHtml(diff.a.run)} -> ${
    escapeHtml(diff.b.run)
  }</title>
<style>body{font-family:sans-serif;margin:1.5em}pre{background:#f6f6f6;padding:1em;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.4em;vertical-align:top;text-align:left}
img{max-width:45vw;image-rendering:pixelated;min-width:96px}</style></head>
<body><h1>diff ${escapeHtml(diff.a.run)} &rarr; ${escapeHtml(diff.b.run)}</h1>
<h2>Metrics</h2>
${metricCharts(diff)}
<h2>Images</h2>
${table}
<h2>All differences</h2>
<pre>${escapeHtml(formatDiff(diff))}</pre>
</body></html>
`;
}
