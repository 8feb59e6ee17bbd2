import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheKey, KEY_VERSION } from "../../src/runner/cache_key.ts";
import { CodeFingerprinter } from "../../src/runner/fingerprint.ts";
import { builtinStages } from "../../src/stages/mod.ts";
import { age, assert, assertEquals } from "../runner/_helpers.ts";
import { importGraph, reachable } from "./_import_graph.ts";

const ROOT = join(import.meta.dirname!, "../..");

/** Built-in stage name -> its module, relative to the repository root. */
const STAGES = Object.fromEntries(
  Object.entries(builtinStages).map(([name, url]) => [name, relative(ROOT, fileURLToPath(url))]),
);

/** A fingerprinter configured as the engine configures it, for the repository at `root`. */
function fingerprinter(root: string, memoPath?: string): CodeFingerprinter {
  return new CodeFingerprinter({
    memoPath,
    imports: JSON.parse(Deno.readTextFileSync(join(root, "deno.json"))).imports,
    importMapDir: root,
    exclude: [join(root, "src/runner")],
  });
}

/** The files a stage's fingerprint covers, relative to `root`. */
async function covered(fp: CodeFingerprinter, root: string, module: string): Promise<string[]> {
  const entry = join(root, module);
  const { files } = await fp.fingerprint(entry);
  return Object.keys(files).map((f) => relative(root, join(dirname(entry), f))).sort();
}

/**
 * What deno info says each built-in stage loads at run time, the runner aside; with `throughRunner`
 * also what the runner loads for it outside src/runner/ (`ctx.rng` comes from src/random/).
 */
async function loadedModules(throughRunner = false): Promise<Record<string, string[]>> {
  const graph = await importGraph(ROOT);
  const runner = join(ROOT, "src/runner");
  const stop = throughRunner ? [] : [runner];
  return Object.fromEntries(
    Object.entries(STAGES).map(([name, module]) => [
      name,
      reachable(graph, join(ROOT, module), stop)
        .filter((f) => !f.startsWith(runner + "/"))
        .map((f) => relative(ROOT, f)),
    ]),
  );
}

/** The cache key of a stage whose code fingerprint is `code`, everything else fixed. */
async function keyOf(fp: CodeFingerprinter, root: string, name: string): Promise<string> {
  const code = await fp.fingerprint(join(root, STAGES[name]));
  return cacheKey({
    v: KEY_VERSION,
    kind: "ts",
    code,
    name,
    params: {},
    seed: 1,
    deps: {},
    inputs: {},
    outs: {},
    bind: {},
  });
}

Deno.test("each built-in stage's fingerprint covers exactly the modules it loads (deno info), the runner aside", async () => {
  const loaded = await loadedModules();
  const withRunner = await loadedModules(true);
  const fp = fingerprinter(ROOT);
  assertEquals(Object.keys(loaded).length > 0, true);
  for (const [name, module] of Object.entries(STAGES)) {
    const files = await covered(fp, ROOT, module);
    // Equal, not just a superset: a type-only import (erased at run time) is left out by both,
    // so a change to a type-only dependency does not rerun the stage.
    assertEquals(files, loaded[name], name);
    // The fingerprint does not follow the runner; what the runner loads outside src/runner/
    // (the generator behind ctx.rng) is covered because the stage imports it too.
    assertEquals(withRunner[name].filter((f) => !files.includes(f)), [], name);
    assert(files.some((f) => f.startsWith("src/random/")), `${name} uses src/random/`);
  }
  // Worker entries are part of a stage's code although nothing imports them.
  assert(loaded["worldmodels/evaluate"].includes("src/worldmodels/agent_worker.ts"));
  assert(loaded["worldmodels/collect"].includes("src/worldmodels/collect_worker.ts"));
});

Deno.test("worldmodels/baseline's fingerprint has no model, agent or pool module", async () => {
  const files = await covered(fingerprinter(ROOT), ROOT, STAGES["worldmodels/baseline"]);
  assertEquals(files.filter((f) => f.startsWith("src/models/")), []);
  assertEquals(files.filter((f) => /^src\/worldmodels\/(agent|.*pool|.*worker)/.test(f)), []);
  assertEquals(files.filter((f) => f.startsWith("src/stages/") && !f.endsWith("/baseline.ts")), []);
  assert(files.includes("src/worldmodels/held_out.ts"));
});

Deno.test("editing any module a built-in stage loads changes that stage's key, and only its", async () => {
  const loaded = await loadedModules();
  const root = await Deno.makeTempDir({ prefix: "ditto_fp_" });
  try {
    // A copy of the code, aged so the fingerprinter's memo answers for unchanged files.
    const copy = await new Deno.Command("cp", {
      args: ["-R", join(ROOT, "src"), join(ROOT, "deno.json"), root],
    }).output();
    assert(copy.success, new TextDecoder().decode(copy.stderr));
    const union = [...new Set(Object.values(loaded).flat())].sort();
    for (const f of union) age(join(root, f));
    const fp = fingerprinter(root, join(root, "memo.json"));
    const names = Object.keys(STAGES);
    const before: Record<string, string> = {};
    for (const name of names) before[name] = await keyOf(fp, root, name);
    const rekeyedBy: Record<string, string[]> = {};
    for (const file of union) {
      const path = join(root, file);
      const original = Deno.readTextFileSync(path);
      Deno.writeTextFileSync(path, original + "\n// edited\n");
      const changed: string[] = [];
      for (const name of names) {
        if (await keyOf(fp, root, name) !== before[name]) changed.push(name);
      }
      Deno.writeTextFileSync(path, original);
      rekeyedBy[file] = changed;
      assertEquals(changed, names.filter((n) => loaded[n].includes(file)), file);
    }
    // A change of a constant, not a comment, in the generator every stage draws from.
    const seeding = join(root, "src/random/seeding.ts");
    const source = Deno.readTextFileSync(seeding);
    assert(source.includes("0x9e3779b9"));
    Deno.writeTextFileSync(seeding, source.replace("0x9e3779b9", "0x9e3779b1"));
    for (const name of names) assert(await keyOf(fp, root, name) !== before[name], name);
    // The two holes this test guards: the MDN-RNN and the dream draw from src/random/.
    assertEquals(rekeyedBy["src/random/xoshiro.ts"], names);
    assert(rekeyedBy["src/models/mdn_rnn.ts"].includes("worldmodels/train_rnn"));
    assert(rekeyedBy["src/worldmodels/dream_env.ts"].includes("worldmodels/train_controller"));
    assert(!rekeyedBy["src/models/mdn_rnn.ts"].includes("worldmodels/baseline"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
