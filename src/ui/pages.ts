/**
 * The pages, rendered on the server as HTML strings: experiments, the runs table of an
 * experiment, a run, and the comparison of 2 to 5 runs. The same renderers build the
 * self-contained report, with files inlined instead of linked (see {@linkcode PageLinks}).
 *
 * @module
 */

import { join } from "node:path";
import { stringify } from "yaml";
import { diffRuns, formatBytes, formatDiff, type RunDiff } from "../runs/diff.ts";
import type { StageReport } from "../runner/mod.ts";
import { escapeHtml as h, formatNumber, formatSeconds, jsonForScript } from "./html.ts";
import { dagSvg, shownStatus } from "./dag.ts";
import {
  type Artifact,
  type ExperimentSummary,
  readPage,
  runSettings,
  type RunsTable,
  stageArtifacts,
  stageTimes,
  type UiRun,
} from "./data.ts";

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

const TEXT_INLINE_BYTES = 32 * 1024;
const LOG_TAIL_BYTES = 64 * 1024;

function link(href: string | undefined, text: string): string {
  return href === undefined ? h(text) : `<a href="${h(href)}">${h(text)}</a>`;
}

function badge(status: string, id?: string): string {
  return `<span class="badge st-${h(status)}"${id ? ` id="${h(id)}"` : ""}>${h(status)}</span>`;
}

/** Anchor id of a stage's section. */
export function stageAnchor(stage: string): string {
  return `stage-${stage.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

function value(v: unknown): string {
  if (v === undefined) return `<span class="muted">(absent)</span>`;
  if (typeof v === "number") return h(formatNumber(v));
  return h(typeof v === "string" ? v : JSON.stringify(v));
}

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

function artifactHtml(run: UiRun, a: Artifact, links: PageLinks): string {
  const href = links.file(run, a.path, a.bytes);
  const size = formatBytes(a.bytes);
  if (a.kind === "image") {
    return href === undefined
      ? `<figure><figcaption>${h(a.path)} (${size}, too big to inline)</figcaption></figure>`
      : `<figure><img src="${h(href)}" alt="${h(a.path)}" loading="lazy">` +
        `<figcaption>${h(a.path)} (${size})</figcaption></figure>`;
  }
  if (a.kind === "text" && a.bytes <= TEXT_INLINE_BYTES) {
    let text = readPage(join(run.dir, a.path), 0, TEXT_INLINE_BYTES)?.text ?? "";
    if (a.path.endsWith(".json")) {
      try {
        text = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // Shown as it is.
      }
    }
    return `<details open><summary>${link(href, a.path)} (${size})</summary>` +
      `<pre>${h(text)}</pre></details>`;
  }
  return `<div>${link(href, a.path)} <span class="muted">(${size})</span></div>`;
}

function timeline(run: UiRun): string {
  const times = stageTimes(run.record);
  const total = Math.max(1e-9, ...[...times.values()].map((t) => t.end));
  const rows = run.record.stages.map((s) => {
    const t = times.get(s.name)!;
    const left = (t.start / total) * 100;
    const width = ((t.end - t.start) / total) * 100;
    const status = shownStatus(s, run.record.status);
    return `<div class="row" title="${h(`${s.name}: ${formatSeconds(s.seconds)}`)}">` +
      `<span class="label">${h(s.name)} ${h(formatSeconds(s.seconds))}</span>` +
      `<span class="track"><span class="bar st-${h(status)}" style="left:${left.toFixed(2)}%;` +
      `width:${width.toFixed(2)}%"></span></span></div>`;
  }).join("");
  return `<div class="timeline">${rows}</div><p class="muted">Start times are estimated: each ` +
    `stage starts when its last upstream stage ends (run.json records durations).</p>`;
}

