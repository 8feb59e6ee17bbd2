import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertMatch,
  CLI,
  DEMO,
  runCli,
  tempProject,
} from "../runner/_helpers.ts";

const cli = runCli;

Deno.test("ditto run --json prints exactly one JSON object of the documented shape", async () => {
  await using p = await tempProject(DEMO);
  const file = join(p.dir, "exp/demo.yaml");
  const r = await cli(["run", file, "--runs", p.runsDir, "--json"]);
  assertEquals(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assertEquals(Object.keys(report), ["experiment", "run", "dir", "status", "stages"]);
  assertEquals([report.experiment, report.run, report.status], ["demo", 1, "succeeded"]);
  assertEquals(report.dir, join(p.runsDir, "demo", "0001"));
  for (const s of report.stages) {
    assertEquals(Object.keys(s), ["name", "status", "key", "reason", "seconds", "outputs"]);
    assertMatch(s.key, /^[0-9a-f]{64}$/);
    for (const o of Object.values(s.outputs) as Record<string, unknown>[]) {
      assertEquals(Object.keys(o), ["hash", "bytes"]);
    }
  }
  assertEquals(report.stages[1].outputs.total.bytes, 3);
  // Human lines go to stderr with --json.
  assertMatch(r.stderr, /✓ make +ran .* no stored result/);
  const again = await cli(["run", file, "--json"], { DITTO_RUNS: p.runsDir });
  assertEquals(JSON.parse(again.stdout).stages.map((s: { status: string }) => s.status), [
    "cached",
    "cached",
  ]);
});

Deno.test("ditto run exits 2 on an invalid experiment, naming file:line:column, and writes nothing", async () => {
  await using p = await tempProject({ "bad.yaml": "stages:\n  a:\n    run: true\n    outz: {}\n" });
  const r = await cli(["run", join(p.dir, "bad.yaml"), "--runs", p.runsDir]);
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /bad\.yaml:3:10: stages\.a\.run: Cannot accept a boolean as a command/);
  assertMatch(
    r.stderr,
    /bad\.yaml:4:5: stages\.a\.outz: Cannot accept unknown stage key "outz"\n {2}hint: did you mean "outs"\?/,
  );
  assertEquals([...Deno.readDirSync(p.dir)].map((e) => e.name), ["bad.yaml"]);
});

Deno.test("ditto run exits 1 when a stage fails and 2 on bad usage", async () => {
  await using p = await tempProject({ "f.yaml": `stages:\n  a: { run: "exit 4" }\n` });
  const failed = await cli(["run", join(p.dir, "f.yaml"), "--runs", p.runsDir, "--json"]);
  assertEquals(failed.code, 1);
  assertEquals(JSON.parse(failed.stdout).stages[0].status, "failed");
  for (
    const args of [
      ["run"],
      ["run", join(p.dir, "f.yaml"), "--jobs", "0"],
      ["run", join(p.dir, "f.yaml"), "--force", "nope"],
      ["run", join(p.dir, "f.yaml"), "--bogus"],
      ["frobnicate"],
    ]
  ) {
    const r = await cli([...args, "--runs", p.runsDir]);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertMatch(r.stderr, /error: Cannot|error: Unknown option|Cannot/);
  }
});

