/**
 * `deno task report <run>`: one self-contained HTML file of a run page. Scripts, styles,
 * metric data and images are inline (images as `data:` URLs), so it opens offline and can be
 * attached to a mail or a pull request.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { join } from "node:path";
import { readMetrics } from "../runs/run_data.ts";
import { loadAssets } from "./assets.ts";
import { escapeHtml, inlineScript } from "./html.ts";
import { htmlDocument, type PageLinks } from "./page.ts";
import { runPage } from "./run_page.ts";
import type { UiRun } from "./data.ts";

/** Options of {@linkcode renderReport}. */
export interface ReportOptions {
  /** Images larger than this are left out (named, not inlined). @default {8 MiB} */
  maxImageBytes?: number;
  /** All inlined images together at most. @default {64 MiB} */
  maxTotalBytes?: number;
  /** Points per metric at most (longer series are thinned evenly). @default {5000} */
  maxPoints?: number;
}

const IMAGE_TYPES: Record<string, string> = {
  png: "image/png",
  gif: "image/gif",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  svg: "image/svg+xml",
};

function thin(points: [number, number][], max: number): [number, number][] {
  if (points.length <= max) return points;
  const out: [number, number][] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round((i * (points.length - 1)) / (max - 1))]);
  return out;
}

/**
 * Renders the report of one run.
 *
 * @param run The run (from `loadRun`).
 * @param options Size limits.
 * @returns The HTML document.
 */
export async function renderReport(run: UiRun, options: ReportOptions = {}): Promise<string> {
  const maxImage = options.maxImageBytes ?? 8 << 20;
  let budget = options.maxTotalBytes ?? 64 << 20;
  const inlined = new Map<string, string | undefined>();
  const links: PageLinks = {
    report: true,
    file(r, path, bytes) {
      const type = IMAGE_TYPES[path.slice(path.lastIndexOf(".") + 1).toLowerCase()];
      if (!type) return undefined;
      const key = `${r.dir}\0${path}`;
      if (inlined.has(key)) return inlined.get(key);
      let url: string | undefined;
      if (bytes <= maxImage && bytes <= budget) {
        try {
          url = `data:${type};base64,${
            Buffer.from(Deno.readFileSync(join(r.dir, path))).toString("base64")
          }`;
          budget -= bytes;
        } catch {
          url = undefined;
        }
      }
      inlined.set(key, url);
      return url;
    },
    run: () => undefined,
    experiment: () => undefined,
  };
  const series: Record<string, Record<string, [number, number][]>> = {};
  for (const s of run.record.stages) {
    const metrics = readMetrics(run, s.name);
    if (Object.keys(metrics).length === 0) continue;
    series[`${run.name}|${s.name}`] = Object.fromEntries(
      Object.entries(metrics).map(([k, v]) => [k, thin(v, options.maxPoints ?? 5000)]),
    );
  }
  const assets = await loadAssets();
  const shell = runPage(run, links, { series });
  return htmlDocument(shell, {
    styles: `<style>${assets["uplot.css"].replace(/<\//g, "<\\/")}\n${
      assets["app.css"].replace(/<\//g, "<\\/")
    }</style>`,
    scripts: `<script>${inlineScript(assets["uplot.js"])}</script>` +
      `<script>${inlineScript(assets["app.js"])}</script>`,
  }, `<span class="brand">ditto</span><span>report of ${escapeHtml(run.name)}</span>`);
}
