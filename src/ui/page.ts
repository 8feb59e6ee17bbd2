/**
 * What every page shares: how pages link to files and to each other ({@linkcode PageLinks};
 * the report inlines instead), the data handed to the page's script, the HTML document around
 * a body, and small escaped building blocks.
 *
 * @module
 */

import { escapeHtml as h, formatNumber, jsonForScript } from "./html.ts";
import type { UiRun } from "./data.ts";

/** How a page refers to other pages and to files; the report inlines what it can. */
export interface PageLinks {
  /** Whether this is the self-contained report (no server behind it). */
  report: boolean;
  /** URL of a run's file, or undefined when it cannot be shown (too big for the report). */
  file(run: UiRun, path: string, bytes: number): string | undefined;
  /** URL of a run's page, or undefined (report). */
  run(run: UiRun): string | undefined;
  /** URL of an experiment's runs table, or undefined (report). */
  experiment(name: string): string | undefined;
  /** URL of the comparison of runs (absent in the report). */
  compare?(runs: UiRun[]): string;
}

/** Everything the page's script needs (embedded as JSON). */
export interface PageData {
  /** Metric series embedded in the page (report): `<run>|<stage>` -> metric -> points. */
  series?: Record<string, Record<string, [number, number][]>>;
  /** A running run: where to poll and the current state's stamp. */
  live?: { url: string; stamp: string };
}

/** A full HTML page around a body. */
export interface PageShell {
  /** Page title (escaped here). */
  title: string;
  /** Body HTML (already escaped). */
  body: string;
  /** Data for the page's script. */
  data?: PageData;
}

/** A link, or plain text where there is no target (the report). */
export function link(href: string | undefined, text: string): string {
  return href === undefined ? h(text) : `<a href="${h(href)}">${h(text)}</a>`;
}

/** A status badge (`id` lets the live page update it). */
export function badge(status: string, id?: string): string {
  return `<span class="badge st-${h(status)}"${id ? ` id="${h(id)}"` : ""}>${h(status)}</span>`;
}

/** Anchor id of a stage's section. */
export function stageAnchor(stage: string): string {
  return `stage-${stage.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** A value in a table cell: numbers formatted, objects as JSON, absent marked. */
export function value(v: unknown): string {
  if (v === undefined) return `<span class="muted">(absent)</span>`;
  if (typeof v === "number") return h(formatNumber(v));
  return h(typeof v === "string" ? v : JSON.stringify(v));
}

/** `<experiment>/<NNNN>` with each part URL-encoded. */
export function encodeRun(run: UiRun): string {
  return run.name.split("/").map(encodeURIComponent).join("/");
}

/** Style and script elements of a page: links on the server, inline in the report. */
export interface PageAssets {
  /** Elements for the head (styles). */
  styles: string;
  /** Script elements, placed after the page's data at the end of the body. */
  scripts: string;
}

/**
 * Wraps a body into a full page.
 *
 * @param shell Title, body and the script's data.
 * @param assets Style and script elements.
 * @param nav The header bar's HTML.
 * @returns The HTML document.
 */
export function htmlDocument(shell: PageShell, assets: PageAssets, nav: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${h(shell.title)}</title>
${assets.styles}
</head><body>
<header class="top">${nav}</header>
<main>
${shell.body}
</main>
<script type="application/json" id="ditto-data">${jsonForScript(shell.data ?? {})}</script>
${assets.scripts}
</body></html>
`;
}
