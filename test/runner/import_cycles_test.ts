import { join, relative, resolve } from "node:path";
import { assertEquals } from "./_helpers.ts";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const SRC = join(ROOT, "src");

function sources(dir: string): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory) return sources(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

/** Import cycles among `src/` modules, each as `a.ts -> b.ts -> a.ts`. */
async function importCycles(): Promise<string[]> {
  // One root importing every module, so `deno info` reads the whole graph in one call
  // (modules loaded through variable specifiers, like the CLI's commands, included).
  const dir = await Deno.makeTempDir({ prefix: "ditto_cycles_" });
  try {
    const root = join(dir, "all.ts");
    const files = sources(SRC).sort();
    Deno.writeTextFileSync(root, files.map((f) => `import "file://${f}";\n`).join(""));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", join(ROOT, "deno.json"), root],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    const inSrc = (s?: string) => s?.startsWith(`file://${SRC}/`) ?? false;
    const graph = new Map<string, string[]>();
    for (const m of info.modules as { specifier: string; dependencies?: unknown[] }[]) {
      if (!inSrc(m.specifier)) continue;
      const deps = (m.dependencies ?? []) as {
        code?: { specifier: string };
        type?: { specifier: string };
      }[];
      graph.set(
        m.specifier,
        deps.flatMap((d) => [d.code?.specifier, d.type?.specifier]).filter(inSrc) as string[],
      );
    }
    assertEquals(graph.size, files.length, "deno info read every module");
    const name = (s: string) => relative(SRC, new URL(s).pathname);
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (node: string) => {
      state.set(node, "open");
      stack.push(node);
      for (const dep of graph.get(node) ?? []) {
        if (state.get(dep) === "open") {
          cycles.push([...stack.slice(stack.indexOf(dep)), dep].map(name).join(" -> "));
        } else if (!state.has(dep)) visit(dep);
      }
      stack.pop();
      state.set(node, "done");
    };
    for (const node of graph.keys()) if (!state.has(node)) visit(node);
    return cycles;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("src/ has no import cycle (type imports included)", async () => {
  assertEquals(await importCycles(), []);
});
