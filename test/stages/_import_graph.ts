/**
 * Test helper: the run-time import graph of the repo's modules as `deno info --json` reports it,
 * an oracle independent of the runner's code fingerprinter.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath as fromFileUrl, pathToFileURL as toFileUrl } from "node:url";

/** Module path -> the local modules it loads at run time. */
export type ImportGraph = Map<string, string[]>;

interface InfoDependency {
  code?: { specifier: string };
  type?: { specifier: string };
}

interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

// deno info does not see Worker entries: they are URLs, not imports.
const WORKER_URL = /new URL\(\s*"(\.\.?\/[^"]+\.ts)",\s*import\.meta\.url\s*\)/g;

/**
 * The run-time graph of every module under `root`/src: an edge for each dependency deno info
 * records as code (type-only imports are erased, so deno info records them as types only), and
 * for each Worker entry URL a module names.
 *
 * @param root The repository root (its deno.json maps the bare specifiers).
 * @returns The graph, keyed by absolute path.
 */
export async function importGraph(root: string): Promise<ImportGraph> {
  const dir = await Deno.makeTempDir({ prefix: "ditto_graph_" });
  try {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of Deno.readDirSync(d)) {
        const p = join(d, e.name);
        if (e.isDirectory) walk(p);
        else if (e.name.endsWith(".ts")) files.push(p);
      }
    };
    walk(join(root, "src"));
    const entry = join(dir, "all.ts");
    Deno.writeTextFileSync(
      entry,
      files.map((f) => `import ${JSON.stringify(toFileUrl(f).href)};\n`).join(""),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", join(root, "deno.json"), entry],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`deno info failed: ${new TextDecoder().decode(out.stderr)}`);
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
    const graph: ImportGraph = new Map();
    for (const m of info.modules) {
      if (!m.specifier.startsWith("file:") || m.specifier === toFileUrl(entry).href) continue;
      const path = fromFileUrl(m.specifier);
      const deps = (m.dependencies ?? [])
        .flatMap((d) => d.code && d.code.specifier.startsWith("file:") ? [d.code.specifier] : [])
        .map((s) => fromFileUrl(s));
      // Comment lines (JSDoc examples) load nothing.
      const code = Deno.readTextFileSync(path).replace(/^\s*(?:\/\/|\/\*|\*).*$/gm, "");
      for (const w of code.matchAll(WORKER_URL)) {
        deps.push(fromFileUrl(new URL(w[1], m.specifier)));
      }
      graph.set(path, deps);
    }
    return graph;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The modules `entry` loads at run time, itself included, not looking inside `stop` folders.
 *
 * @param graph The import graph.
 * @param entry Absolute path of the entry module.
 * @param stop Folders whose modules are left out (with whatever only they load).
 * @returns Absolute paths, sorted.
 */
export function reachable(graph: ImportGraph, entry: string, stop: string[]): string[] {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file) || stop.some((d) => file.startsWith(d + "/"))) continue;
    seen.add(file);
    const deps = graph.get(file);
    if (!deps) throw new Error(`deno info does not know ${file}`);
    queue.push(...deps);
  }
  return [...seen].sort();
}
