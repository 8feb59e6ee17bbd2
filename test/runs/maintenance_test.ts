import { join } from "node:path";
import { collectGarbage, verifyStore } from "../../src/runs/maintenance.ts";
import { assert, assertEquals, cli, MAIN, tinyProject } from "./helpers.ts";

function objectPath(runs: string, hash: string): string {
  return join(runs, ".store", "objects", hash.slice(0, 2), hash);
}

/** Rewrites a read-only stored file in place (as an edit through a run's hardlink would). */
function tamper(path: string, bytes: Uint8Array): void {
  Deno.chmodSync(path, 0o644);
  Deno.writeFileSync(path, bytes);
  Deno.chmodSync(path, 0o444);
}

Deno.test("store verify finds a same-size corruption, quarantines it, and the stage runs again", async () => {
  await using p = await tinyProject();
  const first = await p.run();
  const total = first.stages.find((s) => s.name === "total")!.outputs.total;
  const path = objectPath(p.runs, total.hash);
  const original = Deno.readFileSync(path);
  tamper(path, original.map((b) => b ^ 1));
  const out = await cli(["store", "verify", "--runs", p.runs, "--json"]);
  assertEquals(out.code, 1, out.stderr);
  const report = JSON.parse(out.stdout);
  assertEquals(report.problems.map((x: { kind: string; id: string }) => [x.kind, x.id]), [
    ["corrupt", total.hash],
    ["missing", first.stages.find((s) => s.name === "total")!.key],
  ]);
  assert(report.problems[0].quarantined.includes("quarantine"));
  const second = await p.run();
  const stage = second.stages.find((s) => s.name === "total")!;
  assertEquals([stage.status, stage.reason], ["ran", "stored outputs missing"]);
  assertEquals(Deno.readFileSync(path), original);
  assertEquals((await verifyStore(p.runs)).ok, true);
});

Deno.test("a stored object whose size changed is never served as a cache hit", async () => {
  await using p = await tinyProject();
  const first = await p.run();
  const rows = first.stages.find((s) => s.name === "make")!.outputs.rows;
  const path = objectPath(p.runs, rows.hash);
  const original = Deno.readFileSync(path);
  tamper(path, new TextEncoder().encode("1\n2\n3\n4\n"));
  const second = await p.run();
  const make = second.stages.find((s) => s.name === "make")!;
  assertEquals(make.status, "ran");
  assertEquals(Deno.readFileSync(join(second.dir!, "make", "rows.txt")), original);
  assertEquals(second.stages.map((s) => s.status), ["ran", "cached", "cached"]);
  assertEquals((await verifyStore(p.runs)).ok, true);
});

Deno.test("gc --keep 1 removes older runs and their objects, keeps the newest fully cached", async () => {
  await using p = await tinyProject();
  await p.run(["params.n=5"]);
  await p.run();
  const before = (await verifyStore(p.runs)).objects;
  const dry = collectGarbage(p.runs, { keep: 1, dryRun: true });
  assertEquals(dry.runsRemoved, ["tiny/0001"]);
  assertEquals((await verifyStore(p.runs)).objects, before);
  const out = await cli(["gc", "--keep", "1", "--runs", p.runs, "--json"]);
  assertEquals(out.code, 0, out.stderr);
  const gc = JSON.parse(out.stdout);
  assertEquals(gc.runsRemoved, ["tiny/0001"]);
  assert(gc.objectsRemoved > 0 && gc.resultsRemoved === 3 && gc.bytesFreed > 0);
  const after = await verifyStore(p.runs);
  assertEquals([after.ok, after.objects, after.results], [true, before - gc.objectsRemoved, 3]);
  const again = await p.run();
  assertEquals(again.stages.map((s) => s.status), ["cached", "cached", "cached"]);
  // Nothing left to collect.
  assertEquals(collectGarbage(p.runs).objectsRemoved, 0);
});

Deno.test("gc keeps the run, checkpoints and new objects of a runner that is still running", async () => {
  await using p = await tinyProject();
  await p.run(["params.n=5"]);
  await p.run();
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
      "stages.fit.with.delay_ms=400",
      "--set",
      "params.n=6",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    // Wait until the fit stage has saved a checkpoint: it is mid-way.
    const checkpoints = join(p.runs, ".store", "checkpoints");
    for (let i = 0; i < 300; i++) {
      const dirs = [...Deno.readDirSync(checkpoints)];
      if (dirs.some((d) => [...Deno.readDirSync(join(checkpoints, d.name))].length > 0)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const gc = collectGarbage(p.runs, { keep: 0 });
    // 0002 is `latest`, 0003 is running: only 0001 goes.
    assertEquals(gc.activeRuns, ["tiny/0003"]);
    assertEquals(gc.runsRemoved, ["tiny/0001"]);
    assertEquals(gc.checkpointsRemoved, 0);
    assertEquals((await child.status).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }
  const verify = await verifyStore(p.runs);
  assert(verify.ok, JSON.stringify(verify.problems));
  const again = await p.run(["stages.fit.with.delay_ms=400", "params.n=6"]);
  assertEquals(again.stages.map((s) => s.status), ["cached", "cached", "cached"]);
});

Deno.test("gc --keep 1 removes in one pass what its dry run promised (removing run folders changes the objects' ctime)", async () => {
  await using p = await tinyProject();
  for (let n = 1; n <= 6; n++) await p.run([`params.n=${n}`]);
  const dry = await cli(["gc", "--keep", "1", "--dry-run", "--runs", p.runs, "--json"]);
  assertEquals(dry.code, 0, dry.stderr);
  const promised = JSON.parse(dry.stdout);
  assert(promised.objectsRemoved > 10, `dry run promised ${promised.objectsRemoved}`);
  const out = await cli(["gc", "--keep", "1", "--runs", p.runs, "--json"]);
  assertEquals(out.code, 0, out.stderr);
  const gc = JSON.parse(out.stdout);
  assertEquals(
    [gc.runsRemoved, gc.objectsRemoved, gc.resultsRemoved, gc.protected, gc.bytesFreed],
    [
      promised.runsRemoved,
      promised.objectsRemoved,
      promised.resultsRemoved,
      0,
      promised.bytesFreed,
    ],
  );
  const again = collectGarbage(p.runs, { keep: 1 });
  assertEquals([again.objectsRemoved, again.resultsRemoved], [0, 0]);
  assertEquals((await verifyStore(p.runs)).ok, true);
});
