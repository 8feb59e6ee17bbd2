import { join } from "node:path";
import { assertEquals, tempProject } from "./_helpers.ts";

const FILES = {
  "exp/progress.yaml": `name: progress
stages:
  train:
    uses: ./train.ts
    with: { go: "GO_FILE" }
`,
  // Reports 3 of 4 steps, then waits (bounded) for the test to let it finish.
  "exp/train.ts": `export default {
  description: "reports progress, then waits for a file",
  params: { go: { type: "string", description: "file that lets it finish" } },
  outputs: ["done.txt"],
  async run(ctx) {
    ctx.progress.total(4, "steps");
    for (let i = 0; i < 3; i++) ctx.progress.advance(1, "loss 0.5");
    for (let i = 0; i < 1200; i++) {
      try {
        Deno.statSync(ctx.params.go);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    ctx.progress.advance(1);
    await Deno.writeTextFile(ctx.output("done.txt"), "done\\n");
  },
};
`,
};

Deno.test("a running TypeScript stage's progress is in run.json for watchers, and gone when it ends", async () => {
  await using p = await tempProject(FILES);
  const go = join(p.dir, "go");
  p.write("exp/progress.yaml", FILES["exp/progress.yaml"].replace("GO_FILE", go));
  const running = p.run("exp/progress.yaml");
  const runJson = join(p.runsDir, "progress", "0001", "run.json");
  let seen: unknown;
  // Bounded by the stage's own wait (30 s), not by a timed assertion.
  for (let i = 0; i < 1200 && seen === undefined; i++) {
    try {
      const stage = JSON.parse(Deno.readTextFileSync(runJson)).stages[0];
      if (stage.progress?.done === 3) seen = stage.progress;
    } catch {
      // Not written yet, or being replaced.
    }
    if (seen === undefined) await new Promise((r) => setTimeout(r, 25));
  }
  Deno.writeTextFileSync(go, "");
  const report = await running;
  assertEquals(seen, { done: 3, total: 4, unit: "steps", message: "loss 0.5" });
  assertEquals(report.status, "succeeded");
  assertEquals(report.stages[0].progress, undefined);
  assertEquals(JSON.parse(Deno.readTextFileSync(runJson)).stages[0].progress, undefined);
});
