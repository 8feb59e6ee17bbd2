import assert from "node:assert/strict";
import { Random } from "../../src/random/mod.ts";
import { sampleZ, type SeriesEpisode, SeriesReader, SeriesWriter } from "../../src/data/series.ts";
import { fromFloat16Bits, toFloat16Bits } from "../../src/data/float16.ts";
import { python } from "./python.ts";

const Z = 4;

/** Step t of the dataset (global row r) has mu[j] = r + j / 8 and logvar[j] = -r / 16. */
function makeEpisode(firstRow: number, length: number): SeriesEpisode {
  return {
    mu: Float32Array.from(
      { length: length * Z },
      (_, i) => firstRow + Math.floor(i / Z) + (i % Z) / 8,
    ),
    logvar: Float32Array.from(
      { length: length * Z },
      (_, i) => -(firstRow + Math.floor(i / Z)) / 16,
    ),
    actions: Float32Array.from({ length: length * 3 }, (_, i) => firstRow + Math.floor(i / 3)),
    rewards: Float32Array.from({ length }, (_, t) => firstRow + t),
    dones: Uint8Array.from({ length }, (_, t) => (t === length - 1 ? 1 : 0)),
  };
}

async function writeSeries(dir: string, lengths: number[]): Promise<void> {
  const writer = await SeriesWriter.create(dir, { zSize: Z, zDtype: "f2", meta: { vae: "test" } });
  let row = 0;
  for (const [k, length] of lengths.entries()) {
    await writer.append({ seed: 50 + k }, makeEpisode(row, length));
    row += length;
  }
  await writer.close();
}

