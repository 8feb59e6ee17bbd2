import { join } from "node:path";
import { ExperimentError } from "../../../src/runner/errors.ts";
import { loadExperiment, type StageMeta } from "../../../src/runner/experiment/mod.ts";
import { assert, assertEquals, tempProject } from "../_helpers.ts";

const META: StageMeta = {
  description: "test stage",
  params: { label: { type: "string", default: "x", description: "a label" } },
  inputs: { rows: { description: "rows", optional: true } },
  outputs: ["out"],
  deterministic: true,
};

Deno.test("loadExperiment() takes ${raw:…} for parameter and matrix values in run: only", async () => {
  await using p = await tempProject({
    "ok.yaml": `params: { flags: "-a -b" }
stages:
  a:
    run: "ls \${raw:params.flags} \${raw: matrix.k} > o"
    outs: { o: o }
    matrix: { k: [1, 2] }
`,
    "bad.yaml": `params: { flags: "-a -b" }
stages:
  a:
    run: "cat \${raw:params.nope} \${raw:seed} \${raw:stages.b.outs.out} > o"
    outs: { o: o }
  b:
    uses: ./b.ts
    inputs: { rows: "\${raw:stages.a.outs.o}" }
    with: { label: "\${raw:params.flags}" }
`,
  });
  const describe = () => Promise.resolve(META);
  const ok = await loadExperiment(join(p.dir, "ok.yaml"), { describe });
  assertEquals(ok.stages.map((s) => s.name), ["a@k=1", "a@k=2"]);
  const error = await loadExperiment(join(p.dir, "bad.yaml"), { describe }).catch((e) => e);
  assert(error instanceof ExperimentError, String(error));
  assertEquals(error.problems.map((x) => `${x.location.line}:${x.location.column} ${x.message}`), [
    "4:10 Cannot resolve ${params.nope}: no such parameter",
    "4:10 Cannot use placeholder ${raw:seed}: only parameter and matrix values can be raw",
    "4:10 Cannot use placeholder ${raw:stages.b.outs.out}: only parameter and matrix values can be raw",
    "8:21 Cannot use placeholder ${raw:stages.a.outs.o} here",
    "9:20 Cannot use placeholder ${raw:params.flags} here",
  ]);
  assertEquals(
    error.problems[3].hint,
    "`raw:` is for parameter and matrix values in `run:` commands; elsewhere values are not quoted",
  );
});
