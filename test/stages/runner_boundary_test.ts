import { join, relative } from "node:path";
import { assert, assertEquals } from "../runner/_helpers.ts";
import { importGraph } from "./_import_graph.ts";

const ROOT = join(import.meta.dirname!, "../..");
const RUNNER = join(ROOT, "src/runner");
const LIBRARIES = ["models", "envs", "es", "data", "worldmodels", "random", "media"];

Deno.test("no library module loads the runner at run time (code fingerprints leave src/runner/ out)", async () => {
  const graph = await importGraph(ROOT);
  const offending: string[] = [];
  for (const lib of LIBRARIES) {
    const dir = join(ROOT, "src", lib);
    const modules = [...graph.keys()].filter((f) => f.startsWith(dir + "/"));
    assert(modules.length > 0, `deno info lists no module of src/${lib}/`);
    for (const file of modules) {
      for (const dep of graph.get(file)!) {
        if (dep.startsWith(RUNNER + "/")) {
          offending.push(`${relative(ROOT, file)} -> ${relative(ROOT, dep)}`);
        }
      }
    }
  }
  // Type-only imports (`import type`, e.g. the stage API's types) are erased: allowed.
  assertEquals(offending, []);
});
