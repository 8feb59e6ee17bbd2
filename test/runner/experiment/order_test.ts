import { join } from "node:path";
import type { Problem } from "../../../src/runner/errors.ts";
import { ExperimentError } from "../../../src/runner/errors.ts";
import {
  compareProblems,
  loadExperiment,
  type StageMeta,
} from "../../../src/runner/experiment/mod.ts";
import { assert, assertEquals, tempProject } from "../_helpers.ts";

const at = (file: string, line: number, column: number, key = `${file}:${line}`): Problem => ({
  location: { file, line, column },
  key,
  message: "m",
});

/** Every ordering of a list. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest])
  );
}

Deno.test("compareProblems() orders by file (as read, then others by name), line, then column", () => {
  const files = ["/p/exp.yaml", "/p/base.yaml"];
  const expected = [
    at("/p/exp.yaml", 2, 1),
    at("/p/exp.yaml", 2, 7),
    at("/p/exp.yaml", 9, 3),
    at("/p/base.yaml", 1, 1),
    at("/p/base.yaml", 4, 2),
    at("--set", 0, 0),
    at("/p/other.yaml", 1, 1),
  ];
  // The same order from every starting order: the comparator is a total order.
  for (const input of permutations(expected)) {
    assertEquals([...input].sort(compareProblems(files)), expected);
  }
});

Deno.test("compareProblems() keeps problems at the same place in the order found", () => {
  const found = [at("--set", 0, 0, "b"), at("/p/x.yaml", 3, 1, "z"), at("--set", 0, 0, "a")];
  assertEquals(found.sort(compareProblems(["/p/x.yaml"])).map((p) => p.key), ["z", "b", "a"]);
});

Deno.test("loadExperiment() lists problems of the file, the files it extends, then --set", async () => {
  await using p = await tempProject({
    "base.yaml": `stages:
  a:
    run: 1
    outz: x
`,
    "exp.yaml": `extends: base.yaml
sed: 1
stages:
  b:
    run: "true"
    needz: []
`,
  });
  const noModules = (path: string): Promise<StageMeta> =>
    Promise.reject(new Error(`unexpected module ${path}`));
  const error = await loadExperiment(join(p.dir, "exp.yaml"), {
    describe: noModules,
    sets: ["bogus=1", "stages.a.deterministic=3"],
  }).catch((e) => e);
  assert(error instanceof ExperimentError, String(error));
  assertEquals(
    error.problems.map((x) =>
      `${x.location.file.replace(p.dir + "/", "")}:${x.location.line}:${x.location.column} ${x.key}`
    ),
    [
      "exp.yaml:2:1 sed",
      "exp.yaml:6:5 stages.b.needz",
      "base.yaml:3:10 stages.a.run",
      "base.yaml:4:5 stages.a.outz",
      "--set:0:0 bogus",
      "--set:0:0 stages.a.deterministic",
    ],
  );
});
