/**
 * The kill-at-random test: real runner processes on a small multi-stage experiment are killed
 * with SIGKILL at random moments, many times. After every kill the store must hold no partial
 * object and no result that points at a missing one; the outputs a killed run recorded as done
 * must be intact; and once every variant finally completes, its outputs must equal those of an
 * uninterrupted run with the same seed in a fresh runs folder.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { hashPath } from "../../src/runner/hash.ts";
import type { RunRecord } from "../../src/runner/mod.ts";
import { collectGarbage, verifyStore } from "../../src/runs/maintenance.ts";
import { assert, assertEquals, cli, MAIN, tinyProject } from "./helpers.ts";

/** A small seeded generator (mulberry32): the kill schedule is reproducible from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BUDGET_MS = 30_000;
const MAX_KILLS = 24;
const KILLS_PER_VARIANT = 4;

function variantSets(v: number): string[] {
  return [`params.n=${3 + v}`, "stages.fit.with.steps=16", "stages.fit.with.delay_ms=60"];
}

/** Every stage a killed run recorded as finished has intact outputs in its run folder. */
async function checkRecordedOutputs(runs: string): Promise<number> {
  let checked = 0;
  const expDir = join(runs, "tiny");
  for (const entry of Deno.readDirSync(expDir)) {
    if (!/^\d{4}$/.test(entry.name)) continue;
    let record: RunRecord;
    try {
      record = JSON.parse(Deno.readTextFileSync(join(expDir, entry.name, "run.json")));
    } catch {
      continue; // Killed before its first run.json: nothing recorded.
    }
    const config = record.config.stages as Record<string, { outs?: Record<string, string> }>;
    for (const stage of record.stages) {
      if (stage.status !== "ran" && stage.status !== "cached") continue;
      for (const [name, content] of Object.entries(stage.outputs)) {
        const rel = config[stage.name]?.outs?.[name] ?? name;
        const actual = await hashPath(join(expDir, entry.name, stage.name, rel));
        assertEquals(actual.hash, content.hash, `${entry.name}/${stage.name}/${rel}`);
        checked++;
      }
    }
  }
  return checked;
}

Deno.test("SIGKILL and SIGTERM at random moments never leave a partial object, and finished runs match an uninterrupted one", async () => {
  await using p = await tinyProject();
  const random = mulberry32(20261126);
  const started = performance.now();
  let kills = 0;
  let finishedBeforeKill = 0;
  let terms = 0;
  let variants = 0;
  for (let i = 0; i < MAX_KILLS && performance.now() - started < BUDGET_MS; i++) {
    const v = Math.floor(i / KILLS_PER_VARIANT);
    variants = v + 1;
    const args = ["run", "-A", "--no-prompt", MAIN, "run", p.yaml, "--runs", p.runs];
    for (const s of variantSets(v)) args.push("--set", s);
    const child = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "null" })
      .spawn();
    // Start-up takes a few hundred ms; a run of this variant about a second more.
    await new Promise((r) => setTimeout(r, 150 + random() * 1600));
    // Every third interruption is a graceful one (SIGTERM, as Ctrl-C), sometimes twice.
    const graceful = i % 3 === 2;
    try {
      child.kill(graceful ? "SIGTERM" : "SIGKILL");
      if (graceful && i % 6 === 5) {
        await new Promise((r) => setTimeout(r, 30));
        child.kill("SIGTERM");
      }
      kills++;
    } catch {
      // It finished first.
    }
    const timer = graceful ? setTimeout(() => child.kill("SIGKILL"), 10_000) : undefined;
    const status = await child.status;
    clearTimeout(timer);
    if (status.success) finishedBeforeKill++;
    else if (graceful) {
      // 130 once the runner has installed its handler; before that SIGTERM ends it outright.
      assert(
        status.code === 130 || status.signal === "SIGTERM",
        `SIGTERM at kill ${i}: ${JSON.stringify(status)}`,
      );
      if (status.code === 130) terms++;
    }
    // A runner killed during start-up (a loaded machine) may not have created the store yet.
    if (!existsSync(join(p.runs, ".store"))) continue;
    const report = await verifyStore(p.runs, { quarantine: false });
    assert(report.ok, `after kill ${i}: ${JSON.stringify(report.problems)}`);
  }
  assert(kills >= 5, `only ${kills} kills happened`);
  await checkRecordedOutputs(p.runs);

  // Every variant now completes (finished stages cached, fit from its checkpoint) and matches
  // an uninterrupted run in a fresh folder.
  const clean = join(p.dir, "clean");
  let resumed = 0;
  for (let v = 0; v < variants; v++) {
    const args = ["run", p.yaml, "--runs", p.runs, "--json"];
    for (const s of variantSets(v)) args.push("--set", s);
    const out = await cli(args);
    assertEquals(out.code, 0, out.stderr);
    const finished = JSON.parse(out.stdout);
    const reference = await p.run(variantSets(v), clean);
    assertEquals(reference.status, "succeeded");
    for (const stage of reference.stages) {
      const mine = finished.stages.find((s: { name: string }) => s.name === stage.name);
      assertEquals(
        mine.outputs,
        Object.fromEntries(
          Object.entries(stage.outputs).map(([k, o]) => [k, { hash: o.hash, bytes: o.bytes }]),
        ),
        `variant ${v}, stage ${stage.name}`,
      );
    }
    const record = JSON.parse(await Deno.readTextFile(join(finished.dir, "run.json")));
    const fit = record.stages.find((s: { name: string }) => s.name === "fit");
    if (fit.status === "ran" && fit.facts.resumed_from > 0) resumed++;
  }
  assert((await verifyStore(p.runs)).ok);
  // Leftovers of killed writers and unreferenced objects go; what the kept runs use stays.
  collectGarbage(p.runs);
  assert((await verifyStore(p.runs)).ok);
  const last = await p.run(variantSets(variants - 1));
  assertEquals(last.stages.map((s) => s.status), ["cached", "cached", "cached"]);
  console.error(
    `kill test: ${kills} kills (${terms} SIGTERM) over ${variants} variants in ${
      ((performance.now() - started) / 1000).toFixed(1)
    }s, ${finishedBeforeKill} runs finished first, ${resumed} resumed from a checkpoint`,
  );
});
