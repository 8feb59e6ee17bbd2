import { join } from "node:path";
import { exportRun, type Lock, verifyAgainstLock } from "../../src/runs/lock.ts";
import { loadRun } from "../../src/runner/runs.ts";
import { assert, assertEquals, assertStringIncludes, cli, tinyProject } from "./helpers.ts";

type StageV = { name: string; result: string; explanations: string[] };

Deno.test("export writes a runnable YAML whose --verify rerun matches the lock bit for bit", async () => {
  await using p = await tinyProject();
  await p.run();
  const file = join(p.dir, "shared", "tiny.lock.yaml");
  await Deno.mkdir(join(p.dir, "shared"));
  const exp = await cli(["export", "tiny", "--runs", p.runs, "-o", file, "--json"]);
  assertEquals(exp.code, 0, exp.stderr);
  const text = await Deno.readTextFile(file);
  assertStringIncludes(text, "uses: ../fit.ts");
  assertStringIncludes(text, "lock:");
  // A colleague's fresh runs folder: every stage re-executes and must match.
  const fresh = join(p.dir, "runs2");
  const out = await cli(["run", file, "--verify", "--runs", fresh, "--json"]);
  assertEquals(out.code, 0, out.stderr);
  const report = JSON.parse(out.stdout);
  assertEquals(report.status, "succeeded");
  assertEquals(report.stages.map((s: { status: string }) => s.status), ["ran", "ran", "ran"]);
  assertEquals(report.verify.ok, true);
  assertEquals(report.verify.stages.map((s: StageV) => [s.name, s.result]), [
    ["make", "match"],
    ["total", "match"],
    ["fit", "match"],
  ]);
  // Edited code: the fit stage no longer matches and the reason names the file.
  const fit = join(p.dir, "fit.ts");
  await Deno.writeTextFile(fit, (await Deno.readTextFile(fit)).replace("0.01", "0.03"));
  const changed = await cli(["run", file, "--verify", "--runs", fresh, "--json"]);
  assertEquals(changed.code, 1, changed.stderr);
  const v = JSON.parse(changed.stdout).verify;
  assertEquals(v.ok, false);
  const fitV = v.stages.find((s: StageV) => s.name === "fit");
  assertEquals(fitV.result, "mismatch");
  assertEquals(fitV.explanations, ["different code (fit.ts)"]);
  const text2 = await cli(["run", file, "--verify", "--runs", fresh]);
  assertStringIncludes(text2.stdout, "different code (fit.ts)");
  assertStringIncludes(text2.stdout, "NOT verified");
});

Deno.test("--verify explains a non-deterministic stage and flags an undeclared one", async () => {
  await using p = await tinyProject();
  const yaml = join(p.dir, "nd.yaml");
  await Deno.writeTextFile(
    yaml,
    `name: nd
params: { n: 3 }
stages:
  noisy:
    run: "od -An -N8 -tx8 /dev/urandom > r.txt"
    outs: { r: r.txt }
    deterministic: false
  hidden:
    run: "od -An -N8 -tx8 /dev/urandom > h.txt; seq 1 \${params.n} >> h.txt"
    outs: { h: h.txt }
`,
  );
  const first = await cli(["run", yaml, "--runs", p.runs, "--json"]);
  assertEquals(first.code, 0, first.stderr);
  const doc = await exportRun(loadRun(p.runs, "nd"), { baseDir: p.dir });
  assertEquals(
    (doc.lock as { stages: Record<string, { deterministic: boolean }> }).stages.noisy.deterministic,
    false,
  );
  const file = join(p.dir, "nd.lock.yaml");
  await cli(["export", "nd", "--runs", p.runs, "-o", file]);
  const out = await cli(["run", file, "--verify", "--runs", p.runs, "--json"]);
  assertEquals(out.code, 1, out.stderr);
  const v = JSON.parse(out.stdout).verify;
  const noisy = v.stages.find((s: StageV) => s.name === "noisy");
  const hidden = v.stages.find((s: StageV) => s.name === "hidden");
  assertEquals(noisy.result, "mismatch");
  assertEquals(noisy.explanations[0], "non-deterministic stage (declared `deterministic: false`)");
  assertEquals(hidden.result, "mismatch");
  assert(hidden.explanations[0].startsWith("same key, same platform and backend, different bytes"));
  // With a changed parameter the key differs and the reason says which.
  const edited = (await Deno.readTextFile(file)).replace("params:\n  n: 3", "params:\n  n: 4");
  await Deno.writeTextFile(file, edited);
  const again = JSON.parse(
    (await cli(["run", file, "--verify", "--runs", p.runs, "--json"])).stdout,
  );
  const h2 = again.verify.stages.find((s: StageV) => s.name === "hidden");
  assertEquals(h2.explanations, ["different parameter params.n (3 -> 4)"]);
});

Deno.test("run --verify on a file without a lock is a usage error", async () => {
  await using p = await tinyProject();
  const out = await cli(["run", p.yaml, "--verify", "--runs", p.runs]);
  assertEquals(out.code, 2);
  assertStringIncludes(out.stderr, "no lock: section");
});

Deno.test("verifyAgainstLock() names a different dependency version and a different backend", async () => {
  await using p = await tinyProject();
  const report = await p.run();
  const doc = await exportRun(loadRun(p.runs, "tiny"), { baseDir: p.dir });
  const lock = structuredClone(doc.lock) as Lock;
  // The locked run used another npm version: its key differed.
  lock.stages.fit.code!.packages = ["npm:hash-wasm@4.12.0"];
  lock.stages.fit.key = "0".repeat(64);
  // The locked shell stage ran on another backend and produced other bytes.
  lock.stages.total.facts = { backend: "webgpu" };
  lock.stages.total.outputs.total = { ...lock.stages.total.outputs.total, hash: "1".repeat(64) };
  const v = await verifyAgainstLock(lock, report);
  const by = Object.fromEntries(v.stages.map((s) => [s.name, s]));
  assertEquals(by.make.result, "match");
  assertEquals(by.fit.explanations, [
    "different dependency version (npm:hash-wasm@4.12.0 -> none)",
  ]);
  assertEquals(by.total.explanations, [
    'different backend (backend "webgpu" -> undefined)',
    "outputs differ: total",
  ]);
  assertEquals(v.ok, false);
});

Deno.test("export locks each matrix variant with its base stage's command", async () => {
  await using p = await tinyProject();
  const yaml = join(p.dir, "sweep.yaml");
  await Deno.writeTextFile(
    yaml,
    `name: sweep
stages:
  scale:
    matrix: { k: [2, 3] }
    run: "echo \${matrix.k} > k.txt"
    outs: { k: k.txt }
`,
  );
  const run = await cli(["run", yaml, "--runs", p.runs, "--json"]);
  assertEquals(run.code, 0, run.stderr);
  const file = join(p.dir, "sweep.lock.yaml");
  const exp = await cli(["export", "sweep", "--runs", p.runs, "-o", file, "--json"]);
  assertEquals(exp.code, 0, exp.stderr);
  const text = await Deno.readTextFile(file);
  assertStringIncludes(text, "scale@k=2:");
  assertStringIncludes(text, "scale@k=3:");
  // Both variants carry the declared command, so a mismatch can be explained.
  assertEquals(text.split("command: echo ${matrix.k} > k.txt").length - 1, 2);
  const verify = await cli(["run", file, "--verify", "--runs", join(p.dir, "runs2"), "--json"]);
  assertEquals(verify.code, 0, verify.stderr);
  assertEquals(JSON.parse(verify.stdout).verify.ok, true);
});
