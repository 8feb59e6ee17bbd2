/**
 * Ctrl-C through a wrapper (issue 14 item 1): `npx deno task run` puts npx and ditto in one
 * foreground group, so one Ctrl-C reaches ditto twice (from the terminal and forwarded by npx).
 * A real runner process gets two SIGINTs back to back and must still interrupt cleanly.
 */

import { join } from "node:path";
import { assertEquals, CLI, tempProject } from "../runner/_helpers.ts";

Deno.test("one Ctrl-C delivered twice (terminal plus npx) interrupts cleanly: interrupted lines, summary, run.json", async () => {
  await using p = await tempProject({
    "s.yaml": `stages:
  quick: { run: "echo q > q.txt", outs: { q: q.txt } }
  slow: { needs: [quick], run: "sleep 20; echo s > s.txt", outs: { s: s.txt } }
`,
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", CLI, "run", join(p.dir, "s.yaml"), "--runs", p.runsDir],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Wait until the slow stage runs (its work dir exists and quick is done).
  const tmp = join(p.runsDir, ".store/tmp");
  const started = Date.now();
  while (Date.now() - started < 60_000) {
    try {
      const record = JSON.parse(p.read("runs/s/0001/run.json"));
      if (record.stages[0].status === "ran" && [...Deno.readDirSync(tmp)].length > 0) break;
    } catch {
      // Not yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGINT");
  // The copy npx forwards comes after ditto took the first one (signals pending at once merge).
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  while (!stdout.includes("Interrupting")) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  child.kill("SIGINT");
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += value;
  }
  const status = await child.status;
  await child.stderr.cancel();
  assertEquals(status.code, 130, stdout);
  const lines = stdout.trim().split("\n");
  assertEquals(lines.filter((l) => l.startsWith("Interrupting")).length, 1, stdout);
  assertEquals(lines.some((l) => /! slow +interrupted/.test(l)), true, stdout);
  assertEquals(/^s: interrupted in .* \(1 ran, 1 interrupted\)/.test(lines.at(-1)!), true, stdout);
  const record = JSON.parse(p.read("runs/s/0001/run.json"));
  assertEquals(record.status, "interrupted");
  assertEquals(record.stages.map((s: { status: string }) => s.status), ["ran", "interrupted"]);
});

Deno.test("a stage that ignores SIGTERM is SIGKILLed after the grace period: nothing outlives the runner", async () => {
  await using p = await tempProject({});
  const pidFile = join(p.dir, "sleep.pid");
  p.write(
    "t.yaml",
    `stages:\n  stubborn: { run: "trap '' TERM INT; sleep 25 & echo $! > ${pidFile}; wait", outs: { o: o } }\n`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", CLI, "run", join(p.dir, "t.yaml"), "--runs", p.runsDir],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const started = Date.now();
  let pid = 0;
  while (!pid && Date.now() - started < 60_000) {
    try {
      pid = Number(Deno.readTextFileSync(pidFile).trim());
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill("SIGTERM");
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 130, stdout);
  assertEquals(/! stubborn +interrupted/.test(stdout), true, stdout);
  assertEquals(JSON.parse(p.read("runs/t/0001/run.json")).status, "interrupted");
  // The background sleep, which ignored SIGTERM too, is gone (or a zombie about to be reaped).
  let state = "gone";
  try {
    state = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1][0];
  } catch {
    // Gone.
  }
  assertEquals(["gone", "Z"].includes(state), true, `sleep ${pid} is ${state}`);
});
