/**
 * SIGKILL of the runner (issue 14 item 3): the runner gets no chance to stop its shell stage,
 * which goes on, reparented. The next run that computes the same key must notice it from the pid
 * and start time recorded in the key's store lock, end it, say so, and compute the key again.
 */

import { join } from "node:path";
import { alive } from "../../src/runner/processes.ts";
import { assertEquals, CLI, tempProject } from "../runner/_helpers.ts";

Deno.test("a stage left running by a SIGKILLed runner is ended by the next run, which says so", async () => {
  await using p = await tempProject({});
  const pids = join(p.dir, "pids");
  const duration = join(p.dir, "duration");
  p.write("duration", "60");
  // The sleep's length is read at run time (not a dep): both runs compute the same key.
  p.write(
    "o.yaml",
    `stages:\n  long: { run: "echo $$ >> ${pids}; sleep $(cat ${duration}); echo done > o", outs: { o: o } }\n`,
  );
  const args = ["run", "-A", "--no-prompt", CLI, "run", join(p.dir, "o.yaml"), "--runs", p.runsDir];
  const first = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "null" })
    .spawn();
  const readPids = () => {
    try {
      return Deno.readTextFileSync(pids).trim().split("\n").map(Number);
    } catch {
      return [];
    }
  };
  const started = Date.now();
  while (readPids().length === 0 && Date.now() - started < 60_000) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const [orphan] = readPids();
  // The runner records the stage's pid right after spawning it; give it that instant.
  await new Promise((r) => setTimeout(r, 300));
  first.kill("SIGKILL");
  await first.status;
  assertEquals(alive(orphan), true, "the shell stage outlives its SIGKILLed runner");

  p.write("duration", "0");
  const second = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const stdout = new TextDecoder().decode(second.stdout);
  assertEquals(second.code, 0, stdout + new TextDecoder().decode(second.stderr));
  assertEquals(
    new RegExp(`stage long: ended process ${orphan} \\(SIGTERM\\), left computing the same key`)
      .test(stdout),
    true,
    stdout,
  );
  assertEquals(alive(orphan), false, `the orphan ${orphan} is gone`);
  assertEquals(readPids().length, 2, "the stage ran again");
  assertEquals(JSON.parse(p.read("runs/o/0002/run.json")).status, "succeeded");
  assertEquals(JSON.parse(p.read("runs/o/0001/run.json")).status, "interrupted");
});

Deno.test("a finished stage's recorded pid, reused by another process, is not taken for an orphan", async () => {
  await using p = await tempProject({
    "q.yaml": `stages:\n  quick: { run: "echo q > q", outs: { q: q } }\n`,
  });
  const args = ["run", "-A", "--no-prompt", CLI, "run", join(p.dir, "q.yaml"), "--runs", p.runsDir];
  const first = await new Deno.Command(Deno.execPath(), { args, stdout: "null" }).output();
  assertEquals(first.code, 0);
  // Point the finished stage's note at a live process with another start time: this test itself.
  const locks = join(p.runsDir, ".store/locks");
  const [shard] = [...Deno.readDirSync(locks)];
  const [entry] = [...Deno.readDirSync(join(locks, shard.name))];
  const path = join(locks, shard.name, entry.name);
  const note = JSON.parse(Deno.readTextFileSync(path));
  note.stage.pid = Deno.pid;
  Deno.writeTextFileSync(path, JSON.stringify(note));
  const second = await new Deno.Command(Deno.execPath(), {
    args: [...args, "--force"],
    stdout: "piped",
  }).output();
  const stdout = new TextDecoder().decode(second.stdout);
  assertEquals(second.code, 0, stdout);
  assertEquals(stdout.includes("ended process"), false, stdout);
});
