import { join } from "node:path";
import { ExperimentError, loadExperiment, type StageMeta } from "../../src/runner/mod.ts";
import { assert, assertEquals, assertMatch, stage, statuses, tempProject } from "./_helpers.ts";

/** A sweep: a shared upstream stage, a matrix stage and a downstream stage. */
const SWEEP = {
  "exp/sweep.yaml": `name: sweep
params: { n: 3 }
stages:
  prep:
    run: "seq \${params.n} > rows.txt"
    outs: { rows: rows.txt }
  train:
    matrix: { t: [0.5, 1.0] }
    run: "echo t=\${matrix.t} rows=$(wc -l < \${stages.prep.outs.rows}) > model.txt"
    outs: { model: model.txt }
  evaluate:
    run: "cp \${stages.train.outs.model} score.txt"
    outs: { score: score.txt }
  report:
    needs: [prep]
    run: "echo done > report.txt"
    outs: { report: report.txt }
`,
};

/** A TypeScript stage that writes its parameters as JSON. */
const ECHO_STAGE = `export default {
  description: "writes its parameters",
  params: {
    temperature: { type: "number", description: "tau", default: 1 },
    label: { type: "string", description: "a label", default: "-" },
  },
  outputs: ["params.json"],
  async run(ctx) {
    await Deno.writeTextFile(ctx.output("params.json"), JSON.stringify(ctx.params));
  },
};
`;

const noModules = (path: string): Promise<StageMeta> =>
  Promise.reject(new Error(`unexpected module ${path}`));

/** A describer for `./echo.ts` without importing it (validation tests run no stage). */
const echoMeta = (): Promise<StageMeta> =>
  Promise.resolve({
    description: "echo",
    params: {
      temperature: { type: "number", description: "tau", default: 1, max: 2 },
      label: { type: "string", description: "a label", default: "-" },
    },
    inputs: {},
    outputs: ["params.json"],
    deterministic: true,
  });

async function problems(
  dir: string,
  file: string,
  options: { sets?: string[]; describe?: (path: string) => Promise<StageMeta> } = {},
): Promise<string[]> {
  try {
    await loadExperiment(join(dir, file), {
      describe: options.describe ?? noModules,
      sets: options.sets,
    });
  } catch (error) {
    assert(error instanceof ExperimentError, String(error));
    return error.problems.map((p) =>
      `${
        p.location.file.replace(dir + "/", "")
      }:${p.location.line}:${p.location.column} ${p.key}: ${p.message}`
    );
  }
  throw new Error("expected an ExperimentError");
}

Deno.test("runExperiment() expands a matrix stage and its dependents into named variants", async () => {
  await using p = await tempProject(SWEEP);
  const report = await p.run("exp/sweep.yaml");
  assertEquals(report.status, "succeeded");
  assertEquals(statuses(report), {
    prep: "ran",
    "train@t=0.5": "ran",
    "train@t=1": "ran",
    "evaluate@t=0.5": "ran",
    "evaluate@t=1": "ran",
    report: "ran",
  });
  // Each downstream variant reads the output of its own upstream variant.
  assertEquals(p.read("runs/sweep/0001/evaluate@t=0.5/score.txt"), "t=0.5 rows=3\n");
  assertEquals(p.read("runs/sweep/0001/evaluate@t=1/score.txt"), "t=1 rows=3\n");
  const keys = report.stages.map((s) => s.key);
  assertEquals(new Set(keys).size, keys.length);
  const variant = report.stages.find((s) => s.name === "evaluate@t=1")!;
  assertEquals([variant.base, variant.matrix], ["evaluate", { t: 1 }]);
  assertEquals(report.stages.find((s) => s.name === "prep")!.base, undefined);
});

Deno.test("runExperiment() runs only a new matrix value and its dependents; shared stages stay cached", async () => {
  await using p = await tempProject(SWEEP);
  const first = await p.run("exp/sweep.yaml");
  const second = await p.run("exp/sweep.yaml", { sets: ["stages.train.matrix.t=[0.5,1.0,1.3]"] });
  assertEquals(statuses(second), {
    prep: "cached",
    "train@t=0.5": "cached",
    "train@t=1": "cached",
    "train@t=1.3": "ran",
    "evaluate@t=0.5": "cached",
    "evaluate@t=1": "cached",
    "evaluate@t=1.3": "ran",
    report: "cached",
  });
  assertEquals(stage(second, "train@t=1.3").reason, "no stored result");
  const key = (r: typeof first, name: string) => r.stages.find((s) => s.name === name)!.key;
  assertEquals(key(second, "train@t=0.5"), key(first, "train@t=0.5"));
  assertEquals(p.read("runs/sweep/0002/evaluate@t=1.3/score.txt"), "t=1.3 rows=3\n");
  // A change upstream of the matrix reaches every variant.
  const third = await p.run("exp/sweep.yaml", { sets: ["params.n=4"] });
  assertEquals(stage(third, "prep").status, "ran");
  assertEquals(stage(third, "evaluate@t=1").reason, "upstream output train.model changed");
});

