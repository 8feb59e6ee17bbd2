import { join } from "node:path";
import { hashFile } from "../../src/runner/hash.ts";
import { assert, assertEquals, tempProject } from "./_helpers.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

const FILES = {
  "exp/rng.yaml": `name: rng
seed: 3
stages:
  draw:
    uses: ./draw.ts
`,
  // Imports nothing: its results depend on ditto's code only through ctx.rng.
  "exp/draw.ts": `export default {
  description: "one seeded number",
  params: {},
  outputs: ["x.txt"],
  async run(ctx) {
    await Deno.writeTextFile(ctx.output("x.txt"), String(ctx.rng.nextFloat()));
  },
};
`,
};

Deno.test("a TypeScript stage's code fingerprint covers the generator behind ctx.rng, named from ditto's root", async () => {
  await using p = await tempProject(FILES);
  const report = await p.run("exp/rng.yaml");
  assertEquals(report.status, "succeeded", JSON.stringify(report.stages));
  const code = report.stages[0].code!;
  assertEquals(code.files["draw.ts"] !== undefined, true);
  const host = Object.keys(code.files).filter((f) => f.startsWith("ditto:"));
  // Every module of src/random/ that the stage host loads, each with its current content hash,
  // so an edit to any of them changes the key of every TypeScript stage.
  for (const file of ["src/random/mod.ts", "src/random/rng.ts", "src/random/xoshiro.ts"]) {
    assert(host.includes(`ditto:${file}`), `${file} missing from ${host.join(", ")}`);
    assertEquals(code.files[`ditto:${file}`], (await hashFile(join(ROOT, file))).hash);
  }
  assert(host.every((f) => f.startsWith("ditto:src/random/")), host.join(", "));
});