function stageSection(run: UiRun, s: StageReport, links: PageLinks): string {
  const config = (run.record.config?.stages ?? {}) as Record<string, Record<string, unknown>>;
  const def = config[s.base ?? s.name] ?? {};
  const status = shownStatus(s, run.record.status);
  const parts: string[] = [
    `<section class="stage" id="${h(stageAnchor(s.name))}"><h3>${h(s.name)} ${badge(status)} ` +
    `<span class="muted">${h(s.reason)}${
      s.seconds > 0 ? `, ${h(formatSeconds(s.seconds))}` : ""
    }</span></h3>`,
  ];
  if (def.description) parts.push(`<p>${h(def.description)}</p>`);
  if (s.error) parts.push(`<pre class="error">${h(s.error)}</pre>`);
  const kv: [string, unknown][] = [
    ["kind", s.uses ? `${s.kind} (${s.uses})` : s.kind],
    ["key", s.key ?? "-"],
  ];
  if (def.run) kv.push(["command", def.run]);
  if (s.matrix) kv.push(["matrix", s.matrix]);
  if (def.with) kv.push(["with", def.with]);
  if (Object.keys(s.facts ?? {}).length > 0) kv.push(["facts", s.facts]);
  for (const [name, o] of Object.entries(s.outputs)) {
    kv.push([`output ${name}`, `${o.type} ${o.hash.slice(0, 12)} ${formatBytes(o.bytes)}`]);
  }
  parts.push(
    `<details><summary>settings, key and outputs</summary><table class="kv">${
      kv.map(([k, v]) => `<tr><td>${h(k)}</td><td><code>${value(v)}</code></td></tr>`).join("")
    }</table></details>`,
  );
  const finals = Object.entries(s.metrics ?? {});
  if (finals.length > 0) {
    parts.push(
      `<div class="cols"><table class="kv metrics">${
        finals.map(([k, v]) =>
          `<tr><td>${h(k)}</td><td class="num">${h(formatNumber(v))}</td></tr>`
        )
          .join("")
      }</table>`,
      `<div class="charts grow" data-runs="${h(run.name)}" data-stage="${h(s.name)}"></div></div>`,
    );
  }
  const { files, truncated } = stageArtifacts(run.dir, s.name);
  if (files.length > 0) {
    const images = files.filter((f) => f.kind === "image");
    const others = files.filter((f) => f.kind !== "image");
    if (images.length > 0) {
      parts.push(
        `<div class="gallery">${images.map((a) => artifactHtml(run, a, links)).join("")}</div>`,
      );
    }
    const shown = others.map((a) => artifactHtml(run, a, links));
    if (shown.length > 6) {
      parts.push(
        `<details><summary>${shown.length} more files</summary>${shown.join("")}</details>`,
      );
    } else {
      parts.push(...shown);
    }
    if (truncated) parts.push(`<p class="muted">(more files not listed)</p>`);
  }
  const logPath = join(run.dir, "logs", `${s.name}.log`);
  const tail = readPage(logPath, -LOG_TAIL_BYTES, LOG_TAIL_BYTES);
  if (tail && tail.size > 0) {
    const id = `log-${stageAnchor(s.name)}`;
    const earlier = tail.offset > 0 && !links.report
      ? `<button type="button" class="earlier" data-log="${h(id)}" data-url="${
        h(`/api/log/${encodeRun(run)}/${encodeURIComponent(s.name)}`)
      }">load earlier lines</button>`
      : "";
    parts.push(
      `<details${status === "failed" ? " open" : ""}><summary>log (${formatBytes(tail.size)}${
        tail.offset > 0 ? `, last ${formatBytes(tail.size - tail.offset)}` : ""
      })</summary>` +
        `${earlier}<pre id="${h(id)}" data-offset="${tail.offset}">${h(tail.text)}</pre></details>`,
    );
  }
  parts.push("</section>");
  return parts.join("\n");
}

/** `<experiment>/<NNNN>` with each part URL-encoded. */
export function encodeRun(run: UiRun): string {
  return run.name.split("/").map(encodeURIComponent).join("/");
}

/** Every image of the run, by stage: the story of an experiment at one glance. */
function media(run: UiRun, links: PageLinks): string {
  const figures: string[] = [];
  for (const s of run.record.stages) {
    for (const a of stageArtifacts(run.dir, s.name).files) {
      if (a.kind !== "image") continue;
      const href = links.file(run, a.path, a.bytes);
      if (href === undefined) continue;
      figures.push(
        `<figure><a href="#${h(stageAnchor(s.name))}"><img src="${h(href)}" alt="${h(a.path)}" ` +
          `loading="lazy"></a><figcaption>${h(a.path)}</figcaption></figure>`,
      );
    }
  }
  return figures.length === 0
    ? ""
    : `<h3>Images</h3><div class="gallery" id="media">${figures.join("")}</div>`;
}

/** The run's experiment parameters and seed (stage settings are in each stage's section). */
function paramsTable(run: UiRun): string {
  const rows = [...runSettings(run.record)].filter(([k]) => !k.startsWith("stages."));
  return rows.length === 0
    ? ""
    : `<table class="kv" id="params"><tr><th colspan="2">parameters</th></tr>${
      rows.map(([k, v]) => `<tr><td>${h(k)}</td><td>${value(v)}</td></tr>`).join("")
    }</table>`;
}

/**
 * The page of one run.
 *
 * @param run The run.
 * @param links How to link files and pages.
 * @param data Data for the page's script (embedded series, live polling).
 * @param previous The run before it, to link their comparison.
 * @returns Title and body.
 */
