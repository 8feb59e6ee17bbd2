/**
 * The page of one run: parameters, the stage graph, images, stages and timeline, then each
 * stage's metric curves, artifacts and log, the resolved `config.yaml` and the environment.
 *
 * @module
 */

import { join } from "node:path";
import { stringify } from "yaml";
import { formatBytes } from "../runs/diff/mod.ts";
import type { ProgressState, StageReport } from "../runner/mod.ts";
import { escapeHtml as h, formatNumber, formatSeconds } from "./html.ts";
import { dagSvg, shownStatus } from "./dag.ts";
import {
  type Artifact,
  readPage,
  runSettings,
  stageArtifacts,
  stageTimes,
  type UiRun,
} from "./data.ts";
import {
  badge,
  encodeRun,
  link,
  type PageData,
  type PageLinks,
  type PageShell,
  stageAnchor,
  value,
} from "./page.ts";

const TEXT_INLINE_BYTES = 32 * 1024;
const LOG_TAIL_BYTES = 64 * 1024;

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
      }</span> <span class="muted" data-stage-progress="${h(s.name)}">${
        h(progressText(s.progress))
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

/**
 * A running stage's progress as the page shows it (`120/300 steps, loss 0.5`); the page's script
 * formats the polled state the same way.
 *
 * @param progress The stage's `progress` in run.json, if any.
 * @returns The text, empty without progress.
 */
export function progressText(progress?: ProgressState): string {
  if (!progress) return "";
  const count = progress.total > 0
    ? `${progress.done}/${progress.total} ${progress.unit}`
    : `${progress.done} ${progress.unit}`;
  return progress.message ? `${count}, ${progress.message}` : count;
}
