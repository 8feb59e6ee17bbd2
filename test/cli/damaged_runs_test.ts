/**
 * Runs changed by hand (issue 14 item 12): a deleted newest run folder and a corrupt `run.json`.
 * Real CLI subprocesses on real run folders.
 */

import { join } from "node:path";
import { assertEquals, assertMatch, runCli, tempProject } from "../runner/_helpers.ts";

Deno.test("a deleted newest run folder: show and diff agree on the newest left, and its number is never reused", async () => {
  await using p = await tempProject({
    "g.yaml": `stages:\n  a: { run: "echo hi > o.txt", outs: { o: o.txt } }\n`,
  });
  const file = join(p.dir, "g.yaml");
  for (let i = 0; i < 3; i++) {
    assertEquals((await runCli(["run", file, "--runs", p.runsDir])).code, 0);
  }
  await Deno.remove(join(p.runsDir, "g", "0003"), { recursive: true });
  for (const ref of ["g", "g/latest"]) {
    const show = await runCli(["show", ref, "--runs", p.runsDir]);
    assertEquals(show.code, 0, show.stderr);
    assertMatch(show.stdout, /^g run 2: succeeded/);
  }
  const diff = await runCli(["diff", "g", "--runs", p.runsDir]);
  assertEquals(diff.code, 0, diff.stderr);
  assertMatch(diff.stdout, /^diff g\/0001 -> g\/0002/);
  const next = JSON.parse((await runCli(["run", file, "--runs", p.runsDir, "--json"])).stdout);
  assertEquals(next.run, 4);
  // Not even the newest number, deleted with its folder, is handed out again.
  await Deno.remove(join(p.runsDir, "g", "0004"), { recursive: true });
  const after = JSON.parse((await runCli(["run", file, "--runs", p.runsDir, "--json"])).stdout);
  assertEquals(after.run, 5);
});

Deno.test("a corrupt run.json is listed as damaged and every command names it so", async () => {
  await using p = await tempProject({
    "g.yaml": `stages:\n  a: { run: "echo hi > o.txt", outs: { o: o.txt } }\n`,
  });
  const file = join(p.dir, "g.yaml");
  for (let i = 0; i < 3; i++) {
    assertEquals((await runCli(["run", file, "--runs", p.runsDir])).code, 0);
  }
  p.write("runs/g/0002/run.json", `{"experiment": "g", "run": 2, "sta`);
  await Deno.remove(join(p.runsDir, "g", "0003", "run.json"));
  const runs = await runCli(["runs", "--runs", p.runsDir]);
  assertEquals(runs.code, 0, runs.stderr);
  const lines = runs.stdout.trim().split("\n");
  assertEquals(lines.length, 3);
  assertMatch(lines[0], /^g\/0001 +succeeded /);
  assertMatch(lines[1], /^g\/0002 +damaged +its run\.json is not valid JSON \(/);
  assertMatch(lines[2], /^g\/0003 +damaged +its run\.json cannot be read \(no such file/);
  const json = JSON.parse((await runCli(["runs", "g", "--runs", p.runsDir, "--json"])).stdout);
  assertEquals(json.map((r: { status: string }) => r.status), ["succeeded", "damaged", "damaged"]);
  for (const args of [["show", "g/2"], ["export", "g/2"], ["resume", "g/2"], ["show", "g/3"]]) {
    const r = await runCli([...args, "--runs", p.runsDir]);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertMatch(
      r.stderr,
      /^error: Cannot read run "g\/[23]": .*g\/000[23] is damaged: its run\.json/,
    );
  }
  // The newest run that can be read is still found; a new run takes a new number.
  assertMatch((await runCli(["show", "g/1", "--runs", p.runsDir])).stdout, /^g run 1: succeeded/);
  const next = JSON.parse((await runCli(["run", file, "--runs", p.runsDir, "--json"])).stdout);
  assertEquals(next.run, 4);
  const diff = await runCli(["diff", "g", "--runs", p.runsDir]);
  assertMatch(diff.stdout, /^diff g\/0001 -> g\/0004/);
});