export function runPage(
  run: UiRun,
  links: PageLinks,
  data: PageData = {},
  previous?: UiRun,
): PageShell {
  const r = run.record;
  const env = r.environment;
  const git = env?.git ? `${env.git.commit}${env.git.dirty ? " (dirty)" : ""}` : "-";
  const resumed = (r as { resumed_from?: { run?: string } }).resumed_from?.run;
  const meta: [string, string][] = [
    ["experiment", link(links.experiment(r.experiment), r.experiment)],
    ["started", h(r.started)],
    ["finished", h(r.finished ?? "-")],
    ["duration", h(formatSeconds(r.seconds))],
    ["file", `<code>${h(r.file)}</code>`],
    ["host", h(r.host)],
    ["git", `<code>${h(git)}</code>`],
  ];
  if (resumed) meta.push(["resumed from", h(resumed)]);
  const compare = previous && links.compare?.([previous, run]);
  if (compare) meta.push(["previous run", link(compare, `compare with ${previous!.name}`)]);
  const stageRows = r.stages.map((s) => {
    const status = shownStatus(s, r.status);
    return `<tr><td><a href="#${h(stageAnchor(s.name))}">${h(s.name)}</a></td>` +
      `<td><span class="badge st-${h(status)}" data-stage-status="${h(s.name)}">${
        h(status)
      }</span></td><td>${h(s.reason)}</td>` +
      `<td class="num" data-v="${s.seconds}">${h(formatSeconds(s.seconds))}</td>` +
      `<td><code>${h(s.key?.slice(0, 12) ?? "-")}</code></td></tr>`;
  }).join("");
  const configYaml = (() => {
    const text = readPage(join(run.dir, "config.yaml"), 0, 256 * 1024)?.text;
    return text ?? stringify(r.config ?? {});
  })();
  const body = `<h1>${h(run.name)} ${badge(r.status, "run-status")}</h1>
<div class="cols"><table class="kv">${
    meta.map(([k, v]) => `<tr><td>${h(k)}</td><td>${v}</td></tr>`).join("")
  }</table>${paramsTable(run)}</div>
<h2 id="stages-heading">Stages</h2>
<div class="wide">${dagSvg(r, (s) => `#${stageAnchor(s)}`)}</div>
${media(run, links)}
<div class="cols"><table class="sortable" id="stages"><thead><tr><th>stage</th><th>status</th>
<th>reason</th><th>time</th><th>key</th></tr></thead><tbody>${stageRows}</tbody></table>
<div class="grow"><h3>Timeline</h3>${timeline(run)}</div></div>
<h2>Stage details</h2>
${r.stages.map((s) => stageSection(run, s, links)).join("\n")}
<h2>config.yaml</h2>
<pre id="config">${h(configYaml)}</pre>
<h2>Environment</h2>
${
    env
      ? `<table class="kv" id="environment">${
        Object.entries(env).map(([k, v]) => `<tr><td>${h(k)}</td><td>${value(v)}</td></tr>`)
          .join("")
      }</table>`
      : '<p class="muted">Recorded when the run finishes.</p>'
  }`;
  return { title: `ditto: ${run.name}`, body, data };
}

/** One row of the comparison: a name and one value per run. */
interface Row {
  name: string;
  values: unknown[];
}

function differing(rows: Row[]): Row[] {
  return rows.filter((r) =>
    r.values.some((v) => JSON.stringify(v) !== JSON.stringify(r.values[0]))
  );
}

/**
 * The rows of the comparison of several runs, from the pairwise diffs of the first run with
 * each other (`diffRuns` with `all`), keeping the rows where any value differs.
 */
export function compareRows(runs: UiRun[]): Record<string, Row[]> {
  const diffs: RunDiff[] = runs.slice(1).map((b) => diffRuns(runs[0], b, { all: true }));
  const groups: Record<string, Map<string, unknown[]>> = {};
  const put = (group: string, name: string, i: number, v: unknown) => {
    const g = groups[group] ??= new Map();
    let values = g.get(name);
    if (!values) g.set(name, values = new Array(runs.length).fill(undefined));
    values[i] = v;
  };
  diffs.forEach((d, j) => {
    const i = j + 1;
    const both = (group: string, name: string, a: unknown, b: unknown) => {
      put(group, name, 0, a);
      put(group, name, i, b);
    };
    for (const p of d.params) both("parameters", p.path, p.a, p.b);
    both("parameters", "seed", d.seed.a, d.seed.b);
    for (const c of d.code) {
      if (c.command) both("code", `${c.stage} command`, c.command.a, c.command.b);
      for (const f of c.files) {
        both("code", `${c.stage} ${f.path}`, f.a?.slice(0, 12), f.b?.slice(0, 12));
      }
      for (const p of c.packages) both("code", `${c.stage} ${p.path}`, p.a, p.b);
    }
    for (const g of d.git) both("git", g.path, g.a, g.b);
    for (const e of d.environment) both("environment", e.path, e.a, e.b);
    for (const s of d.stages) {
      const show = (x?: { status: string; key: string | null }) =>
        x && `${x.status} ${x.key?.slice(0, 12) ?? "-"}`;
      both("stages (status, key)", s.stage, show(s.a), show(s.b));
    }
    for (const m of d.metrics) {
      both("metrics (final)", `${m.stage}.${m.metric}`, m.a?.final, m.b?.final);
    }
    for (const x of d.artifacts) {
      const show = (c?: { hash: string; bytes: number }) =>
        c && `${c.hash.slice(0, 12)} ${formatBytes(c.bytes)}`;
      both("artifacts", `${x.stage}.${x.output}`, show(x.a), show(x.b));
    }
  });
  return Object.fromEntries(
    Object.entries(groups).map(([g, m]) => [
      g,
      differing([...m].map(([name, values]) => ({ name, values }))),
    ]),
  );
}

/** The comparison of 2 to 5 runs: only what differs, curves overlaid, images side by side. */
export function comparePage(runs: UiRun[], links: PageLinks): PageShell {
  const groups = compareRows(runs);
  const headRow = `<tr><th></th>${
    runs.map((r) => `<th>${link(links.run(r), r.name)} ${badge(r.record.status)}</th>`).join("")
  }</tr>`;
  const width = runs.length + 1;
  const rowsHtml = Object.entries(groups).filter(([, rows]) => rows.length > 0).map(([g, rows]) =>
    `<tr class="group" data-group="${h(g)}"><th colspan="${width}">${h(g)}</th></tr>` +
    rows.map((r) =>
      `<tr><td><code>${h(r.name)}</code></td>${
        r.values.map((v) => `<td>${value(v)}</td>`).join("")
      }</tr>`
    ).join("")
  ).join("\n");
  const sections = rowsHtml
    ? `<div class="wide"><table class="compare"><thead>${headRow}</thead><tbody>${rowsHtml}` +
      `</tbody></table></div>`
    : "";
  const stages = [...new Set(runs.flatMap((r) => r.record.stages.map((s) => s.name)))];
  // Curves of the metrics whose final values differ, by stage.
  const changedMetrics = new Map<string, string[]>();
  for (const row of groups["metrics (final)"] ?? []) {
    // The longest stage name that prefixes it (`t@x=1.5.score` is `t@x=1.5`, not `t@x=1`).
    const stage = stages.filter((s) => row.name.startsWith(`${s}.`))
      .sort((a, b) => b.length - a.length)[0];
    if (stage === undefined) continue;
    changedMetrics.set(stage, [
      ...(changedMetrics.get(stage) ?? []),
      row.name.slice(stage.length + 1),
    ]);
  }
  const charts = stages.filter((s) => changedMetrics.has(s)).map((s) =>
    `<h3>${h(s)}</h3><div class="charts" data-runs="${h(runs.map((r) => r.name).join(","))}" ` +
    `data-stage="${h(s)}" data-metrics="${h(JSON.stringify(changedMetrics.get(s)))}"></div>`
  ).join("");
  const changedArtifacts = new Set((groups["artifacts"] ?? []).map((r) => r.name));
  const imageRows: string[] = [];
  for (const s of stages) {
    const perRun = runs.map((r) =>
      new Map(
        stageArtifacts(r.dir, s).files.filter((f) => f.kind === "image").map((f) => [f.path, f]),
      )
    );
    const paths = [...new Set(perRun.flatMap((m) => [...m.keys()]))].sort();
    for (const path of paths) {
      const output = [...changedArtifacts].some((a) => a.startsWith(`${s}.`));
      if (!output) continue;
      imageRows.push(
        `<tr><th>${h(path)}</th>${
          runs.map((r, i) => {
            const f = perRun[i].get(path);
            const href = f && links.file(r, f.path, f.bytes);
            return `<td>${
              href ? `<img src="${h(href)}" alt="${h(`${r.name} ${path}`)}">` : "-"
            }</td>`;
          }).join("")
        }</tr>`,
      );
    }
  }
  const texts = runs.slice(1).map((b) =>
    `<details><summary>deno task diff ${h(runs[0].name)} ${h(b.name)}</summary><pre>${
      h(formatDiff(diffRuns(runs[0], b)))
    }</pre></details>`
  ).join("");
  const body = `<h1>Compare ${runs.map((r) => h(r.name)).join(", ")}</h1>
${sections || "<p>No differences.</p>"}
${charts ? `<h2>Metric curves</h2>${charts}` : ""}
${
    imageRows.length > 0
      ? `<h2>Images side by side</h2><div class="wide"><table class="side-by-side"><thead>${headRow}</thead><tbody>${
        imageRows.join("")
      }</tbody></table></div>`
      : ""
  }
<h2>As text</h2>${texts}`;
  return { title: `ditto: compare ${runs.map((r) => r.name).join(" ")}`, body };
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
