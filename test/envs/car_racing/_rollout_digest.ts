/**
 * Runs a fixed rollout and prints the SHA-256 of every observation, reward and state, so
 * the determinism test can compare two processes. Usage: deno run -A _rollout_digest.ts
 */

import { CarRacing } from "../../../src/envs/car_racing/mod.ts";
import { Random } from "../../../src/random/mod.ts";

/**
 * Hashes a seeded rollout: reset(seed 11), 250 random steps, then a seedless reset that
 * continues the stream, and 100 more steps.
 *
 * @returns Hex SHA-256.
 */
export async function rolloutDigest(): Promise<string> {
  const env = await CarRacing.create({ observation: "pixels64" });
  const rng = Random.keyedSplitMix(99);
  const chunks: Uint8Array[] = [];
  const text = new TextEncoder();
  const record = (obs: Uint8Array, reward: number) => {
    chunks.push(obs.slice(), new Uint8Array(new Float64Array([reward]).buffer));
    chunks.push(text.encode(JSON.stringify(env.state())));
  };
  for (const [seed, steps] of [[11, 250], [undefined, 100]] as const) {
    const r = env.reset(seed === undefined ? {} : { seed });
    record(r.observation, 0);
    for (let i = 0; i < steps; i++) {
      const s = env.step([rng.uniform(-1, 1), rng.nextFloat(), rng.nextFloat() * 0.3]);
      record(s.observation, s.reward);
      if (s.terminated || s.truncated) break;
    }
  }
  env.close();
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

if (import.meta.main) console.log(await rolloutDigest());
