import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Episode,
  type FrameBatch,
  RolloutReader,
  RolloutWriter,
  shuffledRows,
} from "../../src/data/rollouts.ts";
import { python } from "./python.ts";

const FRAME = 64 * 64 * 3;

/** An episode whose frame at global row r is filled with (r * 7 + j) % 251. */
function makeEpisode(firstRow: number, length: number, terminated: boolean): Episode {
  const frames = new Uint8Array(length * FRAME);
  for (let t = 0; t < length; t++) {
    for (let j = 0; j < FRAME; j++) frames[t * FRAME + j] = ((firstRow + t) * 7 + j) % 251;
  }
  const actions = Float32Array.from({ length: length * 3 }, (_, i) => Math.sin(firstRow + i));
  const rewards = Float32Array.from({ length }, (_, t) => (t % 3 === 0 ? 3.2 : -0.1));
  const dones = new Uint8Array(length);
  if (terminated) dones[length - 1] = 1;
  return { frames, actions, rewards, dones };
}

async function writeDataset(dir: string, lengths: number[]): Promise<Episode[]> {
  const writer = await RolloutWriter.create(dir, {
    policy: { name: "test", action_refresh_rate: 2 },
  });
  const episodes: Episode[] = [];
  let row = 0;
  for (const [k, length] of lengths.entries()) {
    const episode = makeEpisode(row, length, k % 2 === 1);
    episodes.push(episode);
    await writer.append(1000 + k, episode);
    row += length;
  }
  await writer.close();
  return episodes;
}

