import { join } from "node:path";
import { listRuns, loadRun } from "../../src/runner/runs.ts";
import { recoverStaleRunsFor } from "../../src/runner/run_folder.ts";
import { assert, assertEquals, CLI, DEMO, tempProject } from "./_helpers.ts";

/** Every file under `dir` with its bytes and mtime, to show that a read wrote nothing. */
function snapshot(dir: string, out: Record<string, string> = {}): Record<string, string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) snapshot(path, out);
    else if (entry.isSymlink) out[path] = `-> ${Deno.readLinkSync(path)}`;
    else out[path] = `${Deno.statSync(path).mtime?.getTime()} ${Deno.readTextFileSync(path)}`;
  }
  return out;
}

/** Starts a real runner on a stage that sleeps and SIGKILLs it once its run is recorded. */
async function killedRun(file: string, runsDir: string, run: string): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", CLI, "run", file, "--runs", runsDir],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const tmp = join(runsDir, ".store/tmp");
  const record = join(runsDir, run, "run.json");
  for (let i = 0; i < 1200; i++) {
    try {
      // The stage's work folder exists once it runs, and run.json names it pending.
      if ([...Deno.readDirSync(tmp)].length > 0 && Deno.statSync(record).isFile) break;
    } catch {
      // Not created yet.
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill("SIGKILL");
  await child.status;
  // Recovery skips a run whose lock is held; the kernel frees a dead runner's lock, but a
  // process forked by the runner may share it until it execs, so wait for that (bounded).
  const lock = await Deno.open(join(runsDir, run, ".lock"), { read: true, write: true });
  try {
    for (let i = 0; !(await lock.tryLock(true)); i++) {
      if (i === 400) throw new Error(`the lock of ${run} stays held after its runner was killed`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    lock.close();
  }
}

Deno.test("loadRun() and listRuns() write nothing; recoverStaleRunsFor() marks a killed run interrupted", async () => {
  await using p = await tempProject({
    ...DEMO,
    "exp/slow.yaml": `name: slow\nstages:\n  nap: { run: "sleep 30 && touch z", outs: { z: z } }\n`,
  });
  await p.run("exp/demo.yaml");
  await killedRun(join(p.dir, "exp/slow.yaml"), p.runsDir, "slow/0001");
  const before = snapshot(p.runsDir);
  assert(Object.keys(before).some((f) => f.endsWith("slow/.active/0001")), "the marker is left");
  // A bare name without `latest` (the killed run never finished) means the newest run.
  const killed = loadRun(p.runsDir, "slow");
  assertEquals([killed.name, killed.record.status], ["slow/0001", "running"]);
  assertEquals(killed.dir, Deno.realPathSync(join(p.runsDir, "slow/0001")));
  assertEquals(loadRun(p.runsDir, "demo").name, "demo/0001");
  assertEquals(loadRun(p.runsDir, killed.dir).name, "slow/0001");
  assertEquals(listRuns(p.runsDir).map((r) => `${r.experiment} ${r.status}`), [
    "demo succeeded",
    "slow running",
  ]);
  assertEquals(snapshot(p.runsDir), before, "reading runs wrote nothing");

  recoverStaleRunsFor(p.runsDir, ["demo"]);
  assertEquals(loadRun(p.runsDir, "slow/1").record.status, "running", "only demo was recovered");
  recoverStaleRunsFor(p.runsDir, ["slow/1"]);
  const recovered = loadRun(p.runsDir, "slow/1").record;
  assertEquals(recovered.status, "interrupted");
  // run.json is rewritten at most once a second: the stage's reason may not be recorded yet.
  assertEquals(recovered.stages.map((s) => [s.name, s.status]), [["nap", "interrupted"]]);
  assert(recovered.stages[0].reason.endsWith("runner was killed"), recovered.stages[0].reason);
  assert(!Object.hasOwn(snapshot(p.runsDir), join(p.runsDir, "slow/.active/0001")));
});

Deno.test("ditto runs and show recover a killed run before reading it", async () => {
  await using p = await tempProject({
    "slow.yaml": `name: slow\nstages:\n  nap: { run: "sleep 30 && touch z", outs: { z: z } }\n`,
  });
  await killedRun(join(p.dir, "slow.yaml"), p.runsDir, "slow/0001");
  const show = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", CLI, "show", "slow", "--runs", p.runsDir, "--json"],
    stdout: "piped",
  }).output();
  assertEquals(show.code, 0);
  const record = JSON.parse(new TextDecoder().decode(show.stdout));
  assertEquals([record.run, record.status], [1, "interrupted"]);
  assertEquals(record.stages[0].status, "interrupted");
});
