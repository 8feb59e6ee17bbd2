/**
 * The experiments page and the runs table of one experiment (like `dvc exp show`).
 *
 * @module
 */

import { escapeHtml as h, formatNumber, formatSeconds } from "./html.ts";
import type { ExperimentSummary, RunsTable, UiRun } from "./data.ts";
import { badge, link, type PageLinks, type PageShell, value } from "./page.ts";

/** The page listing experiments. */
export function experimentsPage(runsDir: string, list: ExperimentSummary[], links: PageLinks) {
  const rows = list.map((e) =>
    `<tr><td>${link(links.experiment(e.name), e.name)}</td><td class="num">${e.runs}</td>` +
    `<td>${e.latest ? `${e.latest.run} ${badge(e.latest.status)}` : ""}</td>` +
    `<td>${h(e.latest?.started ?? "")}</td></tr>`
  ).join("\n");
  const body = `<h1>Experiments</h1><p class="muted">${h(runsDir)}</p>` +
    (list.length === 0
      ? "<p>No runs yet: <code>deno task run experiments/smoke.yaml</code>.</p>"
      : `<table class="sortable" id="experiments"><thead><tr><th>experiment</th><th>runs</th>` +
        `<th>latest</th><th>started</th></tr></thead><tbody>${rows}</tbody></table>`);
  return { title: "ditto: experiments", body };
}

function countCell(counts: Record<string, number>, status: string): string {
  const n = counts[status] ?? 0;
  return `<td class="num" data-v="${n}">${n || ""}</td>`;
}

/** Rows of the runs table shown before "show all" (keeps 1,000 runs fast to lay out). */
export const FIRST_ROWS = 100;

/** The runs table of an experiment: one row per run, newest first, sortable and filterable. */
export function experimentPage(table: RunsTable, runs: UiRun[], links: PageLinks): PageShell {
  const statuses = ["ran", "cached", "failed", "blocked", "interrupted"].filter((s) =>
    table.rows.some((r) => (r.counts[s] ?? 0) > 0)
  );
  const head = [
    "",
    "run",
    "status",
    "started",
    "duration",
    "commit",
    ...statuses,
    ...table.params,
    ...table.metrics,
  ].map((c, i) => i === 0 ? "<th></th>" : `<th>${h(c)}</th>`).join("");
  const order = table.rows.map((_, i) => i).reverse();
  const body = order.map((i, shown) => {
    const r = table.rows[i];
    const href = links.run(runs[i]);
    const git = r.git ? `${r.git.commit.slice(0, 8)}${r.git.dirty ? "+" : ""}` : "";
    return `<tr${shown >= FIRST_ROWS ? " hidden" : ""}>` +
      `<td><input type="checkbox" class="pick" value="${h(r.name)}" ` +
      `aria-label="pick ${h(r.name)}"></td>` +
      `<td class="num" data-v="${r.run}">${link(href, String(r.run))}</td>` +
      `<td>${badge(r.status)}</td><td data-v="${h(r.started)}">${
        h(r.started.replace("T", " ").slice(0, 19))
      }</td>` +
      `<td class="num" data-v="${r.seconds}">${h(formatSeconds(r.seconds))}</td>` +
      `<td title="${h(r.git?.commit ?? "")}"><code>${h(git)}</code></td>` +
      statuses.map((s) => countCell(r.counts, s)).join("") +
      table.params.map((p) => {
        const v = r.params[p];
        return `<td data-v="${h(typeof v === "number" ? v : v === undefined ? "" : v)}">${
          v === undefined ? "" : value(v)
        }</td>`;
      }).join("") +
      table.metrics.map((m) => {
        const v = r.metrics[m];
        return v === undefined
          ? "<td></td>"
          : `<td class="num" data-v="${v}">${h(formatNumber(v))}</td>`;
      }).join("") + "</tr>";
  }).join("\n");
  const page = `<h1>${h(table.experiment)}</h1>
<div class="toolbar"><input class="filter" type="search" placeholder="filter rows: words all present"
 data-table="runs" data-count="shown" aria-label="filter runs">
<span><span id="shown">${table.rows.length}</span> of ${table.rows.length} runs</span>
<button id="show-all" type="button" data-table="runs" data-first="${FIRST_ROWS}"${
    table.rows.length > FIRST_ROWS ? "" : " hidden"
  }>show all (first ${FIRST_ROWS} shown)</button>
<button id="compare" type="button" disabled>Compare</button>
<span class="muted">tick 2 to 5 runs to compare</span></div>
<div class="wide"><table class="sortable" id="runs"><thead><tr>${head}</tr></thead>
<tbody>${body}</tbody></table></div>
<p class="muted">Columns: settings that differ between runs, then each stage's final metrics.</p>`;
  return { title: `ditto: ${table.experiment}`, body: page };
}