Deno.test("RolloutWriter writes a dataset numpy.load opens, consistent with index.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const episodes = await writeDataset(dir, [5, 1, 7]);
    const out = await python(
      `
import sys, json, os, numpy as np
d = sys.argv[1]
index = json.load(open(os.path.join(d, "index.json")))
arrays = {k: np.load(os.path.join(d, index["files"][k])) for k in ["frames", "actions", "rewards", "dones"]}
res = {k: [a.dtype.str, list(a.shape)] for k, a in arrays.items()}
res["episodes"] = []
for e in index["episodes"]:
    s = slice(e["start"], e["start"] + e["length"])
    res["episodes"].append({
        "seed": e["seed"], "length": e["length"],
        "return_ok": bool(abs(float(arrays["rewards"][s].astype(np.float64).sum()) - e["return"]) < 1e-9),
        "first_pixel": int(arrays["frames"][s][0, 0, 0, 0]),
        "last_done": bool(arrays["dones"][s][-1]), "terminated": e["terminated"],
        "dones_before_last": int(arrays["dones"][s][:-1].sum()),
        "action0": float(arrays["actions"][s][0, 0]),
    })
res["counts"] = [index["episodes_count"], index["frames_count"], index["frame_shape"], index["action_size"]]
res["policy"] = index["policy"]
print(json.dumps(res))
`,
      [dir],
    );
    const res = JSON.parse(out);
    assert.deepEqual(res.frames, ["|u1", [13, 64, 64, 3]]);
    assert.deepEqual(res.actions, ["<f4", [13, 3]]);
    assert.deepEqual(res.rewards, ["<f4", [13]]);
    assert.deepEqual(res.dones, ["|b1", [13]]);
    assert.deepEqual(res.counts, [3, 13, [64, 64, 3], 3]);
    assert.deepEqual(res.policy, { name: "test", action_refresh_rate: 2 });
    const starts = [0, 5, 6];
    assert.deepEqual(
      res.episodes,
      episodes.map((e, k) => ({
        seed: 1000 + k,
        length: e.rewards.length,
        return_ok: true,
        first_pixel: (starts[k] * 7) % 251,
        last_done: k === 1,
        terminated: k === 1,
        dones_before_last: 0,
        action0: e.actions[0],
      })),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RolloutWriter.append() rejects an episode whose arrays disagree", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const writer = await RolloutWriter.create(dir);
    const good = makeEpisode(0, 2, false);
    await assert.rejects(
      () => writer.append(1, { ...good, actions: new Float32Array(5) }),
      { name: "RangeError", message: /actions hold 5 values, not 2 actions/ },
    );
    await assert.rejects(
      () => writer.append(1, { ...good, dones: Uint8Array.from([1, 0]) }),
      { name: "RangeError", message: /done is set before its last step/ },
    );
    await writer.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RolloutReader.readEpisode() returns the steps that were written, whole or sliced", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const episodes = await writeDataset(dir, [4, 6]);
    const reader = await RolloutReader.open(dir);
    try {
      assert.deepEqual(reader.episodes.map((e) => [e.index, e.seed, e.start, e.length]), [
        [0, 1000, 0, 4],
        [1, 1001, 4, 6],
      ]);
      assert.deepEqual(await reader.readEpisode(1), episodes[1]);
      const slice = await reader.readEpisode(1, { offset: 2, length: 3 });
      assert.deepEqual(slice.frames, episodes[1].frames.slice(2 * FRAME, 5 * FRAME));
      assert.deepEqual(slice.actions, episodes[1].actions.slice(6, 15));
      assert.deepEqual(slice.rewards, episodes[1].rewards.slice(2, 5));
      await assert.rejects(() => reader.readEpisode(1, { offset: 4, length: 3 }), {
        name: "RangeError",
        message: /it has 6/,
      });
      await assert.rejects(() => reader.readEpisode(2), { name: "RangeError" });
    } finally {
      reader.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RolloutReader.frameBatches() visits every frame once per epoch, seeded and resumable", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeDataset(dir, [9, 5, 9]); // 23 frames
    const reader = await RolloutReader.open(dir);
    try {
      const all: FrameBatch[] = [];
      for (const b of reader.frameBatches({ batchSize: 5, seed: 7, epochs: 2 })) all.push(b);
      assert.deepEqual(all.map((b) => [b.epoch, b.batch, b.rows.length]), [
        [0, 0, 5],
        [0, 1, 5],
        [0, 2, 5],
        [0, 3, 5],
        [0, 4, 3],
        [1, 0, 5],
        [1, 1, 5],
        [1, 2, 5],
        [1, 3, 5],
        [1, 4, 3],
      ]);
      for (const epoch of [0, 1]) {
        const rows = all.filter((b) => b.epoch === epoch).flatMap((b) => Array.from(b.rows));
        assert.deepEqual([...rows].sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
        assert.notDeepEqual(rows, Array.from({ length: 23 }, (_, i) => i)); // shuffled
      }
      // Each epoch has its own order.
      assert.notDeepEqual(all[0].rows, all[5].rows);
      // The frames are those of the rows, in batch order.
      for (const b of all) {
        b.rows.forEach((r, k) => assert.equal(b.frames[k * FRAME + 1], (r * 7 + 1) % 251));
      }
      // Same seed, same batches; resuming at (epoch 1, batch 2) continues identically.
      const resumed: FrameBatch[] = [];
      for (
        const b of reader.frameBatches({ batchSize: 5, seed: 7, startEpoch: 1, startBatch: 2 })
      ) resumed.push(b);
      assert.deepEqual(resumed, all.slice(7));
      const other = reader.frameBatches({ batchSize: 5, seed: 8 }).next();
      assert.notDeepEqual(other.value?.rows, all[0].rows);
      assert.deepEqual(shuffledRows(23, 7, 1).slice(0, 5), all[5].rows);
      // dropLast leaves out the short batch; stopping early is clean.
      const dropped: number[] = [];
      for (const b of reader.frameBatches({ batchSize: 5, seed: 7, dropLast: true })) {
        dropped.push(b.rows.length);
      }
      assert.deepEqual(dropped, [5, 5, 5, 5]);
      for (const _ of reader.frameBatches({ batchSize: 2, seed: 1 })) break;
    } finally {
      reader.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RolloutReader.open() rejects arrays that disagree with index.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeDataset(dir, [3]);
    const index = JSON.parse(await Deno.readTextFile(join(dir, "index.json")));
    index.frames_count = 4;
    await Deno.writeTextFile(join(dir, "index.json"), JSON.stringify(index));
    await assert.rejects(() => RolloutReader.open(dir), {
      name: "RangeError",
      message: /frames\.npy is u1 \[3, 64, 64, 3\], index\.json expects u1 \[4, 64, 64, 3\]/,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
