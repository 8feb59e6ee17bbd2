import { join } from "node:path";
import { diffRuns, sparkline } from "../../src/runs/diff/mod.ts";
import { loadRun } from "../../src/runner/runs.ts";
import { resolvePair } from "../../src/runs/run_data.ts";
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
  cli,
  tinyProject,
} from "./helpers.ts";

Deno.test("sparkline() scales a series over the shared range", () => {
  assertEquals(sparkline([0, 1, 2, 3, 4, 5, 6, 7], { lo: 0, hi: 7 }), "▁▂▃▄▅▆▇█");
  assertEquals(sparkline([5, 5], { lo: 0, hi: 10 }), "▅▅");
  assertEquals(sparkline([1, 2, 3, 4], { width: 2, lo: 1, hi: 4 }), "▂▇");
  assertEquals(sparkline([]), "");
});

Deno.test("diffRuns() reports parameters, stage keys, metrics and artifacts that changed", async () => {
  await using p = await tinyProject();
  await p.run();
  await p.run(["params.n=4", "stages.fit.with.steps=6"]);
  const [a, b] = resolvePair(p.runs, ["tiny"]);
  assertEquals([a.name, b.name], ["tiny/0001", "tiny/0002"]);
  const d = diffRuns(a, b);
  assertEquals(d.params.map((c) => [c.path, c.a, c.b]), [
    ["params.n", 3, 4],
    ["stages.fit.with.steps", 4, 6],
  ]);
  assertEquals(d.seed.changed, false);
  assertEquals(d.stages.map((s) => s.stage), ["make", "total", "fit"]);
  assert(d.stages.every((s) => s.keyChanged && s.a?.status === "ran" && s.b?.status === "ran"));
  const loss = d.metrics.find((m) => m.metric === "loss")!;
  assertEquals([loss.a?.steps, loss.b?.steps, loss.goal], [4, 6, "min"]);
  assertEquals(loss.delta, loss.b!.final - loss.a!.final);
  assertEquals(loss.a!.best, Math.min(loss.a!.final, loss.a!.best));
  assertEquals(loss.b!.spark.length, 6);
  const model = d.artifacts.find((x) => x.output === "model")!;
  assertEquals(model.files.map((f) => f.path), ["meta.txt", "weights.json"]);
  assert(!d.identical);
  // A third run with the first run's values is cached everywhere and identical in outputs.
  await p.run();
  const same = diffRuns(loadRun(p.runs, "tiny/1"), loadRun(p.runs, "tiny/3"));
  assertEquals(same.params, []);
  assertEquals(same.artifacts, []);
  assertEquals(same.metrics, []);
  assertEquals(same.stages.map((s) => [s.stage, s.a?.status, s.b?.status, s.keyChanged]), [
    ["make", "ran", "cached", false],
    ["total", "ran", "cached", false],
    ["fit", "ran", "cached", false],
  ]);
  const all = diffRuns(loadRun(p.runs, "tiny/1"), loadRun(p.runs, "tiny/3"), { all: true });
  assert(all.artifacts.length === 4 && all.artifacts.every((x) => !x.changed));
});

Deno.test("diff CLI prints JSON, text with code changes, and an HTML page with both images", async () => {
  await using p = await tinyProject();
  await p.run();
  const fit = join(p.dir, "fit.ts");
  await Deno.writeTextFile(fit, (await Deno.readTextFile(fit)).replace("0.01", "0.02"));
  await p.run();
  const html = join(p.dir, "d.html");
  const json = await cli(["diff", "tiny/1", "tiny/2", "--runs", p.runs, "--json", "--html", html]);
  assertEquals(json.code, 0, json.stderr);
  const d = JSON.parse(json.stdout);
  assertEquals(d.code.map((c: { stage: string }) => c.stage), ["fit"]);
  assertEquals(d.code[0].files.map((f: { path: string }) => f.path), ["fit.ts"]);
  assertEquals(
    d.stages.map((s: { stage: string; keyChanged: boolean; b: { status: string } }) => [
      s.stage,
      s.keyChanged,
      s.b.status,
    ]),
    [["make", false, "cached"], ["total", false, "cached"], ["fit", true, "ran"]],
  );
  const page = await Deno.readTextFile(html);
  assertEquals(page.match(/<img /g)?.length, 2);
  assertMatch(page, /data:image\/png;base64,/);
  assertEquals(page.match(/<polyline /g)?.length, 2);
  const text = await cli(["diff", "tiny", "--runs", p.runs]);
  assertEquals(text.code, 0, text.stderr);
  assertStringIncludes(text.stdout, "diff tiny/0001 -> tiny/0002");
  assertStringIncludes(text.stdout, "fit.ts");
  assertStringIncludes(text.stdout, "fit.loss");
  const bad = await cli(["diff", "nope", "--runs", p.runs]);
  assertEquals(bad.code, 2);
});
