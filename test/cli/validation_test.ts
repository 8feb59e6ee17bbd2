/**
 * What `ditto run` says about bad input before anything runs (issue 14, items 9, 10 and 16):
 * each case is a real experiment file run by the real CLI in a subprocess.
 */

import { join } from "node:path";
import { assert, assertEquals, assertMatch, runCli, tempProject } from "../runner/_helpers.ts";

const cli = runCli;

/** Runs `ditto run <file> --runs <dir>/runs ...rest` in a project. */
function run(dir: string, file: string, ...rest: string[]) {
  return cli(["run", join(dir, file), "--runs", join(dir, "runs"), ...rest]);
}

/** Asserts exit 2 with exactly these problem lines (paths relative to the project). */
function assertInvalid(r: { code: number; stderr: string }, dir: string, lines: string[]): void {
  assertEquals(r.code, 2, r.stderr);
  const problems = r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("Cannot run"));
  assertEquals(problems.map((l) => l.replaceAll(dir + "/", "")), lines);
}

/** Whether anything was written under the project's runs folder. */
function ranSomething(dir: string): boolean {
  try {
    Deno.statSync(join(dir, "runs"));
    return true;
  } catch {
    return false;
  }
}

Deno.test("ditto run rejects a parameter that is not a finite number (1e400) before running", async () => {
  await using p = await tempProject({
    "exp.yaml": `params:
  x: 1e400
  nested: { y: .nan }
stages:
  a: { run: "echo \${params.x} > o", outs: { o: o } }
`,
  });
  assertInvalid(await run(p.dir, "exp.yaml"), p.dir, [
    "exp.yaml:2:6: params.x: Cannot accept Infinity: expected a finite number",
    "  hint: a 64-bit float holds about ±1.8e308; YAML reads larger numbers (such as 1e400) as infinite",
    "exp.yaml:3:16: params.nested.y: Cannot accept NaN: expected a finite number",
    "  hint: YAML reads `.nan` as not-a-number: write a number",
  ]);
  assert(!ranSomething(p.dir), "nothing may run");
  // From --set too, located at the flag.
  await using q = await tempProject({
    "exp.yaml":
      `params: { x: 1 }\nstages:\n  a: { run: "echo \${params.x} > o", outs: { o: o } }\n`,
  });
  const r = await run(q.dir, "exp.yaml", "--set", "params.x=-1e400");
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, /^--set: params\.x: Cannot accept -Infinity: expected a finite number$/m);
});

Deno.test("ditto run rejects two outputs of one path, and an output inside another", async () => {
  await using p = await tempProject({
    "exp.yaml": `stages:
  a:
    run: "mkdir e && echo 1 > a && echo 2 > e/f"
    outs: { a: a, b: a, c: ./a, d: a/b, f: e/f, e: e, ok: a2 }
`,
  });
  assertInvalid(await run(p.dir, "exp.yaml"), p.dir, [
    'exp.yaml:4:22: stages.a.outs.b: Cannot accept output path "a": it is the path of output "a" ("a")',
    "  hint: give each output its own path, none inside another",
    'exp.yaml:4:28: stages.a.outs.c: Cannot accept output path "./a": it is the path of output "a" ("a")',
    "  hint: give each output its own path, none inside another",
    'exp.yaml:4:36: stages.a.outs.d: Cannot accept output path "a/b": it lies inside output "a" ("a")',
    "  hint: give each output its own path, none inside another",
    'exp.yaml:4:52: stages.a.outs.e: Cannot accept output path "e": it contains output "f" ("e/f")',
    "  hint: give each output its own path, none inside another",
  ]);
  assert(!ranSomething(p.dir), "nothing may run");
});

const PARAMS = {
  "exp.yaml": `params: { thresh: 3, model: { layers: 2 }, spare: 1 }
stages:
  a:
    run: "echo \${params.thresh} \${params.model.layers} \${params.extra} > o"
    outs: { o: o }
`,
};

Deno.test("ditto run rejects --set of a misspelt parameter, saying did you mean", async () => {
  await using p = await tempProject(PARAMS);
  const sets = [
    "--set",
    "params.extra=1",
    "--set",
    "params.thersh=9",
    "--set",
    "params.model.lyers=3",
  ];
  assertInvalid(await run(p.dir, "exp.yaml", ...sets), p.dir, [
    '--set: params.thersh: Cannot set unknown parameter "thersh": the experiment has no such parameter',
    '  hint: did you mean "thresh"? (allowed: thresh, model, spare)',
    '--set: params.model.lyers: Cannot set unknown parameter "model.lyers": the experiment has no such parameter',
    '  hint: did you mean "layers"? (allowed: layers)',
  ]);
  assert(!ranSomething(p.dir), "nothing may run");
});

