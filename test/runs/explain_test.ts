/**
 * Explanations (issue 14 item 14): `--verify` names a matrix-fed stage's upstream variant whose
 * output changed, and text `diff` says why a stage's key changed. Real CLI subprocesses.
 */

import { join } from "node:path";
import { assertEquals, assertMatch, runCli, tempProject } from "../runner/_helpers.ts";

const SWEEP = `name: sweep
stages:
  train:
    matrix: { k: [2, 3] }
    deterministic: false
    run: "echo \${matrix.k} $$ > m.txt"
    outs: { model: m.txt }
  evaluate:
    run: "wc -c < \${stages.train.outs.model} > score.txt; cat \${stages.train.outs.model} >> score.txt"
    outs: { score: score.txt }
`;

Deno.test("--verify explains a matrix-fed stage's mismatch by its upstream variant's different output", async () => {
  await using p = await tempProject({ "sweep.yaml": SWEEP });
  const run = await runCli(["run", join(p.dir, "sweep.yaml"), "--runs", p.runsDir]);
  assertEquals(run.code, 0, run.stderr);
  const lock = join(p.dir, "sweep.lock.yaml");
  assertEquals((await runCli(["export", "sweep", "-o", lock, "--runs", p.runsDir])).code, 0);
  const verify = await runCli(["run", lock, "--verify", "--runs", join(p.dir, "runs2"), "--json"]);
  const by = Object.fromEntries(
    JSON.parse(verify.stdout).verify.stages.map((s: { name: string }) => [s.name, s]),
  );
  for (const k of [2, 3]) {
    assertEquals(by[`evaluate@k=${k}`].result, "mismatch");
    assertEquals(by[`evaluate@k=${k}`].explanations, [
      `upstream train@k=${k} produced different outputs`,
    ]);
  }
});

Deno.test("text diff says why a stage's key changed", async () => {
  await using p = await tempProject({
    "d.yaml": `name: d
params: { n: 3 }
stages:
  make: { run: "seq 1 \${params.n} > rows.txt", outs: { rows: rows.txt } }
  total: { run: "wc -l < \${stages.make.outs.rows} > t.txt", outs: { t: t.txt } }
`,
  });
  const file = join(p.dir, "d.yaml");
  assertEquals((await runCli(["run", file, "--runs", p.runsDir])).code, 0);
  assertEquals((await runCli(["run", file, "--runs", p.runsDir, "--set", "params.n=4"])).code, 0);
  const diff = await runCli(["diff", "d", "--runs", p.runsDir]);
  assertEquals(diff.code, 0, diff.stderr);
  assertMatch(
    diff.stdout,
    /\n {2}make +key [0-9a-f]{12} -> [0-9a-f]{12} +ran -> ran {2}why: param n 3 -> 4\n/,
  );
  assertMatch(
    diff.stdout,
    /\n {2}total +key .* ran -> ran {2}why: upstream output make\.rows changed\n/,
  );
});
