import { join } from "node:path";
import { blake3Hex } from "../../src/runner/hash.ts";
import { classifyReadError, Store } from "../../src/runner/store.ts";
import { assert, assertEquals, assertMatch, CLI, DEMO, statuses, tempProject } from "./_helpers.ts";

/** Checks every stored result: each object exists and its bytes hash to its name. */
async function assertStoreConsistent(storeRoot: string): Promise<number> {
  const store = new Store(storeRoot);
  let results = 0;
  const check = async (content: { type: string; hash: string }) => {
    const bytes = Deno.readFileSync(store.objectPath(content.hash));
    assertEquals(await blake3Hex(bytes), content.hash, `object ${content.hash} is intact`);
    if (content.type === "dir") {
      for (const child of Object.values(store.readManifest(content.hash).entries)) {
        await check(child);
      }
    }
  };
  for (const shard of Deno.readDirSync(join(storeRoot, "results"))) {
    for (const file of Deno.readDirSync(join(storeRoot, "results", shard.name))) {
      const key = file.name.replace(/\.json$/, "");
      const entry = store.readResult(key);
      assert(entry, `result ${file.name} parses`);
      for (const content of Object.values(entry.outputs)) await check(content);
      results++;
    }
  }
  return results;
}

function spawnCli(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function finish(child: Deno.ChildProcess) {
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

Deno.test("Store.ingest() stores files and trees read-only and materialize() links them back", async () => {
  await using p = await tempProject({ "out/a.txt": "a", "out/sub/b.txt": "bb", "f.txt": "f" });
  const store = new Store(join(p.dir, "store"));
  const file = await store.ingest(join(p.dir, "f.txt"));
  assertEquals(file, { type: "file", hash: await blake3Hex("f"), bytes: 1 });
  const tree = await store.ingest(join(p.dir, "out"));
  assertEquals(tree.type, "dir");
  assertEquals(tree.bytes, 3);
  assert(store.has(tree));
  store.materialize(tree, join(p.dir, "copy"));
  assertEquals(p.read("copy/sub/b.txt"), "bb");
  assertEquals(Deno.statSync(store.objectPath(file.hash)).mode! & 0o777, 0o444);
  // The same content ingested again is stored once.
  p.write("g.txt", "f");
  assertEquals((await store.ingest(join(p.dir, "g.txt"))).hash, file.hash);
});

Deno.test("Store.readResult() treats a corrupt entry as a miss, with a warning", async () => {
  await using p = await tempProject({});
  const warnings: string[] = [];
  const store = new Store(join(p.dir, "store"), { onWarning: (m) => warnings.push(m) });
  const key = "ab".repeat(32);
  assertEquals(store.readResult(key), undefined);
  assertEquals(warnings, [], "a missing entry is a plain miss");
  store.writeResult({ key, stage: "s", outputs: {}, seconds: 0, created: "" });
  assert(store.readResult(key));
  const path = join(p.dir, "store/results/ab", `${key}.json`);
  Deno.writeTextFileSync(path, "{trunc");
  assertEquals(store.readResult(key), undefined);
  Deno.writeTextFileSync(path, "null");
  assertEquals(store.readResult(key), undefined);
  assertEquals(warnings.length, 2);
  assertMatch(warnings[0], /^Cannot use stored result .*(ab)+\.json: .*; treated as a miss$/);
  assertMatch(warnings[1], /not a result of key/);
});

/** What `fn` throws, or undefined. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

Deno.test("classifyReadError() misses on missing and malformed entries and rethrows other errors", async () => {
  await using p = await tempProject({ "bad.json": "{trunc" });
  const missing = thrown(() => Deno.readTextFileSync(join(p.dir, "none.json")));
  const malformed = thrown(() => JSON.parse(Deno.readTextFileSync(join(p.dir, "bad.json"))));
  assertEquals(classifyReadError(missing), "missing");
  assertEquals(classifyReadError(malformed), "corrupt");
  // Real OS errors that are not a miss: a folder where a file belongs (EISDIR), a file where
  // a folder belongs (ENOTDIR), and an I/O error (reading unmapped memory gives EIO).
  const others = [
    thrown(() => Deno.readTextFileSync(p.dir)),
    thrown(() => Deno.readTextFileSync(join(p.dir, "bad.json", "x"))),
    thrown(() => Deno.readFileSync("/proc/self/mem")),
  ];
  assert(others[0] instanceof Deno.errors.IsADirectory, String(others[0]));
  for (const error of others) {
    assert(error instanceof Error, "the read failed");
    assertEquals(thrown(() => classifyReadError(error)), error);
  }
});

Deno.test("An unreadable store entry fails its stage instead of passing for a miss", async () => {
  await using p = await tempProject(DEMO);
  const first = await p.run("exp/demo.yaml");
  const key = first.stages.find((s) => s.name === "make")!.key!;
  const path = join(p.runsDir, ".store/results", key.slice(0, 2), `${key}.json`);
  Deno.removeSync(path);
  Deno.mkdirSync(path);
  const second = await p.run("exp/demo.yaml");
  assertEquals(statuses(second), { make: "failed", total: "blocked" });
  assertMatch(second.stages[0].error ?? "", /Is a directory/);
  assertEquals(second.status, "failed");
});

const SLOW_STAGE = `export default {
  description: "counts slowly with a checkpoint per step",
  params: { steps: { type: "integer", default: 5, description: "steps" },
            delay_ms: { type: "integer", default: 50, description: "wait per step" },
            hold_at: { type: "integer", default: 2, description: "step to hold at" },
            hold_file: { type: "string", default: "", description: "hold until it exists" } },
  inputs: { prep: { description: "anything" } },
  outputs: ["out.json"],
  async run(ctx) {
    const state = (await ctx.checkpoints.load("state")) ?? { step: 0, values: [] };
    const resumedFrom = state.step;
    ctx.progress.total(ctx.params.steps);
    for (let s = state.step; s < ctx.params.steps; s++) {
      if (ctx.signal.aborted) return;
      // Holding makes the test's kill land mid-stage however slow the machine is.
      while (s === ctx.params.hold_at && ctx.params.hold_file && !ctx.signal.aborted) {
        try { Deno.statSync(ctx.params.hold_file); break; } catch { await new Promise((r) => setTimeout(r, 20)); }
      }
      if (ctx.signal.aborted) return;
      await new Promise((r) => setTimeout(r, ctx.params.delay_ms));
      state.values.push(ctx.rng.fork("step" + s).nextUint32());
      state.step = s + 1;
      await ctx.checkpoints.save("state", state);
      ctx.progress.advance();
    }
    await Deno.writeTextFile(ctx.output("out.json"), JSON.stringify({ resumedFrom, values: state.values }));
  },
};
`;

Deno.test("SIGKILL of a runner during a stage leaves the store consistent; the rerun resumes from the checkpoint", async () => {
  await using p = await tempProject({
    "k.yaml": `name: k
stages:
  prep: { run: "echo 1 2 3 > p.txt", outs: { p: p.txt } }
  slow:
    uses: ./slow.ts
    inputs: { prep: "\${stages.prep.outs.p}" }
    with: { hold_file: "\${params.hold}" }
`,
    "slow.ts": SLOW_STAGE,
  });
  const hold = join(p.dir, "go");
  p.write(
    "k.yaml",
    p.read("k.yaml").replace("name: k\n", `name: k\nparams: { hold: "${hold}" }\n`),
  );
  const args = ["run", join(p.dir, "k.yaml"), "--runs", p.runsDir, "--json"];
  const child = spawnCli(args);
  const checkpoints = join(p.runsDir, ".store/checkpoints");
  const progress = () => {
    try {
      for (const key of Deno.readDirSync(checkpoints)) {
        const state = JSON.parse(Deno.readTextFileSync(join(checkpoints, key.name, "state")));
        return state.step as number;
      }
    } catch {
      // Not yet.
    }
    return 0;
  };
  await waitFor(() => progress() >= 2, "two checkpoints");
  await new Promise((r) => setTimeout(r, 100));
  child.kill("SIGKILL");
  await child.status;
  await child.stdout.cancel();
  await child.stderr.cancel();
  // The orphaned stage host notices the runner is gone and stops.
  await new Promise((r) => setTimeout(r, 400));
  const killedRecord = JSON.parse(p.read("runs/k/0001/run.json"));
  assertEquals(killedRecord.status, "running");
  assertEquals(await assertStoreConsistent(join(p.runsDir, ".store")), 1, "only prep is stored");

  Deno.writeTextFileSync(hold, "");
  const rerun = await finish(spawnCli(args));
  assertEquals(rerun.code, 0, rerun.stderr);
  const report = JSON.parse(rerun.stdout);
  assertEquals(report.stages.map((s: { status: string }) => s.status), ["cached", "ran"]);
  const out = JSON.parse(p.read("runs/k/0002/slow/out.json"));
  assertEquals(out.resumedFrom, 2);
  assertEquals(JSON.parse(p.read("runs/k/0001/run.json")).status, "interrupted");
  assertEquals(await assertStoreConsistent(join(p.runsDir, ".store")), 2);
  assertEquals([...Deno.readDirSync(join(p.runsDir, ".store/tmp"))], []);
  assertEquals([...Deno.readDirSync(checkpoints)], [], "checkpoints dropped after success");
  // The resumed result equals an uninterrupted run's.
  const fresh = await finish(spawnCli([...args, "--force", "slow"]));
  assertEquals(fresh.code, 0, fresh.stderr);
  const full = JSON.parse(p.read("runs/k/0003/slow/out.json"));
  assertEquals(full.resumedFrom, 0);
  assertEquals(full.values, out.values);
});

Deno.test("Two runners on one store: one computes a stage, the other waits with a message and reuses it", async () => {
  await using p = await tempProject({});
  const counter = join(p.dir, "count.txt");
  p.write(
    "c.yaml",
    `name: c
stages:
  slow: { run: "while [ ! -e ${
      join(p.dir, "go")
    } ]; do sleep 0.05; done; echo x >> ${counter}; echo done > o.txt", outs: { o: o.txt } }
`,
  );
  const args = ["run", join(p.dir, "c.yaml"), "--runs", p.runsDir, "--json"];
  const first = spawnCli(args);
  const tmp = join(p.runsDir, ".store/tmp");
  await waitFor(() => {
    try {
      return [...Deno.readDirSync(tmp)].length > 0;
    } catch {
      return false;
    }
  }, "the first runner to start its stage");
  const second = spawnCli(args);
  // Release the first runner's stage only once the second one reports that it waits.
  let secondErr = "";
  const reader = second.stderr.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + 60_000;
  while (!secondErr.includes("waiting for the store lock")) {
    if (Date.now() > deadline) throw new Error(`second runner never waited:\n${secondErr}`);
    const { value, done } = await reader.read();
    if (done) break;
    secondErr += decoder.decode(value, { stream: true });
  }
  p.write("go", "");
  const rest = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      secondErr += decoder.decode(value, { stream: true });
    }
  })();
  const secondOut = new Response(second.stdout).text();
  const [a, code, stdout] = await Promise.all([finish(first), second.status, secondOut, rest]);
  const b = { code: code.code, stdout, stderr: secondErr };
  assertEquals([a.code, b.code], [0, 0], a.stderr + b.stderr);
  assertEquals(p.read("count.txt"), "x\n", "the stage ran exactly once");
  const ra = JSON.parse(a.stdout), rb = JSON.parse(b.stdout);
  assertEquals([ra.run, rb.run].sort(), [1, 2]);
  assertEquals(ra.stages[0].status, "ran");
  assertEquals(rb.stages[0].status, "cached");
  assertEquals(rb.stages[0].reason, "cached (computed by a concurrent runner)");
  assertMatch(b.stderr, /waiting for the store lock of key [0-9a-f]{12} held by pid \d+/);
  assertEquals(await assertStoreConsistent(join(p.runsDir, ".store")), 1);
});

Deno.test("A runner waiting for the store lock stops at SIGTERM with its stage interrupted", async () => {
  await using p = await tempProject({});
  const go = join(p.dir, "go");
  p.write(
    "w.yaml",
    `name: w\nstages:\n  slow: { run: "while [ ! -e ${go} ]; do sleep 0.05; done; echo > o", outs: { o: o } }\n`,
  );
  const args = ["run", join(p.dir, "w.yaml"), "--runs", p.runsDir, "--json"];
  const first = spawnCli(args);
  await waitFor(() => {
    try {
      return [...Deno.readDirSync(join(p.runsDir, ".store/tmp"))].length > 0;
    } catch {
      return false;
    }
  }, "the first runner to start its stage");
  const second = spawnCli(args);
  const reader = second.stderr.getReader();
  const decoder = new TextDecoder();
  let err = "";
  while (!err.includes("waiting for the store lock")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`second runner never waited:\n${err}`);
    err += decoder.decode(value, { stream: true });
  }
  second.kill("SIGTERM");
  const readRest = async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      err += decoder.decode(value, { stream: true });
    }
  };
  const [status, stdout] = await Promise.all([
    second.status,
    new Response(second.stdout).text(),
    readRest(),
  ]);
  assertEquals(status.code, 130, err);
  const report = JSON.parse(stdout);
  assertEquals(report.stages[0].status, "interrupted");
  assertMatch(report.stages[0].reason, /interrupted while waiting for the store lock/);
  p.write("go", "");
  const a = await finish(first);
  assertEquals(a.code, 0, a.stderr);
});
