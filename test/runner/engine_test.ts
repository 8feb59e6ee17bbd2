import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertMatch,
  DEMO,
  stage,
  statuses,
  tempProject,
} from "./_helpers.ts";

Deno.test("runExperiment() runs every stage once, then reuses all of them", async () => {
  await using p = await tempProject(DEMO);
  const first = await p.run("exp/demo.yaml");
  assertEquals(first.status, "succeeded");
  assertEquals(statuses(first), { make: "ran", total: "ran" });
  assertEquals(stage(first, "make").reason, "no stored result");
  assertEquals(p.read("runs/demo/0001/total/total.txt"), "12\n");
  const second = await p.run("exp/demo.yaml");
  assertEquals(statuses(second), { make: "cached", total: "cached" });
  assertEquals(second.run, 2);
  assertEquals(p.read("runs/demo/0002/total/total.txt"), "12\n");
  assertEquals(Deno.readLinkSync(join(p.runsDir, "demo", "latest")), "0002");
  assertEquals(first.stages.map((s) => s.key), second.stages.map((s) => s.key));
});

Deno.test("runExperiment() reruns a stage whose parameter changed and names old -> new", async () => {
  await using p = await tempProject(DEMO);
  await p.run("exp/demo.yaml");
  const report = await p.run("exp/demo.yaml", { sets: ["params.n=4"] });
  assertEquals(stage(report, "make"), { status: "ran", reason: "param n 3 -> 4" });
  assertEquals(stage(report, "total"), {
    status: "ran",
    reason: "upstream output make.rows changed",
  });
  assertEquals(p.read(`runs/demo/0002/total/total.txt`), "20\n");
});

Deno.test("runExperiment() reruns on dep content change but not on a touch", async () => {
  await using p = await tempProject(DEMO);
  await p.run("exp/demo.yaml");
  const input = join(p.dir, "exp/data/input.txt");
  const later = new Date(Date.now() + 5000);
  Deno.utimeSync(input, later, later);
  const touched = await p.run("exp/demo.yaml");
  assertEquals(statuses(touched), { make: "cached", total: "cached" });
  p.write("exp/data/input.txt", "9\n2\n3\n4\n5\n");
  const changed = await p.run("exp/demo.yaml");
  assertEquals(stage(changed, "make"), { status: "ran", reason: "dep input changed" });
  assertEquals(stage(changed, "total").status, "ran");
});

Deno.test("runExperiment() keeps downstream cached when a rerun gives identical output (early cutoff)", async () => {
  await using p = await tempProject(DEMO);
  await p.run("exp/demo.yaml");
  // A different command with the same output.
  const yaml = p.read("exp/demo.yaml").replace("head -n ${params.n}", "head -n${params.n}");
  p.write("exp/demo.yaml", yaml);
  const report = await p.run("exp/demo.yaml");
  assertEquals(stage(report, "make"), { status: "ran", reason: "command changed" });
  assertEquals(stage(report, "total"), { status: "cached", reason: "cached" });
});

Deno.test("runExperiment() reruns a forced stage and keeps identical downstream cached", async () => {
  await using p = await tempProject(DEMO);
  await p.run("exp/demo.yaml");
  const report = await p.run("exp/demo.yaml", { force: ["make"] });
  assertEquals(stage(report, "make"), { status: "ran", reason: "forced" });
  assertEquals(stage(report, "total").status, "cached");
  const all = await p.run("exp/demo.yaml", { force: true });
  assertEquals(stage(all, "make"), { status: "ran", reason: "forced" });
  assertEquals(stage(all, "total"), { status: "ran", reason: "forced" });
});

Deno.test("runExperiment() changes no key when the project folder moves", async () => {
  await using p = await tempProject({
    ...DEMO,
    "exp/step.ts": `export default {
  description: "copies rows", params: {}, inputs: { rows: { description: "rows" } },
  outputs: ["copy.txt"],
  async run(ctx) { await Deno.copyFile(ctx.inputs.rows, ctx.output("copy.txt")); },
};\n`,
    "exp/demo.yaml": DEMO["exp/demo.yaml"] +
      `  copy:\n    uses: ./step.ts\n    inputs: { rows: "\${stages.make.outs.rows}" }\n`,
  });
  const first = await p.run("exp/demo.yaml");
  assertEquals(first.status, "succeeded");
  // Same store, the experiment folder somewhere else.
  Deno.renameSync(join(p.dir, "exp"), join(p.dir, "moved"));
  const moved = await p.run("moved/demo.yaml");
  assertEquals(statuses(moved), { make: "cached", total: "cached", copy: "cached" });
  assertEquals(moved.stages.map((s) => s.key), first.stages.map((s) => s.key));
});

