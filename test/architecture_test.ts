/**
 * The README's architecture map, enforced: which top-level folders of src/ may load which at
 * run time (type-only imports are erased and allowed), from deno info's import graph.
 */
import { join, relative } from "node:path";
import { assertEquals } from "./runner/_helpers.ts";
import { importGraph } from "./stages/_import_graph.ts";

const ROOT = join(import.meta.dirname!, "..");

/** Folder -> the folders its modules may load at run time (README, "Architecture"). */
const ALLOWED: Record<string, string[]> = {
  cli: ["runner", "runs", "stages", "ui", "fleet"],
  // The worker fleet: the runner's StageExecutor and the workers, over push/pull's remotes.
  fleet: ["runner", "runs"],
  ui: ["runner", "runs"],
  runs: ["runner"],
  stages: ["runner", "worldmodels", "models", "envs", "es", "data", "random", "media", "pool"],
  worldmodels: ["models", "envs", "es", "data", "random", "media", "pool"],
  models: ["envs", "data", "random", "pool"],
  envs: ["random", "media", "pool"],
  es: ["random"],
  data: ["random"],
  // ctx.rng: the stage host's generator, fingerprinted into every TypeScript stage's key.
  runner: ["random"],
  random: [],
  pool: [],
  media: [],
};

Deno.test("src/ folders load only what the architecture map allows, and every folder is on it", async () => {
  const graph = await importGraph(ROOT);
  const src = join(ROOT, "src");
  const folder = (path: string) => relative(src, path).split("/")[0];
  const unknown = new Set<string>();
  const violations: string[] = [];
  for (const [from, deps] of graph) {
    if (!from.startsWith(src + "/")) continue;
    const a = folder(from);
    if (!(a in ALLOWED)) unknown.add(a);
    for (const dep of deps) {
      if (!dep.startsWith(src + "/")) continue;
      const b = folder(dep);
      if (a !== b && !ALLOWED[a]?.includes(b)) {
        violations.push(`${relative(ROOT, from)} -> ${relative(ROOT, dep)}`);
      }
    }
  }
  assertEquals([...unknown], []);
  assertEquals(violations, []);
});