Deno.test("SeriesWriter writes float16 mu/logvar, steps and initial z that numpy.load opens", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSeries(dir, [5, 2, 8]);
    const out = await python(
      `
import sys, json, os, numpy as np
d = sys.argv[1]
index = json.load(open(os.path.join(d, "index.json")))
mu = np.load(os.path.join(d, "mu.npy")); logvar = np.load(os.path.join(d, "logvar.npy"))
init = np.load(os.path.join(d, "initial_z.npy"))
print(json.dumps({
  "dtypes": [a.dtype.str for a in (mu, logvar, init)],
  "shapes": [list(a.shape) for a in (mu, logvar, init)],
  "mu_row_9": mu[9].astype(float).tolist(),
  "initial": init[:, :, 0].astype(float).tolist(),
  "starts": [e["start"] for e in index["episodes"]],
  "seeds": [e["seed"] for e in index["episodes"]],
  "counts": [index["episodes_count"], index["frames_count"], index["z_size"], index["z_dtype"]],
}))
`,
      [dir],
    );
    const result = JSON.parse(out);
    assert.deepEqual(result.dtypes, ["<f2", "<f2", "<f4"]);
    assert.deepEqual(result.shapes, [[15, Z], [15, Z], [3, 2, Z]]);
    const f16 = (x: number) => fromFloat16Bits(toFloat16Bits(x));
    assert.deepEqual(result.mu_row_9, [9, 9.125, 9.25, 9.375].map(f16));
    assert.deepEqual(result.initial, [[0, -0], [5, -5 / 16], [7, -7 / 16]]);
    assert.deepEqual(result.starts, [0, 5, 7]);
    assert.deepEqual(result.seeds, [50, 51, 52]);
    assert.deepEqual(result.counts, [3, 15, Z, "f2"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SeriesReader.sequenceBatch() draws windows inside episodes, uniformly and reproducibly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSeries(dir, [5, 2, 8]); // windows of 4 steps: 2 in episode 0, none in 1, 5 in 2
    const reader = await SeriesReader.open(dir);
    try {
      const counts = new Map<string, number>();
      for (let step = 0; step < 200; step++) {
        const batch = reader.sequenceBatch({ batchSize: 7, length: 4, seed: 3, step });
        for (let b = 0; b < 7; b++) {
          const episode = batch.episodes[b];
          const offset = batch.offsets[b];
          const start = [0, 5, 7][episode] + offset;
          assert.ok(episode !== 1 && offset + 4 <= [5, 2, 8][episode]);
          // Rewards hold the global row: the window is 4 consecutive rows of one episode.
          assert.deepEqual(
            Array.from(batch.rewards.subarray(b * 4, b * 4 + 4)),
            [0, 1, 2, 3].map((t) => start + t),
          );
          assert.equal(batch.mu[b * 4 * Z + Z + 1], start + 1 + 1 / 8);
          counts.set(`${episode}:${offset}`, (counts.get(`${episode}:${offset}`) ?? 0) + 1);
        }
      }
      assert.equal(counts.size, 7);
      for (const [window, n] of counts) {
        // 1400 draws over 7 windows: 200 each, standard deviation ~13.
        assert.ok(Math.abs(n - 200) < 65, `window ${window} drawn ${n} times`);
      }
      const a = reader.sequenceBatch({ batchSize: 5, length: 3, seed: 9, step: 12 });
      const b = reader.sequenceBatch({ batchSize: 5, length: 3, seed: 9, step: 12 });
      const c = reader.sequenceBatch({ batchSize: 5, length: 3, seed: 9, step: 13 });
      assert.deepEqual(a, b);
      assert.notDeepEqual(a.offsets, c.offsets);
      assert.throws(() => reader.sequenceBatch({ batchSize: 1, length: 9, seed: 1, step: 0 }), {
        name: "RangeError",
        message: /no episode .* is that long/,
      });
      assert.deepEqual(reader.readEpisode(1), makeEpisode(5, 2));
    } finally {
      reader.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SeriesReader.sequenceBatch() throughEnd adds each terminated episode's last-action window; episodes limits the draw", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSeries(dir, [5, 2, 8]); // every episode ends with a done
    const reader = await SeriesReader.open(dir);
    try {
      const seen = new Set<string>();
      for (let step = 0; step < 100; step++) {
        const batch = reader.sequenceBatch({
          batchSize: 6,
          length: 4,
          seed: 3,
          step,
          throughEnd: true,
        });
        for (let b = 0; b < 6; b++) {
          const episode = batch.episodes[b], offset = batch.offsets[b];
          const length = [5, 2, 8][episode], start = [0, 5, 7][episode] + offset;
          const missing = batch.lastFrameMissing![b];
          assert.equal(missing, offset + 4 > length ? 1 : 0);
          // The window's existing rows are consecutive rows of the episode; the missing one is 0.
          assert.deepEqual(
            Array.from(batch.rewards.subarray(b * 4, b * 4 + 4)),
            [0, 1, 2, 3].map((t) => t < 4 - missing ? start + t : 0),
          );
          if (missing) assert.equal(batch.dones[b * 4 + 2], 1);
          seen.add(`${episode}:${offset}`);
        }
      }
      // 3 windows in episode 0 (offset 2 is the one past the end), 6 in episode 2, none in 1.
      assert.deepEqual([...seen].sort(), [
        "0:0",
        "0:1",
        "0:2",
        "2:0",
        "2:1",
        "2:2",
        "2:3",
        "2:4",
        "2:5",
      ]);
      for (let step = 0; step < 20; step++) {
        const batch = reader.sequenceBatch({ batchSize: 4, length: 4, seed: 3, step, episodes: 1 });
        assert.deepEqual([...batch.episodes], [0, 0, 0, 0]);
        assert.equal(batch.lastFrameMissing, undefined);
      }
      assert.throws(
        () => reader.sequenceBatch({ batchSize: 1, length: 4, seed: 3, step: 0, episodes: 4 }),
        /from 4 episodes: the series has 3/,
      );
    } finally {
      reader.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sampleZ() draws from N(mu, exp(logvar))", () => {
  const n = 20000;
  const mu = new Float32Array(n).fill(2);
  const logvar = new Float32Array(n).fill(Math.log(0.25));
  const z = sampleZ(mu, logvar, new Random(4));
  const mean = z.reduce((s, x) => s + x, 0) / n;
  const variance = z.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
  assert.ok(Math.abs(mean - 2) < 5 * Math.sqrt(0.25 / n), `mean ${mean}`);
  assert.ok(Math.abs(variance - 0.25) < 0.02, `variance ${variance}`);
});

Deno.test("SeriesReader.openMany() reads several series as one: episodes in order, renumbered, windows drawn from all", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSeries(`${dir}/a`, [5, 2]);
    await writeSeries(`${dir}/b`, [6]);
    const reader = await SeriesReader.openMany([`${dir}/a`, `${dir}/b`]);
    try {
      assert.equal(reader.index.episodes_count, 3);
      assert.equal(reader.index.frames_count, 13);
      assert.deepEqual(reader.episodes.map((e) => [e.index, e.start, e.length]), [
        [0, 0, 5],
        [1, 5, 2],
        [2, 7, 6],
      ]);
      // Episode 2 is b's first episode, whose rows start at 0 there.
      assert.deepEqual(reader.readEpisode(2), makeEpisode(0, 6));
      assert.deepEqual(reader.readEpisode(1, 1, 1), makeEpisodeRows(5, 2, 1, 1));
      const seen = new Set<number>();
      for (let step = 0; step < 50; step++) {
        const batch = reader.sequenceBatch({ batchSize: 4, length: 4, seed: 1, step });
        for (const e of batch.episodes) seen.add(e);
      }
      assert.deepEqual([...seen].sort(), [0, 2], "windows of 4 steps lie in episodes 0 and 2");
    } finally {
      reader.close();
    }
    const one = await SeriesReader.openMany([`${dir}/a`]);
    assert.equal(one.index.episodes_count, 2);
    one.close();
    const writer = await SeriesWriter.create(`${dir}/c`, { zSize: Z + 1 });
    await writer.close();
    await assert.rejects(
      () => SeriesReader.openMany([`${dir}/a`, `${dir}/c`]),
      /Cannot open series together: .*c has Z 5/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Steps `offset..offset+count` of the episode {@linkcode makeEpisode} makes. */
function makeEpisodeRows(
  firstRow: number,
  length: number,
  offset: number,
  count: number,
): SeriesEpisode {
  const e = makeEpisode(firstRow, length);
  return {
    mu: e.mu.slice(offset * Z, (offset + count) * Z),
    logvar: e.logvar.slice(offset * Z, (offset + count) * Z),
    actions: e.actions.slice(offset * 3, (offset + count) * 3),
    rewards: e.rewards.slice(offset, offset + count),
    dones: e.dones.slice(offset, offset + count),
  };
}