const TS_STAGE = {
  "exp/ts.yaml": `name: ts
seed: 7
stages:
  gen:
    uses: ./gen.ts
    with: { count: 3 }
  use:
    run: "wc -l < \${stages.gen.outs.numbers} > n.txt"
    outs: { n: n.txt }
`,
  "exp/gen.ts": `import { scale } from "./lib.ts";
export default {
  description: "writes seeded numbers",
  params: { count: { type: "integer", default: 2, description: "how many" } },
  outputs: ["numbers"],
  async run(ctx) {
    const lines = [];
    for (let i = 0; i < ctx.params.count; i++) lines.push(scale(ctx.rng.nextFloat()));
    ctx.metrics.log(0, { last: lines[lines.length - 1] });
    ctx.report({ backend: "none" });
    await Deno.writeTextFile(ctx.output("numbers"), lines.join("\\n") + "\\n");
  },
};
`,
  "exp/lib.ts": `export function scale(x: number): number { return Math.floor(x * 1000); }\n`,
  "exp/unrelated.ts": `export const x = 1;\n`,
};

Deno.test("runExperiment() reruns a TS stage when a module it imports changes, naming the file", async () => {
  await using p = await tempProject(TS_STAGE);
  const first = await p.run("exp/ts.yaml");
  assertEquals(first.status, "succeeded", JSON.stringify(first.stages));
  const gen = first.stages.find((s) => s.name === "gen")!;
  assertEquals(gen.facts, { backend: "none" });
  assert("last" in gen.metrics);
  p.write("exp/unrelated.ts", "export const x = 2;\n");
  const unrelated = await p.run("exp/ts.yaml");
  assertEquals(statuses(unrelated), { gen: "cached", use: "cached" });
  p.write(
    "exp/lib.ts",
    "export function scale(x: number): number { return Math.floor(x * 10); }\n",
  );
  const changed = await p.run("exp/ts.yaml");
  assertEquals(stage(changed, "gen"), { status: "ran", reason: "code changed (lib.ts)" });
  assertEquals(stage(changed, "use"), {
    status: "ran",
    reason: "upstream output gen.numbers changed",
  });
});

Deno.test("runExperiment() validates TS stage parameters and reruns on a changed one", async () => {
  await using p = await tempProject(TS_STAGE);
  await p.run("exp/ts.yaml");
  const report = await p.run("exp/ts.yaml", { sets: ["stages.gen.with.count=4"] });
  assertEquals(stage(report, "gen"), { status: "ran", reason: "param count 3 -> 4" });
  assertEquals(stage(report, "use"), {
    status: "ran",
    reason: "upstream output gen.numbers changed",
  });
  const seed = await p.run("exp/ts.yaml", { sets: ["stages.gen.with.count=4", "seed=8"] });
  assertEquals(stage(seed, "gen"), { status: "ran", reason: "seed 7 -> 8" });
});

Deno.test("runExperiment() gives a TS stage the same numbers for the same seed", async () => {
  await using p = await tempProject(TS_STAGE);
  await p.run("exp/ts.yaml");
  const a = p.read("runs/ts/0001/gen/numbers");
  const forced = await p.run("exp/ts.yaml", { force: ["gen"] });
  // The stage really ran again (a cached one would trivially give the same bytes) ...
  assertEquals(stage(forced, "gen"), { status: "ran", reason: "forced" });
  // ... and its identical output left the downstream stage cached.
  assertEquals(stage(forced, "use"), { status: "cached", reason: "cached" });
  assertEquals(p.read("runs/ts/0002/gen/numbers"), a);
});

Deno.test("runExperiment() marks dependents of a failed stage blocked and keeps going", async () => {
  await using p = await tempProject({
    "x.yaml": `stages:
  bad: { run: "echo oops >&2; exit 3", outs: { o: o.txt } }
  after: { run: "cat \${stages.bad.outs.o} > p.txt", outs: { p: p.txt } }
  other: { run: "echo ok > q.txt", outs: { q: q.txt } }
  lazy: { run: "true", outs: { r: r.txt } }
`,
  });
  const report = await p.run("x.yaml");
  assertEquals(report.status, "failed");
  assertEquals(statuses(report), { bad: "failed", after: "blocked", other: "ran", lazy: "failed" });
  const bad = report.stages.find((s) => s.name === "bad")!;
  assertMatch(bad.error!, /exit code 3[\s\S]*oops/);
  assertEquals(stage(report, "after").reason, "upstream bad failed");
  assertMatch(report.stages.find((s) => s.name === "lazy")!.error!, /did not create r \(r\.txt\)/);
  assertEquals(p.read("runs/x/0001/logs/bad.log"), "oops\n");
});