Deno.test("ditto run exits 130 on SIGTERM and marks the running stage interrupted", async () => {
  await using p = await tempProject({
    "s.yaml":
      `stages:\n  a: { run: "sleep 30", outs: { o: o.txt } }\n  b: { run: "cat \${stages.a.outs.o} > p", outs: { p: p } }\n`,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-prompt",
      CLI,
      "run",
      join(p.dir, "s.yaml"),
      "--runs",
      p.runsDir,
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const tmp = join(p.runsDir, ".store/tmp");
  const start = Date.now();
  while (Date.now() - start < 30_000) {
    try {
      if ([...Deno.readDirSync(tmp)].length > 0) break;
    } catch {
      // Not created yet.
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await new Promise((r) => setTimeout(r, 200));
  child.kill("SIGTERM");
  const out = await child.output();
  assertEquals(out.code, 130);
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(report.status, "interrupted");
  assertEquals(report.stages.map((s: { status: string }) => s.status), [
    "interrupted",
    "interrupted",
  ]);
  const record = JSON.parse(p.read("runs/s/0001/run.json"));
  assertEquals(record.status, "interrupted");
});

Deno.test("ditto runs and ditto show list and summarise recorded runs", async () => {
  await using p = await tempProject(DEMO);
  const file = join(p.dir, "exp/demo.yaml");
  await cli(["run", file, "--runs", p.runsDir]);
  await cli(["run", file, "--runs", p.runsDir, "--set", "params.n=2"]);
  const runs = await cli(["runs", "--runs", p.runsDir]);
  assertEquals(runs.code, 0, runs.stderr);
  const lines = runs.stdout.trim().split("\n");
  assertEquals(lines.length, 2);
  assertMatch(lines[0], /^demo\/0001 +succeeded .* 2 ran$/);
  const json = JSON.parse((await cli(["runs", "demo", "--runs", p.runsDir, "--json"])).stdout);
  assertEquals(json.map((r: { run: number }) => r.run), [1, 2]);
  const show = await cli(["show", "demo", "--runs", p.runsDir]);
  assertEquals(show.code, 0, show.stderr);
  assertMatch(show.stdout, /^demo run 2: succeeded/);
  assertMatch(show.stdout, /make +ran .* param n 3 -> 2/);
  assertMatch(show.stdout, /env +deno \d+\.\d+\.\d+, v8 /);
  const one = JSON.parse((await cli(["show", "demo/1", "--runs", p.runsDir, "--json"])).stdout);
  assertEquals(one.run, 1);
  assert(one.environment.git === null || typeof one.environment.git.dirty === "boolean");
  assertEquals((await cli(["show", "demo/9", "--runs", p.runsDir])).code, 2);
});

Deno.test("ditto run on SIGTERM aborts a TypeScript stage through its signal and keeps its checkpoint", async () => {
  await using p = await tempProject({
    "t.yaml": "stages:\n  wait:\n    uses: ./wait.ts\n",
    "wait.ts": `export default {
  description: "saves a checkpoint, then waits for the abort signal",
  params: {}, outputs: ["o"],
  async run(ctx) {
    await ctx.checkpoints.save("state", { step: 1 });
    await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
    await ctx.checkpoints.save("state", { step: 2, aborted: true });
  },
};
`,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-prompt",
      CLI,
      "run",
      join(p.dir, "t.yaml"),
      "--runs",
      p.runsDir,
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const checkpoints = join(p.runsDir, ".store/checkpoints");
  const state = () => {
    try {
      for (const key of Deno.readDirSync(checkpoints)) {
        return JSON.parse(Deno.readTextFileSync(join(checkpoints, key.name, "state")));
      }
    } catch {
      // Not yet.
    }
    return undefined;
  };
  const start = Date.now();
  while (!state() && Date.now() - start < 60_000) await new Promise((r) => setTimeout(r, 25));
  child.kill("SIGTERM");
  const out = await child.output();
  assertEquals(out.code, 130);
  assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)).stages[0].status, "interrupted");
  assertEquals(state(), { step: 2, aborted: true });
});

Deno.test("ditto run --json lists matrix variants with base and matrix; runs, show and diff group them", async () => {
  await using p = await tempProject({
    "sweep.yaml": `stages:
  prep:
    run: "echo 1 > rows.txt"
    outs: { rows: rows.txt }
  train:
    matrix: { temperature: [0.5, 1.15] }
    run: "cat \${stages.prep.outs.rows} > m.txt; echo \${matrix.temperature} >> m.txt"
    outs: { model: m.txt }
  evaluate:
    run: "cp \${stages.train.outs.model} score.txt"
    outs: { score: score.txt }
`,
  });
  const file = join(p.dir, "sweep.yaml");
  const r = await cli(["run", file, "--runs", p.runsDir, "--json"]);
  assertEquals(r.code, 0, r.stderr);
  const stages = JSON.parse(r.stdout).stages;
  assertEquals(stages.map((s: { name: string }) => s.name), [
    "prep",
    "train@temperature=0.5",
    "train@temperature=1.15",
    "evaluate@temperature=0.5",
    "evaluate@temperature=1.15",
  ]);
  assertEquals(Object.keys(stages[0]), ["name", "status", "key", "reason", "seconds", "outputs"]);
  assertEquals(Object.keys(stages[2]), [
    "name",
    "status",
    "key",
    "reason",
    "seconds",
    "outputs",
    "base",
    "matrix",
  ]);
  assertEquals([stages[2].base, stages[2].matrix], ["train", { temperature: 1.15 }]);
  const more = ["--set", "stages.train.matrix.temperature=[0.5,1.15,1.3]"];
  const second = await cli(["run", file, "--runs", p.runsDir, "--json", ...more]);
  assertEquals(
    JSON.parse(second.stdout).stages.map((s: { status: string }) => s.status),
    ["cached", "cached", "cached", "ran", "cached", "cached", "ran"],
  );
  const show = (await cli(["show", "sweep", "--runs", p.runsDir])).stdout;
  assertMatch(show, /\n {2}train +\[3 variants\]\n {4}train@temperature=0\.5 +cached/);
  assertMatch(show, /\n {4}evaluate@temperature=1\.3 +ran /);
  const runs = (await cli(["runs", "--runs", p.runsDir])).stdout.trim().split("\n");
  assertMatch(runs[1], /5 cached, 2 ran; train \[3 variants\], evaluate \[3 variants\]$/);
  const diff = await cli(["diff", "sweep/1", "sweep/2", "--runs", p.runsDir]);
  assertEquals(diff.code, 0, diff.stderr);
  assertMatch(
    diff.stdout,
    /stages\.train\.matrix\.temperature +\[0\.5,1\.15\] -> \[0\.5,1\.15,1\.3\]/,
  );
  assertMatch(diff.stdout, /train@temperature=1\.3 +key - -> [0-9a-f]{12} +\(absent\) -> ran/);
});
