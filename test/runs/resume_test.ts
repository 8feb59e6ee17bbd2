import { join } from "node:path";
import { collectGarbage } from "../../src/runs/maintenance.ts";
import { assert, assertEquals, assertStringIncludes, cli, MAIN, tinyProject } from "./helpers.ts";

async function waitForCheckpointStep(runs: string, atLeast: number): Promise<void> {
  const root = join(runs, ".store", "checkpoints");
  for (let i = 0; i < 600; i++) {
    try {
      for (const key of Deno.readDirSync(root)) {
        const state = JSON.parse(Deno.readTextFileSync(join(root, key.name, "state")));
        if (state.step >= atLeast) return;
      }
    } catch {
      // Not written yet.
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the stage never saved a checkpoint");
}

Deno.test("resume continues a SIGKILLed run from its checkpoint with its recorded parameters", async () => {
  await using p = await tinyProject();
  const sets = ["--set", "stages.fit.with.steps=8", "--set", "stages.fit.with.delay_ms=150"];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "run", p.yaml, "--runs", p.runs, ...sets],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForCheckpointStep(p.runs, 3);
  child.kill("SIGKILL");
  await child.status;
  // gc must keep the checkpoint of the killed run, whose run.json may not name the stage's key.
  assertEquals(collectGarbage(p.runs).checkpointsRemoved, 0);
  // The YAML changes after the crash; resume must keep the recorded parameters.
  await Deno.writeTextFile(p.yaml, (await Deno.readTextFile(p.yaml)).replace("n: 3", "n: 9"));
  const out = await cli(["resume", "tiny", "--runs", p.runs, "--json"]);
  assertEquals(out.code, 0, out.stderr);
  const report = JSON.parse(out.stdout);
  assertEquals([report.run, report.status, report.resumed_from], [2, "succeeded", "tiny/0001"]);
  const status = Object.fromEntries(
    report.stages.map((s: { name: string; status: string }) => [s.name, s.status]),
  );
  assertEquals([status.make, status.fit], ["cached", "ran"]);
  const killed = JSON.parse(await Deno.readTextFile(join(p.runs, "tiny/0001/run.json")));
  assertEquals(killed.status, "interrupted");
  const resumed = JSON.parse(await Deno.readTextFile(join(report.dir, "run.json")));
  assertEquals(resumed.resumed_from.run, "tiny/0001");
  const diff = await cli(["diff", "tiny", "--runs", p.runs]);
  assert(
    diff.stdout.startsWith("diff tiny/0001 (interrupted) -> tiny/0002 (resumed tiny/0001)"),
    diff.stdout,
  );
  const fit = resumed.stages.find((s: { name: string }) => s.name === "fit");
  assert(fit.facts.resumed_from >= 3, JSON.stringify(fit.facts));
  // The same outputs as an uninterrupted run with the same parameters and seed.
  await Deno.writeTextFile(p.yaml, (await Deno.readTextFile(p.yaml)).replace("n: 9", "n: 3"));
  const clean = await p.run(["stages.fit.with.steps=8"], join(p.dir, "clean"));
  const cleanFit = clean.stages.find((s) => s.name === "fit")!;
  assertEquals(cleanFit.facts.resumed_from, 0);
  assertEquals(
    Object.fromEntries(
      Object.entries(fit.outputs).map(([k, o]) => [k, (o as { hash: string }).hash]),
    ),
    Object.fromEntries(Object.entries(cleanFit.outputs).map(([k, o]) => [k, o.hash])),
  );
});

Deno.test("resume refuses a run that is still running and an unknown run", async () => {
  await using p = await tinyProject();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "run",
      p.yaml,
      "--runs",
      p.runs,
      "--set",
      "stages.fit.with.delay_ms=200",
      "--set",
      "stages.fit.with.steps=100",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitForCheckpointStep(p.runs, 1);
    const out = await cli(["resume", "tiny/1", "--runs", p.runs]);
    assertEquals(out.code, 2);
    assert(out.stderr.includes("still running"), out.stderr);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
  assertEquals((await cli(["resume", "tiny/7", "--runs", p.runs])).code, 2);
});

/** A matrix stage whose module prints when imported (the runner imports it to read it). */
const LOUD = {
  "m.yaml": `name: m
stages:
  sweep:
    uses: ./loud.ts
    matrix: { temperature: [1, 2] }
`,
  "loud.ts": `console.log("loud module loaded");
export default {
  description: "writes its temperature",
  params: { temperature: { type: "number", description: "tau", default: 1 } },
  outputs: ["t.txt"],
  async run(ctx) {
    await Deno.writeTextFile(ctx.output("t.txt"), String(ctx.params.temperature));
  },
};
`,
};

Deno.test("resume --json prints the report of run --json, matrix fields included, and keeps stage console output off stdout", async () => {
  await using p = await tinyProject();
  for (const [name, text] of Object.entries(LOUD)) {
    await Deno.writeTextFile(join(p.dir, name), text);
  }
  const yaml = join(p.dir, "m.yaml");
  const ran = await cli(["run", yaml, "--runs", p.runs, "--json"]);
  assertEquals(ran.code, 0, ran.stderr);
  const first = JSON.parse(ran.stdout);
  // Without the memo of its declarations the module is imported again by resume.
  await Deno.remove(join(p.runs, ".store/memo/meta.json"));
  const out = await cli(["resume", "m", "--runs", p.runs, "--json"]);
  assertEquals(out.code, 0, out.stderr);
  const report = JSON.parse(out.stdout);
  assertStringIncludes(out.stderr, "loud module loaded");
  assertEquals(Object.keys(report), [
    "experiment",
    "run",
    "dir",
    "status",
    "resumed_from",
    "stages",
  ]);
  assertEquals([report.run, report.status, report.resumed_from], [2, "succeeded", "m/0001"]);
  const shape = (s: Record<string, unknown>) => ({
    fields: Object.keys(s),
    name: s.name,
    base: s.base,
    matrix: s.matrix,
    outputs: s.outputs,
  });
  assertEquals(report.stages.map(shape), first.stages.map(shape));
  assertEquals(report.stages.map((s: { base: string }) => s.base), ["sweep", "sweep"]);
  assertEquals(report.stages.map((s: { matrix: unknown }) => s.matrix), [
    { temperature: 1 },
    { temperature: 2 },
  ]);
});
