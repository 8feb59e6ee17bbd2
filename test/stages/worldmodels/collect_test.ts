import assert from "node:assert/strict";
import { join } from "node:path";
import { runExperiment } from "../../../src/runner/mod.ts";
import { builtinStages } from "../../../src/stages/mod.ts";
import { collectEpisodeSeed } from "../../../src/worldmodels/episode.ts";
import { python } from "../../data/python.ts";

const EXPERIMENT = `
name: collect_test
seed: 3
stages:
  collect:
    uses: worldmodels/collect
    with: { episodes: 3, max_steps: 40, policy: book, action_refresh_rate: 10, workers: 2 }
`;

Deno.test("worldmodels/collect runs through the runner; numpy loads its rollouts, the same bytes for any worker count", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "collect.yaml");
    await Deno.writeTextFile(file, EXPERIMENT);
    const runsDir = join(dir, "runs");
    const first = await runExperiment(file, { runsDir, builtins: builtinStages });
    assert.equal(first.status, "succeeded", JSON.stringify(first.stages));
    const stage = first.stages[0];
    assert.equal(stage.uses, "worldmodels/collect");
    assert.deepEqual(Object.keys(stage.outputs), ["rollouts"]);
    assert.equal(stage.metrics.frames, 120);
    const rollouts = join(first.dir!, "collect", "rollouts");
    const out = await python(
      `
import sys, json, os, numpy as np
d = sys.argv[1]
index = json.load(open(os.path.join(d, "index.json")))
frames = np.load(os.path.join(d, "frames.npy"))
actions = np.load(os.path.join(d, "actions.npy"))
rewards = np.load(os.path.join(d, "rewards.npy"))
dones = np.load(os.path.join(d, "dones.npy"))
print(json.dumps({
  "dtypes": [a.dtype.str for a in (frames, actions, rewards, dones)],
  "shapes": [list(a.shape) for a in (frames, actions, rewards, dones)],
  "seeds": [e["seed"] for e in index["episodes"]],
  "lengths": [e["length"] for e in index["episodes"]],
  "returns_ok": all(abs(float(rewards[e["start"]:e["start"] + e["length"]].astype(np.float64).sum()) - e["return"]) < 1e-9 for e in index["episodes"]),
  "first_actions": [actions[e["start"]].tolist() for e in index["episodes"]],
  "frame_std": float(frames.std()),
  "policy": index["policy"],
}))
`,
      [rollouts],
    );
    const result = JSON.parse(out);
    assert.deepEqual(result.dtypes, ["|u1", "<f4", "<f4", "|b1"]);
    assert.deepEqual(result.shapes, [[120, 64, 64, 3], [120, 3], [120], [120]]);
    assert.deepEqual(result.seeds, [0, 1, 2].map((i) => collectEpisodeSeed(3, i)));
    assert.deepEqual(result.lengths, [40, 40, 40]);
    assert.equal(result.returns_ok, true);
    // The book policy starts every episode with a push.
    for (const a of result.first_actions) assert.deepEqual(a, [Math.fround(-0.1), 1, 0]);
    assert.ok(result.frame_std > 10, "frames are not blank");
    assert.deepEqual(result.policy, { name: "book", action_refresh_rate: 10 });
    const metrics = (await Deno.readTextFile(join(first.dir!, "metrics", "collect.jsonl")))
      .trim().split("\n").map((line) => JSON.parse(line));
    assert.deepEqual(metrics.slice(0, 3).map((m) => [m.step, m.length]), [[0, 40], [1, 40], [
      2,
      40,
    ]]);

    // One worker instead of two: the stage reruns and writes the same bytes.
    const second = await runExperiment(file, {
      runsDir,
      builtins: builtinStages,
      sets: ["stages.collect.with.workers=1"],
    });
    assert.equal(second.stages[0].status, "ran");
    for (const name of ["frames.npy", "actions.npy", "rewards.npy", "dones.npy", "index.json"]) {
      assert.deepEqual(
        await Deno.readFile(join(second.dir!, "collect", "rollouts", name)),
        await Deno.readFile(join(rollouts, name)),
        name,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