Deno.test("runExperiment() forces every variant of a matrix stage by its declared name", async () => {
  await using p = await tempProject(SWEEP);
  await p.run("exp/sweep.yaml");
  const all = await p.run("exp/sweep.yaml", { force: ["train"] });
  assertEquals(stage(all, "train@t=0.5").reason, "forced");
  assertEquals(stage(all, "train@t=1").reason, "forced");
  assertEquals(stage(all, "prep").status, "cached");
  const one = await p.run("exp/sweep.yaml", { force: ["train@t=1"] });
  assertEquals([stage(one, "train@t=1").reason, stage(one, "train@t=0.5").status], [
    "forced",
    "cached",
  ]);
});

Deno.test("runExperiment() combines distinct keys of two matrix stages as a cartesian product", async () => {
  await using p = await tempProject({
    "m.yaml": `stages:
  a:
    matrix: { x: [1, 2], y: [u, v] }
    run: "echo \${matrix.x}\${matrix.y} > a.txt"
    outs: { a: a.txt }
  b:
    matrix: { z: [true] }
    run: "echo \${matrix.z} > b.txt"
    outs: { b: b.txt }
  c:
    run: "cat \${stages.a.outs.a} \${stages.b.outs.b} > c.txt; echo \${matrix.y} >> c.txt"
    outs: { c: c.txt }
`,
  });
  const report = await p.run("m.yaml");
  assertEquals(report.stages.map((s) => s.name), [
    "a@x=1,y=u",
    "a@x=1,y=v",
    "a@x=2,y=u",
    "a@x=2,y=v",
    "b@z=true",
    "c@x=1,y=u,z=true",
    "c@x=1,y=v,z=true",
    "c@x=2,y=u,z=true",
    "c@x=2,y=v,z=true",
  ]);
  assertEquals(p.read("runs/m/0001/c@x=2,y=v,z=true/c.txt"), "2v\ntrue\nv\n");
});

Deno.test("runExperiment() resolves ${matrix.x} in with: keeping its type, and a key naming a parameter sets it", async () => {
  await using p = await tempProject({
    "exp/echo.ts": ECHO_STAGE,
    "exp/t.yaml": `stages:
  explicit:
    uses: ./echo.ts
    matrix: { tau: [0.5] }
    with: { temperature: "\${matrix.tau}", label: "tau-\${matrix.tau}" }
  implicit:
    uses: ./echo.ts
    matrix: { temperature: [1.5] }
`,
  });
  const report = await p.run("exp/t.yaml");
  assertEquals(report.status, "succeeded", JSON.stringify(report.stages));
  assertEquals(JSON.parse(p.read("runs/t/0001/explicit@tau=0.5/params.json")), {
    temperature: 0.5,
    label: "tau-0.5",
  });
  assertEquals(JSON.parse(p.read("runs/t/0001/implicit@temperature=1.5/params.json")), {
    temperature: 1.5,
    label: "-",
  });
  // config.yaml keeps the matrix and the placeholders, and runs as is with the same keys.
  const config = p.read("runs/t/0001/config.yaml");
  assertMatch(config, /temperature: \$\{matrix\.tau\}/);
  const again = await p.run("runs/t/0001/config.yaml");
  assertEquals(again.stages.map((s) => [s.name, s.status, s.key]), [
    ...report.stages.map((s) => [s.name, "cached", s.key]),
  ]);
});

Deno.test("loadExperiment() reports bad matrix values with line and column", async () => {
  await using p = await tempProject({
    "bad.yaml": `stages:
  a:
    matrix: { t: [] }
    run: "echo \${matrix.t} > a.txt"
  b:
    matrix: { t: 3 }
    run: "echo \${matrix.t}"
  c:
    matrix:
      t: [1, { x: 1 }, "a/b", 1.0]
    run: "echo \${matrix.t}"
  d:
    matrix: { t: [1], u: [2] }
    run: "echo \${matrix.t} \${matrix.v}"
`,
  });
  assertEquals(await problems(p.dir, "bad.yaml"), [
    "bad.yaml:3:18 stages.a.matrix.t: Cannot accept a list: expected a non-empty list of values",
    "bad.yaml:6:18 stages.b.matrix.t: Cannot accept a number: expected a non-empty list of values",
    "bad.yaml:10:14 stages.c.matrix.t.1: Cannot accept a mapping as a matrix value: expected a scalar",
    'bad.yaml:10:24 stages.c.matrix.t.2: Cannot accept "a/b" as a matrix value',
    "bad.yaml:10:31 stages.c.matrix.t.3: Cannot accept 1 twice: it names the same variant as 1",
    'bad.yaml:13:23 stages.d.matrix.u: Cannot sweep "u": the stage does not use ${matrix.u}, ' +
    "so every variant would compute the same result",
  ]);
});

