import assert from "node:assert/strict";
import { decode } from "fast-png";
import { encodeGif, recordEpisode } from "../../../src/envs/car_racing/demo.ts";
import { CarRacing } from "../../../src/envs/car_racing/mod.ts";
import { TrackFollower } from "../../../src/envs/car_racing/track_follower.ts";

Deno.test("recordEpisode() keeps the rendered frames and encodeGif() writes a lossless GIF", async () => {
  const rec = await recordEpisode({ seed: 3, steps: 6, every: 2, view: "video" });
  assert.equal(rec.frames.length, 4); // reset + steps 2, 4, 6
  assert.equal(rec.width, 600);
  assert.equal(rec.frames[0].length, 600 * 400 * 3);
  const env = await CarRacing.create();
  env.reset({ seed: 3 });
  assert.deepEqual(rec.frames[0], env.render({ width: 600, height: 400 }));
  env.close();
  const gif = encodeGif(rec);
  assert.equal(new TextDecoder().decode(gif.subarray(0, 6)), "GIF89a");
  // Netscape loop block and 4 image descriptors (0x2c after a graphic control block).
  let images = 0;
  for (let i = 0; i + 8 < gif.length; i++) {
    if (gif[i] === 0x21 && gif[i + 1] === 0xf9 && gif[i + 2] === 4 && gif[i + 8] === 0x2c) images++;
  }
  assert.equal(images, 4);
});

Deno.test("env:demo writes PNG frames of the observation when --out is a folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/frames`;
    const root = new URL("../../../", import.meta.url).pathname;
    const child = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "src/envs/car_racing/demo.ts",
        "--seed",
        "3",
        "--out",
        out,
        "--view",
        "pixels96",
        "--scale",
        "1",
        "--steps",
        "3",
        "--every",
        "1",
      ],
      cwd: root,
      stderr: "piped",
    }).output();
    assert.equal(child.code, 0, new TextDecoder().decode(child.stderr));
    const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    assert.deepEqual(names, [0, 1, 2, 3].map((i) => `frame_0000${i}.png`));
    const png = decode(await Deno.readFile(`${out}/frame_00003.png`));
    assert.equal(png.width, 96);
    const env = await CarRacing.create({ observation: "pixels96", maxSteps: 3 });
    env.reset({ seed: 3 });
    const follower = new TrackFollower();
    let obs = new Uint8Array(0) as Uint8Array;
    for (let i = 0; i < 3; i++) obs = env.step(follower.act(env)).observation;
    env.close();
    assert.deepEqual(new Uint8Array(png.data as Uint8Array), obs);
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "src/envs/car_racing/demo.ts", "--view", "nope"],
      cwd: root,
      stderr: "piped",
    }).output();
    assert.equal(bad.code, 1);
    assert.match(new TextDecoder().decode(bad.stderr), /unknown --view/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
