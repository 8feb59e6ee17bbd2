/**
 * The run's stage graph as an SVG drawing, laid out by dagre on the server: each node shows
 * the stage's status (colour and word) and its reason, edges follow `needs`.
 *
 * @module
 */

import dagre from "@dagrejs/dagre";
import type { RunRecord, StageReport } from "../runner/mod.ts";
import { escapeHtml, formatSeconds } from "./html.ts";
import { stageUpstream } from "./data.ts";

const NODE_W = 164;
const NODE_H = 54;
const MAX_REASON = 26;

/** The status a stage shows: `running` for a pending stage of a running run that started. */
export function shownStatus(stage: StageReport, runStatus: string): string {
  if (stage.status === "pending" && runStatus === "running") {
    return stage.reason ? "running" : "pending";
  }
  return stage.status;
}

function clip(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

/**
 * Draws the DAG of a run.
 *
 * @param record The run's record.
 * @param href Link target of a stage's node (its section on the page).
 * @returns An `<svg>` element (every label escaped).
 */
export function dagSvg(record: RunRecord, href: (stage: string) => string): string {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 32, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const s of record.stages) g.setNode(s.name, { width: NODE_W, height: NODE_H });
  const upstream = stageUpstream(record);
  for (const [stage, ups] of upstream) for (const u of ups) g.setEdge(u, stage);
  dagre.layout(g);
  const graph = g.graph();
  const width = Math.ceil(graph.width ?? NODE_W);
  const height = Math.ceil(graph.height ?? NODE_H);
  const parts: string[] = [];
  for (const e of g.edges()) {
    const points: { x: number; y: number }[] = g.edge(e).points ?? [];
    const d = points.map((p, i) => `${i === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`)
      .join(" ");
    parts.push(`<path class="edge" d="${d}" marker-end="url(#arrow)"/>`);
  }
  for (const s of record.stages) {
    const n = g.node(s.name);
    const x = n.x - NODE_W / 2;
    const y = n.y - NODE_H / 2;
    const status = shownStatus(s, record.status);
    const time = s.seconds > 0 ? ` ${formatSeconds(s.seconds)}` : "";
    parts.push(
      `<a href="${escapeHtml(href(s.name))}"><g class="node st-${escapeHtml(status)}" ` +
        `data-stage="${escapeHtml(s.name)}">` +
        `<title>${escapeHtml(`${s.name}: ${status}${s.reason ? ` (${s.reason})` : ""}`)}</title>` +
        `<rect x="${x}" y="${y}" width="${NODE_W}" height="${NODE_H}" rx="6"/>` +
        `<text x="${x + 8}" y="${y + 18}" class="name">${escapeHtml(clip(s.name, 22))}</text>` +
        `<text x="${x + 8}" y="${y + 33}" class="status" data-stage-status="${
          escapeHtml(s.name)
        }">${escapeHtml(status + time)}</text>` +
        `<text x="${x + 8}" y="${y + 47}" class="reason">${
          escapeHtml(clip(s.reason, MAX_REASON))
        }</text></g></a>`,
    );
  }
  return `<svg class="dag" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `xmlns="http://www.w3.org/2000/svg" role="img" aria-label="stage graph">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" ` +
    `markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>` +
    `${parts.join("")}</svg>`;
}