Deno.test("loadExperiment() reports unknown ${matrix.x}, repeated and conflicting keys", async () => {
  await using p = await tempProject({
    "keys.yaml": `stages:
  a:
    matrix: { t: [1, 2] }
    run: "echo \${matrix.t} > a.txt"
    outs: { a: a.txt }
  b:
    matrix: { t: [3] }
    run: "echo \${matrix.t} > b.txt"
    outs: { b: b.txt }
  again:
    matrix: { t: [4] }
    run: "cat \${stages.a.outs.a} \${matrix.t}"
  both:
    needs: [a, b]
    run: "true"
  plain:
    run: "echo \${matrix.tt}"
  down:
    run: "cat \${stages.a.outs.a} \${matrix.tt}"
`,
  });
  const found = await problems(p.dir, "keys.yaml");
  assertEquals(found, [
    'keys.yaml:11:15 stages.again.matrix.t: Cannot sweep "t" again: "again" already has a ' +
    'variant per "t" of its upstream matrix stage "a"',
    'keys.yaml:13:3 stages.both: Cannot combine matrix key "t" of stages "a" and "b": both ' +
    'reach "both"',
    "keys.yaml:17:10 stages.plain.run: Cannot resolve ${matrix.tt}: no such matrix key",
    "keys.yaml:19:10 stages.down.run: Cannot resolve ${matrix.tt}: no such matrix key",
  ]);
  try {
    await loadExperiment(join(p.dir, "keys.yaml"), { describe: noModules });
    throw new Error("expected an ExperimentError");
  } catch (error) {
    assertMatch(String(error), /stages\.down\.run: .*\n {2}hint: did you mean "t"\?/);
    assertMatch(String(error), /stages\.plain\.run: .*\n {2}hint: stage "plain" has no matrix/);
  }
});

Deno.test("loadExperiment() checks each variant's parameters and --set matrix values", async () => {
  await using p = await tempProject({
    "s.yaml": `stages:
  a:
    uses: ./echo.ts
    matrix: { temperature: [1, 3] }
  b:
    uses: ./echo.ts
    matrix: { tau: [0.5] }
    with: { temperature: "\${matrix.tau}" }
`,
  });
  assertEquals(await problems(p.dir, "s.yaml", { describe: echoMeta }), [
    's.yaml:4:28 stages.a.matrix.temperature: Cannot accept 3 in variant "a@temperature=3": ' +
    "must be <= 2, got 3",
  ]);
  assertEquals(
    await problems(p.dir, "s.yaml", {
      describe: echoMeta,
      sets: ["stages.a.matrix.temperature=[1]", "stages.b.matrix.tau=[5, 1.5]"],
    }),
    ['s.yaml:8:26 stages.b.with.temperature: Cannot accept 5 in variant "b@tau=5": must be <= 2, got 5'],
  );
  const scalar = await problems(p.dir, "s.yaml", {
    describe: echoMeta,
    sets: ["stages.a.matrix.temperature=1.5", "stages.a@temperature=1.with.label=x"],
  });
  assertEquals(scalar, [
    '--set:0:0 stages.a@temperature: Cannot apply --set: unknown stage "a@temperature"',
    "--set:0:0 stages.a.matrix.temperature: Cannot accept a number: expected a non-empty list " +
    "of values",
  ]);
  try {
    await loadExperiment(join(p.dir, "s.yaml"), {
      describe: echoMeta,
      sets: ["stages.a@temperature=1.with.label=x"],
    });
    throw new Error("expected an ExperimentError");
  } catch (error) {
    assertMatch(String(error), /hint: set the matrix of "a" instead/);
  }
  const exp = await loadExperiment(join(p.dir, "s.yaml"), {
    describe: echoMeta,
    sets: ["stages.a.matrix.temperature=[1.0,1.25]"],
  });
  assertEquals(exp.stages.map((s) => [s.name, s.params.temperature]), [
    ["a@temperature=1", 1],
    ["a@temperature=1.25", 1.25],
    ["b@tau=0.5", 0.5],
  ]);
});

Deno.test("loadExperiment() refuses a matrix that would build more than 10000 variants", async () => {
  const values = `[${Array.from({ length: 101 }, (_, i) => i).join(", ")}]`;
  await using p = await tempProject({
    "big.yaml": `stages:
  a:
    matrix: { x: ${values}, y: ${values} }
    run: "echo \${matrix.x} \${matrix.y}"
`,
  });
  assertEquals(await problems(p.dir, "big.yaml"), [
    'big.yaml:2:3 stages.a: Cannot expand stage "a" into 10201 variants (at most 10000)',
  ]);
});

Deno.test("loadExperiment() explains that an explicit with: value wins over a matrix key of the same name", async () => {
  await using p = await tempProject({
    "base.yaml": `stages:\n  a:\n    uses: ./echo.ts\n    with: { temperature: 1.5 }\n`,
    "w.yaml": `extends: base.yaml\nstages:\n  a:\n    matrix: { temperature: [0.5, 1] }\n`,
  });
  try {
    await loadExperiment(join(p.dir, "w.yaml"), { describe: echoMeta });
    throw new Error("expected an ExperimentError");
  } catch (error) {
    assertMatch(
      String(error),
      /w\.yaml:4:15: stages\.a\.matrix\.temperature: Cannot sweep "temperature".*\n {2}hint: `with: \{ temperature: 1\.5 \}` \(perhaps from an extended file\) wins over the matrix/,
    );
  }
});
