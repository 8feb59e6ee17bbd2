/**
 * The comparison of 2 to 5 runs: only what differs (from the pure diff of `src/runs/diff.ts`),
 * metric curves overlaid, changed images side by side, and the `deno task diff` text.
 *
 * @module
 */

import { diffRuns, formatBytes, formatDiff, type RunDiff } from "../runs/diff/mod.ts";
import { escapeHtml as h } from "./html.ts";
import { stageArtifacts, type UiRun } from "./data.ts";
import { badge, link, type PageLinks, type PageShell, value } from "./page.ts";

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
