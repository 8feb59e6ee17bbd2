import assert from "node:assert/strict";
import type { RunRecord } from "../../src/runner/mod.ts";
import { progressText } from "../../src/ui/run_page.ts";
import { runState } from "../../src/ui/server.ts";
import type { UiRun } from "../../src/ui/data.ts";

Deno.test("progressText() formats a running stage's progress, with or without a total", () => {
  assert.equal(progressText(undefined), "");
  assert.equal(progressText({ done: 3, total: 4, unit: "steps" }), "3/4 steps");
  assert.equal(
    progressText({ done: 7, total: 0, unit: "episodes", message: "return 12.5" }),
    "7 episodes, return 12.5",
  );
});

Deno.test("the polled state carries each stage's progress without changing the reload stamp", () => {
  const stage = {
    name: "train",
    status: "pending",
    kind: "ts",
    key: "k",
    reason: "no stored result",
    seconds: 0,
    outputs: {},
    metrics: {},
    facts: {},
    deterministic: true,
  };
  const run = (progress?: { done: number; total: number; unit: string }) =>
    ({
      name: "exp/0001",
      dir: "/nonexistent",
      record: {
        status: "running",
        seconds: 1,
        stages: [{ ...stage, progress }],
      } as unknown as RunRecord,
    }) as unknown as UiRun;
  const before = runState(run({ done: 1, total: 10, unit: "steps" }));
  const after = runState(run({ done: 9, total: 10, unit: "steps" }));
  assert.equal(before.stages[0].progress, "1/10 steps");
  assert.equal(after.stages[0].progress, "9/10 steps");
  assert.equal(before.stamp, after.stamp);
});