Deno.test("ditto run warns on stderr about a --set parameter that no placeholder uses, and runs", async () => {
  await using p = await tempProject(PARAMS);
  const sets = ["params.extra=x", "params.brand_new=1", "params.model.depth=4", "params.spare=2"];
  const r = await run(p.dir, "exp.yaml", ...sets.flatMap((s) => ["--set", s]), "--json");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(JSON.parse(r.stdout).status, "succeeded");
  assertEquals(r.stderr.split("\n").filter((l) => l.startsWith("warning:")), [
    'warning: --set: params.brand_new: Setting new parameter "brand_new" changes nothing: no placeholder uses it',
    'warning: --set: params.model.depth: Setting new parameter "model.depth" changes nothing: no placeholder uses it',
    'warning: --set: params.spare: Setting parameter "spare" changes nothing: no placeholder uses it',
  ]);
  // Parameters that a placeholder uses are no warning, new (params.extra) or not.
  const used = await run(
    p.dir,
    "exp.yaml",
    "--set",
    "params.extra=x",
    "--set",
    "params.model={ layers: 4 }",
    "--set",
    "params.thresh=4",
  );
  assertEquals(used.code, 0, used.stderr);
  assert(!used.stderr.includes("warning:"), used.stderr);
});

Deno.test("ditto run rejects a --set value that starts a YAML list, mapping or quoted text but does not parse", async () => {
  await using p = await tempProject({
    "exp.yaml": `params: { n: [1, 2], s: a }
stages:
  a: { run: "echo \${params.n} \${params.s} > o", outs: { o: o } }
`,
  });
  assertInvalid(
    await run(p.dir, "exp.yaml", "--set", "params.n=[1,", "--set", `params.s="abc`),
    p.dir,
    [
      '--set: params.n: Cannot apply --set: cannot parse the value "[1,": Flow sequence must end with a ] at line 1, column 4',
      '  hint: write a complete YAML value, such as [1, 2] or "text" (quote it for the shell too)',
      '--set: params.s: Cannot apply --set: cannot parse the value "\\"abc": Missing closing "quote at line 1, column 5',
      '  hint: write a complete YAML value, such as [1, 2] or "text" (quote it for the shell too)',
    ],
  );
  // Other text that YAML cannot read stays text, as before.
  const r = await run(p.dir, "exp.yaml", "--set", "params.s=a: b: c", "--json");
  assertEquals(r.code, 0, r.stderr);
});

Deno.test("ditto run blames a problem in a key that --set created on --set, not on a file", async () => {
  await using p = await tempProject({
    "base.yaml": `name: base
params: { n: 1 }
stages:
  other:
    run: "echo \${params.n} > o"
    outs: { o: o }
  prep:
    run: "echo hi > p"
    outs: { p: p }
`,
    "exp.yaml": "name: exp\nextends: base.yaml\n",
  });
  const r = await run(p.dir, "exp.yaml", "--set", "foo.bar=1", "--set", "stages.prep.with.x=1");
  assertInvalid(r, p.dir, [
    '--set: foo: Cannot accept unknown key "foo"',
    "  hint: allowed: name, description, seed, params, stages, extends, lock",
    "--set: stages.prep.with: Cannot use `with:` in a `run:` stage",
    "  hint: use ${params.x} placeholders in the command",
  ]);
});

Deno.test("ditto run names the file, line and entry of an extends: target that is missing", async () => {
  await using p = await tempProject({
    "exp.yaml": "name: exp\nextends: [base.yaml, nothere.yaml]\n",
    "base.yaml": `stages:\n  a: { run: "true" }\n`,
  });
  assertInvalid(await run(p.dir, "exp.yaml"), p.dir, [
    'exp.yaml:2:22: extends: Cannot extend "nothere.yaml": no such file (nothere.yaml)',
    "  hint: files in `extends:` are relative to the file that names them",
  ]);
});

Deno.test("ditto run reports a dep missing on disk once, not again as an unknown dep", async () => {
  await using p = await tempProject({
    "exp.yaml": `stages:
  a:
    run: "cat \${deps.d} > o"
    deps: { d: nope.txt }
    outs: { o: o }
`,
  });
  assertInvalid(await run(p.dir, "exp.yaml"), p.dir, [
    'exp.yaml:4:16: stages.a.deps.d: Cannot find dep "nope.txt" (nope.txt)',
    "  hint: deps are files or directories relative to the YAML file that declares them",
  ]);
});

Deno.test("ditto run quotes parameter values in run: commands; ${raw:params.x} leaves them to the shell", async () => {
  await using p = await tempProject({
    "exp.yaml": `params: { msg: "hello world; echo X", words: "a  b", n: 3, empty: "" }
stages:
  a:
    run: "printf '%s|' \${params.msg} \${params.words} \${params.n} \${params.empty} > o; printf '%s|' \${raw:params.words} >> o"
    outs: { o: o }
`,
  });
  const r = await run(p.dir, "exp.yaml", "--json");
  assertEquals(r.code, 0, r.stderr);
  const dir = JSON.parse(r.stdout).dir;
  assertEquals(Deno.readTextFileSync(join(dir, "a/o")), "hello world; echo X|a  b|3||a|b|");
  // Raw is for values only: a path is always quoted.
  p.write("bad.yaml", `stages:\n  a: { run: "cat \${raw:deps.d}", deps: { d: exp.yaml } }\n`);
  assertInvalid(await run(p.dir, "bad.yaml"), p.dir, [
    "bad.yaml:2:13: stages.a.run: Cannot use placeholder ${raw:deps.d}: only parameter and matrix values can be raw",
    "  hint: paths and ${seed} need no quoting choice: write ${deps.d}",
  ]);
});
