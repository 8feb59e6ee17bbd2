import { join } from "node:path";
import { CodeFingerprinter, scanImports } from "../../src/runner/fingerprint.ts";
import { age, assertEquals, tempProject } from "./_helpers.ts";

Deno.test("scanImports() finds static, re-export and literal dynamic imports but not type-only ones", () => {
  const source = `import { a } from "./a.ts";
import type { T } from "./types.ts";
import * as b from '../b.ts';
import "./side.ts";
export { c } from "./c.ts";
export type { U } from "./u.ts";
import {
  d,
  e,
} from "yaml";
const m = await import("./lazy.ts");
`;
  assertEquals(scanImports(source), [
    "./a.ts",
    "../b.ts",
    "./side.ts",
    "./c.ts",
    "yaml",
    "./lazy.ts",
  ]);
});

Deno.test("scanImports() ignores modules named in comment lines (JSDoc examples)", () => {
  const source = `/**
 * \`\`\`ts
 * import { x } from "./example.ts";
 * const pool = await createPool(new URL("./my_worker.ts", import.meta.url), {}, 4);
 * \`\`\`
 */
// import { old } from "./old.ts";
import { a } from "./a.ts";
const w = new Worker(new URL("./w.ts", import.meta.url), { type: "module" });
`;
  assertEquals(scanImports(source), ["./a.ts", "./w.ts"]);
});

Deno.test("CodeFingerprinter.fingerprint() follows local imports, maps bare ones to package versions", async () => {
  await using p = await tempProject({
    "stage/main.ts":
      `import { x } from "./lib/x.ts";\nimport { parse } from "yaml";\nimport "node:fs";\n`,
    "stage/lib/x.ts": `export { y } from "../../shared/y.ts";\nexport const x = 1;\n`,
    "shared/y.ts":
      `import { blake3 } from "npm:hash-wasm@4.13.0/dist/index.js";\nexport const y = 2;\n`,
    "stage/unused.ts": "export const z = 3;\n",
  });
  const fp = new CodeFingerprinter({
    memoPath: join(p.dir, "memo.json"),
    imports: { yaml: "npm:yaml@2.9.1" },
  });
  const result = await fp.fingerprint(join(p.dir, "stage/main.ts"));
  assertEquals(Object.keys(result.files), ["../shared/y.ts", "lib/x.ts", "main.ts"]);
  assertEquals(result.packages, ["npm:hash-wasm@4.13.0", "npm:yaml@2.9.1"]);
  // A memoised file is not reread: the memo entry answers while size, mtime and inode hold.
  for (const f of ["stage/main.ts", "stage/lib/x.ts", "shared/y.ts"]) age(join(p.dir, f));
  const before = await fp.fingerprint(join(p.dir, "stage/main.ts"));
  fp.save();
  const fresh = new CodeFingerprinter({
    memoPath: join(p.dir, "memo.json"),
    imports: { yaml: "npm:yaml@2.9.1" },
  });
  assertEquals(await fresh.fingerprint(join(p.dir, "stage/main.ts")), before);
  p.write("shared/y.ts", "export const y = 3;\n");
  const after = await fresh.fingerprint(join(p.dir, "stage/main.ts"));
  assertEquals(after.packages, ["npm:yaml@2.9.1"]);
  assertEquals(after.files["main.ts"], before.files["main.ts"]);
  assertEquals(after.files["../shared/y.ts"] !== before.files["../shared/y.ts"], true);
});

Deno.test("CodeFingerprinter.fingerprint() skips excluded infrastructure folders", async () => {
  await using p = await tempProject({
    "stage.ts": `import { defineStage } from "./runner/mod.ts";\nimport { f } from "./lib.ts";\n`,
    "lib.ts": "export const f = 1;\n",
    "runner/mod.ts": `export * from "./engine.ts";\n`,
    "runner/engine.ts": "export const e = 1;\n",
  });
  const fp = new CodeFingerprinter({ exclude: [join(p.dir, "runner")] });
  const result = await fp.fingerprint(join(p.dir, "stage.ts"));
  assertEquals(Object.keys(result.files), ["lib.ts", "stage.ts"]);
});

Deno.test("CodeFingerprinter.fingerprint() follows module URLs: a Worker's entry is stage code", async () => {
  await using p = await tempProject({
    "stage.ts": `const url = new URL("./pool/worker.ts", import.meta.url).href;\n` +
      `new Worker(url, { type: "module" });\nconst data = new URL("./table.bin", import.meta.url);\n`,
    "pool/worker.ts": `import { step } from "../step.ts";\nself.onmessage = () => step();\n`,
    "step.ts": "export const step = () => 1;\n",
    "table.bin": "not code",
  });
  assertEquals(
    scanImports(Deno.readTextFileSync(join(p.dir, "stage.ts"))),
    ["./pool/worker.ts"],
  );
  const fp = new CodeFingerprinter();
  const before = await fp.fingerprint(join(p.dir, "stage.ts"));
  assertEquals(Object.keys(before.files), ["pool/worker.ts", "stage.ts", "step.ts"]);
  p.write("step.ts", "export const step = () => 2;\n");
  const after = await new CodeFingerprinter().fingerprint(join(p.dir, "stage.ts"));
  assertEquals(after.files["step.ts"] !== before.files["step.ts"], true);
});
