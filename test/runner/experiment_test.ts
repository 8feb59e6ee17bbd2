import { join } from "node:path";
import { ExperimentError, loadExperiment, type StageMeta } from "../../src/runner/mod.ts";
import { assert, assertEquals, assertMatch, tempProject } from "./_helpers.ts";

const noModules = (path: string): Promise<StageMeta> =>
  Promise.reject(new Error(`unexpected module ${path}`));

async function problems(
  dir: string,
  file: string,
  sets: string[] = [],
  describe = noModules,
): Promise<string[]> {
  try {
    await loadExperiment(join(dir, file), { describe, sets });
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

Deno.test("loadExperiment() reports unknown keys, wrong types and bad needs with line and column", async () => {
  await using p = await tempProject({
    "bad.yaml": `name: bad
sed: 1
params: { n: 3 }
stages:
  a:
    run: "echo \${params.m} > a.txt"
    outs: { a: a.txt }
    needz: [b]
  b:
    run: 42
    needs: [zzz]
  c:
    run: "cat \${stages.a.outs.nope}"
    outs: { x: ../escape.txt }
`,
  });
  assertEquals(await problems(p.dir, "bad.yaml"), [
    `bad.yaml:2:1 sed: Cannot accept unknown key "sed"`,
    `bad.yaml:6:10 stages.a.run: Cannot resolve \${params.m}: no such parameter`,
    `bad.yaml:8:5 stages.a.needz: Cannot accept unknown stage key "needz"`,
    `bad.yaml:10:10 stages.b.run: Cannot accept a number as a command: expected a non-empty string`,
    `bad.yaml:11:13 stages.b.needs.0: Cannot depend on unknown stage "zzz"`,
    `bad.yaml:13:10 stages.c.run: Cannot resolve \${stages.a.outs.nope}: stage "a" has no output "nope"`,
    `bad.yaml:14:16 stages.c.outs.x: Cannot accept output path "../escape.txt": it escapes the stage's work dir`,
  ]);
});

Deno.test("loadExperiment() gives hints: closest key and allowed values", async () => {
  await using p = await tempProject({
    "h.yaml": `stages:\n  a:\n    rnu: "true"\n`,
  });
  try {
    await loadExperiment(join(p.dir, "h.yaml"), { describe: noModules });
    throw new Error("expected an error");
  } catch (error) {
    assert(error instanceof ExperimentError);
    assertMatch(
      error.message,
      /h\.yaml:3:5: stages\.a\.rnu: Cannot accept unknown stage key "rnu"\n {2}hint: did you mean "run"\?/,
    );
  }
});

Deno.test("loadExperiment() names the cycle", async () => {
  await using p = await tempProject({
    "c.yaml": `stages:
  a: { run: "true", needs: [c] }
  b: { run: "true", needs: [a] }
  c: { run: "true", needs: [b] }
`,
  });
  assertEquals(await problems(p.dir, "c.yaml"), [
    "c.yaml:2:21 stages.a.needs: Cannot order stages: a cycle a -> c -> b -> a",
  ]);
});

Deno.test("loadExperiment() reports YAML syntax errors with their line", async () => {
  await using p = await tempProject({ "s.yaml": "stages:\n  a: { run: 'x'\n  b: 1\n" });
  const [first] = await problems(p.dir, "s.yaml");
  assertMatch(first, /^s\.yaml:\d+:\d+ \(syntax\): Cannot parse YAML/);
});

Deno.test("loadExperiment() deep-merges extends and keeps each file's locations", async () => {
  await using p = await tempProject({
    "base.yaml": `name: base
seed: 1
params: { n: 3, scale: 2 }
stages:
  make:
    run: "head -n \${params.n} \${deps.input} > rows.txt"
    deps: { input: data/in.txt }
    outs: { rows: rows.txt }
`,
    "data/in.txt": "1\n",
    "variants/small.yaml": `extends: ../base.yaml
name: small
params: { n: 1 }
stages:
  make:
    outs: { rows: rows.txt, bad: /abs.txt }
`,
  });
  const exp = await loadExperiment(join(p.dir, "base.yaml"), { describe: noModules });
  assertEquals(exp.params, { n: 3, scale: 2 });
  const variant = await loadExperiment(join(p.dir, "variants/small.yaml"), {
    describe: noModules,
    sets: ["stages.make.outs.bad=ok.txt"],
  });
  assertEquals(variant.name, "small");
  assertEquals(variant.params, { n: 1, scale: 2 });
  assertEquals(variant.seed, 1);
  // Paths stay relative to the file that declared them.
  assertEquals(variant.stages[0].deps.input, join(p.dir, "data/in.txt"));
  assertEquals(await problems(p.dir, "variants/small.yaml"), [
    `variants/small.yaml:6:34 stages.make.outs.bad: Cannot accept output path "/abs.txt": it escapes the stage's work dir`,
  ]);
});

Deno.test("loadExperiment() rejects --set paths the schema does not allow", async () => {
  await using p = await tempProject({ "x.yaml": `stages:\n  a: { run: "true" }\n` });
  assertEquals(await problems(p.dir, "x.yaml", ["stages.nope.run=1", "bogus=1", "params"]), [
    `--set:0:0 stages.nope.run: Cannot apply --set: unknown stage "nope"`,
    `--set:0:0 params: Cannot apply --set: expected path=value`,
    `--set:0:0 bogus: Cannot accept unknown key "bogus"`,
  ]);
});

const META: StageMeta = {
  description: "test stage",
  params: {
    epochs: { type: "integer", min: 1, description: "passes" },
    mode: { type: "string", default: "fast", enum: ["fast", "slow"], description: "speed" },
  },
  inputs: { rows: { description: "rows" } },
  outputs: ["model"],
  deterministic: false,
};

Deno.test("loadExperiment() checks TS stage parameters and inputs against the module", async () => {
  await using p = await tempProject({
    "t.yaml": `params: { e: 2 }
stages:
  make: { run: "true", outs: { rows: r.txt } }
  train:
    uses: ./train.ts
    inputs: { rows: "\${stages.make.outs.rows}", extra: "\${stages.make.outs.rows}" }
    with: { epochs: 0, mode: medium, lr: 1 }
  ok:
    uses: ./train.ts
    inputs: { rows: "\${stages.make.outs.rows}" }
    with: { epochs: "\${params.e}" }
`,
  });
  const describe = () => Promise.resolve(META);
  assertEquals(await problems(p.dir, "t.yaml", [], describe), [
    `t.yaml:6:49 stages.train.inputs.extra: Cannot accept unknown input "extra"`,
    `t.yaml:7:21 stages.train.with.epochs: Cannot accept 0: must be >= 1, got 0`,
    `t.yaml:7:30 stages.train.with.mode: Cannot accept "medium": expected one of "fast", "slow", got "medium"`,
    `t.yaml:7:38 stages.train.with.lr: Cannot accept unknown parameter "lr"`,
  ]);
  const exp = await loadExperiment(join(p.dir, "t.yaml"), {
    describe,
    sets: ["stages.train.with.epochs=3", "stages.train.with.mode=slow", "stages.train.with.lr=1"],
  }).catch((e) => e as ExperimentError);
  assert(exp instanceof ExperimentError);
  assertEquals(exp.problems.map((x) => x.key), [
    "stages.train.inputs.extra",
    "stages.train.with.lr",
  ]);
  const good = await loadExperiment(join(p.dir, "t.yaml"), {
    describe,
    sets: [
      "stages.train.with={epochs: 3}",
      "stages.train.inputs={rows: '${stages.make.outs.rows}'}",
    ],
  });
  const ok = good.stages.find((s) => s.name === "ok")!;
  assertEquals(ok.params, { epochs: 2, mode: "fast" });
  assertEquals(ok.needs, ["make"]);
  assertEquals(ok.deterministic, false);
});

Deno.test("loadExperiment() writes nothing when the experiment is invalid", async () => {
  await using p = await tempProject({ "x.yaml": `stages:\n  a: { run: 1 }\n` });
  try {
    await p.run("x.yaml");
  } catch (error) {
    assert(error instanceof ExperimentError);
  }
  assertEquals([...Deno.readDirSync(p.dir)].map((e) => e.name), ["x.yaml"]);
});
