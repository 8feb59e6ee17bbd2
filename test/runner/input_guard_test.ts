/**
 * Issue 14 item 4: a stage that writes into an upstream output (a hard link to the store's
 * object; root ignores mode 0444, and anyone may chmod first) must not damage the store silently.
 * Real runner processes, real files.
 */

import { join } from "node:path";
import { hashFile } from "../../src/runner/hash.ts";
import { assertEquals, CLI, tempProject } from "./_helpers.ts";

/** a makes a directory and a file; b runs `how` on them (a's key is the same whatever b does). */
function experiment(how: string): string {
  return `stages:
  a: { run: "mkdir d && echo one > d/x && echo two > d/y && echo three > f", outs: { d: d, f: f } }
  b: { run: "${how} && echo ok > o", outs: { o: o } }
`;
}

const READ = "cat ${stages.a.outs.f} ${stages.a.outs.d}/x > /dev/null";

async function run(
  p: { dir: string; runsDir: string; write(n: string, t: string): void },
  how: string,
) {
  p.write("g.yaml", experiment(how));
  const args = ["run", "-A", "--no-prompt", CLI, "run", join(p.dir, "g.yaml"), "--runs", p.runsDir];
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

function quarantined(runs: string): string[] {
  try {
    return [...Deno.readDirSync(join(runs, ".store/quarantine"))].map((e) => e.name);
  } catch {
    return [];
  }
}

Deno.test("a stage that writes through its input's hard link fails, the object is quarantined and the next run recreates it", async () => {
  await using p = await tempProject({});
  const clean = await run(p, READ);
  assertEquals(clean.code, 0, clean.text);
  const original = await hashFile(join(p.runsDir, "g/0001/a/d/x"));

  // b writes into a file of a's directory output: chmod first, as any owner can (root need not).
  const bad = await run(
    p,
    "chmod u+w ${stages.a.outs.d}/x && echo tampered > ${stages.a.outs.d}/x",
  );
  assertEquals(bad.code, 1, bad.text);
  assertEquals(bad.text.includes("stage b changed its input:"), true, bad.text);
  assertEquals(bad.text.includes("stages.a.outs.d at "), true, bad.text);
  assertEquals(bad.text.includes("(x)"), true, bad.text);
  assertEquals(bad.text.includes("1 object(s) moved to .store/quarantine/"), true, bad.text);
  assertEquals(quarantined(p.runsDir).length, 1);
  assertEquals(quarantined(p.runsDir)[0].startsWith(original.hash), true);
  const record = JSON.parse(p.read("runs/g/0002/run.json"));
  assertEquals(record.stages.map((s: { status: string }) => s.status), ["cached", "failed"]);

  // The next run finds a's object gone: it recomputes a, and the bytes are the original ones.
  const again = await run(p, READ);
  assertEquals(again.code, 0, again.text);
  const rerun = JSON.parse(p.read("runs/g/0003/run.json"));
  assertEquals(rerun.stages.map((s: { status: string }) => s.status), ["ran", "cached"]);
  assertEquals((await hashFile(join(p.runsDir, "g/0003/a/d/x"))).hash, original.hash);
  const verify = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", CLI, "store", "verify", "--runs", p.runsDir],
    stdout: "piped",
  }).output();
  assertEquals(verify.code, 0, new TextDecoder().decode(verify.stdout));
});

Deno.test("a stage that replaces its input file (a new inode) fails too, and the store is untouched", async () => {
  await using p = await tempProject({});
  assertEquals((await run(p, READ)).code, 0);
  const bad = await run(p, "rm -f ${stages.a.outs.f} && echo other > ${stages.a.outs.f}");
  assertEquals(bad.code, 1, bad.text);
  assertEquals(bad.text.includes("stages.a.outs.f at "), true, bad.text);
  assertEquals(bad.text.includes("the store's objects are intact"), true, bad.text);
  assertEquals(quarantined(p.runsDir), []);
  // Only that run's folder differed: the next run reuses a from the store.
  const again = await run(p, READ);
  assertEquals(again.code, 0, again.text);
  const rerun = JSON.parse(p.read("runs/g/0003/run.json"));
  assertEquals(rerun.stages.map((s: { status: string }) => s.status), ["cached", "cached"]);
});

Deno.test("a stage that only reads its inputs passes the check", async () => {
  await using p = await tempProject({});
  const clean = await run(p, READ);
  assertEquals(clean.code, 0, clean.text);
  assertEquals(clean.text.includes("changed its input"), false, clean.text);
});
