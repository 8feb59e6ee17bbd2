import assert from "node:assert/strict";
import type { RunRecord } from "../../src/runner/mod.ts";
import { runsTable, stageUpstream, type UiRun } from "../../src/ui/data.ts";
import type { PageLinks } from "../../src/ui/page.ts";
import { experimentPage, FIRST_ROWS } from "../../src/ui/runs_page.ts";

const LINKS: PageLinks = {
  report: false,
  file: () => undefined,
  run: (r) => `/r/${r.name}`,
  experiment: (e) => `/e/${e}`,
};

function record(run: number, n: number): RunRecord {
  const stage = (name: string, extra = {}) => ({
    name,
    status: "ran" as const,
    kind: "run" as const,
    key: "k".repeat(64),
    reason: "no stored result",
    seconds: 1,
    outputs: {},
    metrics: { loss: n / 10 },
    facts: {},
    deterministic: true,
    ...extra,
  });
  return {
    experiment: "exp",
    run,
    status: "succeeded",
    started: "2026-01-01T00:00:00.000Z",
    finished: null,
    seconds: 2,
    file: "exp.yaml",
    pid: 1,
    host: "h",
    environment: null,
    config: {
      seed: 1,
      params: { n, same: 3 },
      stages: {
        data: {},
        train: { needs: ["data"], matrix: { t: [1, 2] } },
        eval: { needs: ["train"] },
      },
    },
    stages: [
      stage("data"),
      stage("train@t=1", { base: "train", matrix: { t: 1 } }),
      stage("train@t=2", { base: "train", matrix: { t: 2 } }),
      stage("eval@t=1", { base: "eval", matrix: { t: 1 } }),
      stage("eval@t=2", { base: "eval", matrix: { t: 2 } }),
    ],
  };
}

const runs = (count: number): UiRun[] =>
  Array.from({ length: count }, (_, i) => ({
    name: `exp/${String(i + 1).padStart(4, "0")}`,
    dir: `/nowhere/${i + 1}`,
    record: record(i + 1, i % 4),
  }));

Deno.test("runsTable() keeps the settings that differ and every final metric", () => {
  const table = runsTable("exp", runs(3));
  assert.deepEqual(table.params, ["params.n"]);
  assert.deepEqual(table.metrics, [
    "data.loss",
    "train@t=1.loss",
    "train@t=2.loss",
    "eval@t=1.loss",
    "eval@t=2.loss",
  ]);
  assert.deepEqual(table.rows.map((r) => r.params["params.n"]), [0, 1, 2]);
});

Deno.test("stageUpstream() joins matrix variants with the variants that agree", () => {
  assert.deepEqual(Object.fromEntries(stageUpstream(record(1, 1))), {
    data: [],
    "train@t=1": ["data"],
    "train@t=2": ["data"],
    "eval@t=1": ["train@t=1"],
    "eval@t=2": ["train@t=2"],
  });
});

Deno.test("experimentPage() lists the newest runs first and lays out only the first rows", () => {
  const list = runs(FIRST_ROWS + 50);
  const html = experimentPage(runsTable("exp", list), list, LINKS).body;
  const rows = html.match(/<tr(?: hidden)?><td><input/g) ?? [];
  assert.equal(rows.length, FIRST_ROWS + 50);
  assert.equal(rows.filter((r) => r.includes("hidden")).length, 50);
  assert.match(html, /<tr><td><input type="checkbox" class="pick" value="exp\/0150"/);
  assert.match(html, /<button id="show-all" type="button" data-table="runs" data-first="100">/);
});