Deno.test("runExperiment() stores directory outputs as Merkle trees and links them read-only", async () => {
  await using p = await tempProject({
    "d.yaml": `stages:
  tree:
    run: "mkdir -p out/sub && echo a > out/a.txt && echo b > out/sub/b.txt"
    outs: { out: out }
  count:
    run: "ls -R \${stages.tree.outs.out} | wc -l > n.txt"
    outs: { n: n.txt }
`,
  });
  const report = await p.run("d.yaml");
  assertEquals(report.status, "succeeded");
  const out = report.stages[0].outputs.out;
  assertEquals(out.type, "dir");
  assertEquals(out.bytes, 4);
  assertEquals(p.read("runs/d/0001/tree/out/sub/b.txt"), "b\n");
  const info = Deno.statSync(join(p.runsDir, "d/0001/tree/out/a.txt"));
  assertEquals(info.mode! & 0o222, 0);
  assert(info.nlink! >= 2, "outputs are hardlinked to the store");
  const again = await p.run("d.yaml");
  assertEquals(again.stages[0].outputs.out.hash, out.hash);
  assertEquals(p.read("runs/d/0002/tree/out/a.txt"), "a\n");
});

Deno.test("runExperiment() reruns a cached stage whose stored objects were deleted", async () => {
  await using p = await tempProject(DEMO);
  const first = await p.run("exp/demo.yaml");
  const hash = first.stages[0].outputs.rows.hash;
  const object = join(p.runsDir, ".store/objects", hash.slice(0, 2), hash);
  Deno.chmodSync(object, 0o644);
  Deno.removeSync(object);
  const report = await p.run("exp/demo.yaml");
  assertEquals(stage(report, "make"), { status: "ran", reason: "stored outputs missing" });
  assertEquals(stage(report, "total").status, "cached");
});

Deno.test("runExperiment() with dryRun reports decisions and writes no run", async () => {
  await using p = await tempProject(DEMO);
  await p.run("exp/demo.yaml");
  const report = await p.run("exp/demo.yaml", { dryRun: true, sets: ["params.scale=3"] });
  assertEquals(report.status, "dry-run");
  assertEquals(report.run, null);
  assertEquals(statuses(report), { make: "cached", total: "pending" });
  assertEquals(stage(report, "total").reason, "param scale 2 -> 3");
  const changed = await p.run("exp/demo.yaml", { dryRun: true, sets: ["params.n=2"] });
  assertEquals(stage(changed, "total"), { status: "pending", reason: "upstream make will run" });
  assertEquals(changed.stages[1].key, null);
  const runs = [...Deno.readDirSync(join(p.runsDir, "demo"))].map((e) => e.name).sort();
  assertEquals(runs.filter((n) => /^\d+$/.test(n)), ["0001"]);
});

Deno.test("runExperiment() runs independent stages in parallel up to jobs", async () => {
  const stages = ["a", "b", "c", "d"].map((n) =>
    `  ${n}: { run: "echo ${n}; date +%s%N > t0; sleep 1; date +%s%N >> t0; mv t0 t.txt", outs: { t: t.txt } }`
  ).join("\n");
  await using p = await tempProject({ "par.yaml": `stages:\n${stages}\n` });
  const report = await p.run("par.yaml", { jobs: 2 });
  assertEquals(report.status, "succeeded");
  const spans = ["a", "b", "c", "d"].map((n) =>
    p.read(`runs/par/0001/${n}/t.txt`).trim().split("\n").map(Number)
  );
  // Count the maximum number of overlapping intervals.
  const events = spans.flatMap(([s, e]) => [[s, 1], [e, -1]]).sort((x, y) =>
    x[0] - y[0] || x[1] - y[1]
  );
  let now = 0, max = 0;
  for (const [, d] of events) max = Math.max(max, now += d);
  assertEquals(max, 2);
});

Deno.test("runExperiment() resolves references to TS outputs whose names contain dots", async () => {
  await using p = await tempProject({
    "x.yaml": `stages:
  gen: { uses: ./gen.ts }
  use: { run: "cat \${stages.gen.outs.summary.json} > copy.json", outs: { copy: copy.json } }
`,
    "gen.ts": `export default {
  description: "writes a summary", params: {}, outputs: ["summary.json"],
  async run(ctx) { await Deno.writeTextFile(ctx.output("summary.json"), '{"ok":true}'); },
};
`,
  });
  const report = await p.run("x.yaml");
  assertEquals(statuses(report), { gen: "ran", use: "ran" });
  assertEquals(p.read("runs/x/0001/use/copy.json"), '{"ok":true}');
});

Deno.test("runExperiment() writes a config.yaml that runs as is, with the same keys", async () => {
  await using p = await tempProject({
    ...TS_STAGE,
    "exp/ts.yaml": TS_STAGE["exp/ts.yaml"] +
      `  tail:\n    run: "tail -n 1 \${deps.data} > t.txt"\n` +
      `    deps: { data: lib.ts }\n    outs: { t: t.txt }\n`,
  });
  const first = await p.run("exp/ts.yaml", { sets: ["stages.gen.with.count=5"] });
  assertEquals(first.status, "succeeded");
  // The resolved config, copied to another folder, reproduces every key.
  p.write("elsewhere/config.yaml", p.read("runs/ts/0001/config.yaml"));
  const again = await p.run("elsewhere/config.yaml");
  assertEquals(statuses(again), { gen: "cached", use: "cached", tail: "cached" });
  assertEquals(again.stages.map((s) => s.key), first.stages.map((s) => s.key));
});
