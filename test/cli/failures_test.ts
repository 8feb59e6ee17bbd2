/**
 * How failures read (issue 14 item 13): a failed stage's next reason, the `error` of `--json`
 * stage entries, and the JSON error object every command prints with `--json` when it fails
 * before its result. Real CLI subprocesses on real files.
 */

import { join } from "node:path";
import { assert, assertEquals, assertMatch, runCli, tempProject } from "../runner/_helpers.ts";

Deno.test("a stage that failed cleanly is rerun because it failed, and --json carries its error", async () => {
  await using p = await tempProject({
    "f.yaml": `stages:\n  a: { run: "echo bad input >&2; exit 3", outs: { o: o.txt } }\n`,
  });
  const file = join(p.dir, "f.yaml");
  const first = await runCli(["run", file, "--runs", p.runsDir, "--json"]);
  assertEquals(first.code, 1, first.stderr);
  const a1 = JSON.parse(first.stdout).stages[0];
  assertEquals([a1.status, a1.reason], ["failed", "no stored result"]);
  assertEquals(a1.error, "command failed (exit code 3)\nbad input");
  // The --json entry carries the same error as run.json.
  assertEquals(JSON.parse(p.read("runs/f/0001/run.json")).stages[0].error, a1.error);
  const second = await runCli(["run", file, "--runs", p.runsDir, "--json"]);
  assertEquals(second.code, 1, second.stderr);
  const a2 = JSON.parse(second.stdout).stages[0];
  assertEquals(
    a2.reason,
    "no stored result (previous attempt failed: command failed (exit code 3))",
  );
  assertMatch(
    second.stderr,
    /✗ a +failed .*\(previous attempt failed: command failed \(exit code 3\)/,
  );
  // A succeeding stage's entry has no error field.
  p.write("f.yaml", `stages:\n  a: { run: "echo ok > o.txt", outs: { o: o.txt } }\n`);
  const third = JSON.parse((await runCli(["run", file, "--runs", p.runsDir, "--json"])).stdout);
  assertEquals(Object.keys(third.stages[0]), [
    "name",
    "status",
    "key",
    "reason",
    "seconds",
    "outputs",
  ]);
  assertEquals(third.stages[0].reason, "command changed");
});

Deno.test("with --json, usage errors and invalid experiments print one JSON error object on stdout", async () => {
  await using p = await tempProject({
    "f.yaml": `stages:\n  a: { run: "true" }\n`,
    "bad.yaml": `stages:\n  a: { run: true }\n`,
  });
  const file = join(p.dir, "f.yaml");
  const runShape = (o: Record<string, unknown>) =>
    assertEquals([o.experiment, o.run, o.dir, o.stages], [null, null, null, []]);
  for (
    const [args, message] of [
      [["run", "--json"], /^Cannot run: expected one experiment file, got 0/],
      [
        ["run", file, "--json", "--jobs", "0"],
        /^Cannot use --jobs 0: expected a positive integer$/,
      ],
      [["run", file, "--json", "--bogus"], /unknown option "--bogus"/],
      [["run", file, "--json", "--force", "nope"], /^Cannot force stage "nope": no such stage/],
      [["run", join(p.dir, "missing.yaml"), "--json"], /missing\.yaml/],
    ] as const
  ) {
    const r = await runCli([...args, "--runs", p.runsDir]);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    runShape(out);
    assertEquals(out.status, "invalid");
    assertMatch(out.errors[0].message, message);
    assertMatch(r.stderr, /error: Cannot|Cannot run experiment/);
  }
  const bad = await runCli(["run", join(p.dir, "bad.yaml"), "--json", "--runs", p.runsDir]);
  assertEquals(bad.code, 2);
  const problems = JSON.parse(bad.stdout);
  assertEquals(problems.status, "invalid");
  assertEquals([problems.errors[0].line, problems.errors[0].key], [2, "stages.a.run"]);
  const resume = await runCli(["resume", "nope", "--json", "--runs", p.runsDir]);
  assertEquals(resume.code, 2);
  const resumed = JSON.parse(resume.stdout);
  runShape(resumed);
  assertEquals([resumed.status, resumed.resumed_from], ["invalid", null]);
  assertMatch(resumed.errors[0].message, /^Cannot show run "nope": no such run/);
  for (
    const args of [["show", "nope"], ["runs", "--bogus"], ["diff", "a", "b", "c"], ["export", "x"]]
  ) {
    const r = await runCli([...args, "--json", "--runs", p.runsDir]);
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    assertEquals(Object.keys(out), ["status", "errors"]);
    assertEquals(out.status, "invalid");
    assert(typeof out.errors[0].message === "string" && out.errors[0].message.length > 0);
  }
});

Deno.test("a missing export folder and an unusable runs folder are clear errors without frames", async () => {
  await using p = await tempProject({
    "g.yaml": `stages:\n  a: { run: "echo hi > o.txt", outs: { o: o.txt } }\n`,
  });
  const file = join(p.dir, "g.yaml");
  assertEquals((await runCli(["run", file, "--runs", p.runsDir])).code, 0);
  const out = join(p.dir, "no-such-dir", "x.yaml");
  const exported = await runCli(["export", "g", "-o", out, "--runs", p.runsDir]);
  assertEquals(exported.code, 2);
  assertEquals(
    exported.stderr,
    `error: Cannot export to ${out} (-o): no such folder ${join(p.dir, "no-such-dir")}\n`,
  );
  // A runs folder that cannot be created: /proc takes no new folders, even from root.
  const runs = await runCli(["run", file, "--runs", "/proc/forbidden"]);
  assertEquals(runs.code, 2);
  assertEquals(
    runs.stderr,
    "error: Cannot use the runs folder /proc/forbidden: cannot create " +
      "/proc/forbidden/.store/objects: no such file or directory\n",
  );
  const json = await runCli(["run", file, "--runs", "/proc/forbidden", "--json"]);
  assertEquals(JSON.parse(json.stdout).status, "invalid");
  // A TypeScript stage's error is its message; the frames go to its log.
  p.write("t.yaml", "stages:\n  t: { uses: ./t.ts }\n");
  p.write(
    "t.ts",
    `export default { description: "throws", params: {}, outputs: ["o"],
  run() { throw new RangeError("Cannot fit: n must be > 0"); } };\n`,
  );
  const ts = await runCli(["run", join(p.dir, "t.yaml"), "--runs", p.runsDir]);
  assertEquals(ts.code, 1);
  assertMatch(ts.stdout, /✗ t +failed .*\n {6}Cannot fit: n must be > 0\n/);
  assert(!/^\s+at /m.test(ts.stdout + ts.stderr), ts.stdout);
  assertMatch(p.read("runs/t/0001/logs/t.log"), /RangeError: Cannot fit: n must be > 0\n\s+at /);
});
