import {
  cacheKey,
  explainChange,
  KEY_VERSION,
  type KeyComponents,
} from "../../src/runner/cache_key.ts";
import { canonicalJson } from "../../src/runner/hash.ts";
import { assert, assertEquals, DEMO, tempProject } from "./_helpers.ts";

const BASE: KeyComponents = {
  v: KEY_VERSION,
  kind: "run",
  command: "head -n ${params.n} ${deps.input} > rows.txt",
  params: { "params.n": 3 },
  deps: { input: "file:" + "0".repeat(64) },
  inputs: {},
  outs: { rows: "rows.txt" },
};

Deno.test("canonicalJson() sorts keys at every level and drops undefined members", () => {
  assertEquals(
    canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } }),
    '{"a":{"d":[1,{"x":1,"y":2}]},"b":1}',
  );
});

Deno.test("cacheKey() is pinned for a fixed record (golden key)", async () => {
  assertEquals(
    await cacheKey(BASE),
    "5adb18c2c5fcd7963e4bedaecc9d5e3424827d30a299f349b69535793a2c0050",
  );
  // Member order does not matter.
  assertEquals(
    await cacheKey({ ...BASE, outs: { rows: "rows.txt" }, v: KEY_VERSION }),
    await cacheKey(BASE),
  );
});

Deno.test("runExperiment() computes the pinned key for the demo experiment wherever it lives", async () => {
  await using p = await tempProject(DEMO);
  const report = await p.run("exp/demo.yaml", { dryRun: true });
  assertEquals(
    report.stages[0].key,
    "48de855e82eca6c00cc67a0ad86ede4a4979b62bcd56255736d1855c0f060ba6",
  );
});

Deno.test("explainChange() names each changed component", () => {
  const cur: KeyComponents = {
    ...BASE,
    command: "head -n ${params.n} ${deps.input} | sort > rows.txt",
    params: { "params.n": 5 },
    deps: { input: "file:" + "1".repeat(64) },
    inputs: { "stages.a.outs.o": "file:" + "2".repeat(64) },
  };
  assertEquals(explainChange(BASE, cur), [
    "command changed",
    "param n 3 -> 5",
    "dep input changed",
    "input a.o added",
  ]);
  const code = { files: { "a.ts": "1", "b.ts": "2" }, packages: ["npm:yaml@2.9.1"] };
  const ts: KeyComponents = { ...BASE, kind: "ts", command: undefined, code, seed: 1, name: "s" };
  assertEquals(
    explainChange(ts, {
      ...ts,
      seed: 2,
      code: { files: { "a.ts": "1", "b.ts": "3" }, packages: ["npm:yaml@2.9.2"] },
    }),
    [
      "code changed (b.ts)",
      "packages changed (npm:yaml@2.9.1 -> npm:yaml@2.9.2)",
      "seed 1 -> 2",
    ],
  );
  assertEquals(explainChange(BASE, BASE), []);
});

Deno.test("runExperiment() keys a run: stage anew only where quoting a parameter changes its command", async () => {
  await using p = await tempProject({
    "q.yaml": `params: { msg: "hello world; echo X", word: hello, n: 3 }
stages:
  spaced:
    run: "echo \${params.msg} > o"
    outs: { o: o }
  safe:
    run: "echo \${params.word} \${params.n} > o"
    outs: { o: o }
`,
  });
  const report = await p.run("q.yaml", { dryRun: true });
  const key = (name: string) => report.stages.find((s) => s.name === name)!.key;
  // The keys ditto gave these stages before parameter values were quoted: one whose values
  // render as before keeps its key (and its stored result) ...
  assertEquals(key("safe"), "b7a882c8b63accd38e3a93cd143140a6cd5edae19f6d0749613123638db84f0a");
  // ... one whose command now differs must not be served the result of the old command.
  assert(key("spaced") !== "ba4e43dfbd7fab1c0700ba1834201a537faf7c18cafa5aa2e21925db1bd074d9");
});

Deno.test("explainChange() names the quoting of parameter values only when nothing else changed", () => {
  const quoted: KeyComponents = { ...BASE, quoted: true };
  assertEquals(explainChange(BASE, quoted), ["parameter values are shell-quoted now"]);
  assertEquals(explainChange(BASE, { ...quoted, params: { "params.n": "a b" } }), [
    'param n 3 -> "a b"',
  ]);
});
