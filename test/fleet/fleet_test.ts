/**
 * Stages on a worker fleet, with a real redis-server and real worker processes that share only
 * a remote folder: the same keys, run.json and output bytes as a local run; a run with no
 * worker waits and says so; a worker with other package versions refuses the job.
 */
import { join } from "node:path";
import { parseQueueUrl } from "../../src/fleet/mod.ts";
import { assert, assertEquals, assertStringIncludes, tinyProject } from "../runs/helpers.ts";
import { NO_REDIS, startRedis } from "./redis.ts";
import { CliProcess, startWorkerProcess } from "./processes.ts";

interface StageRecord {
  name: string;
  status: string;
  key: string;
  outputs: Record<string, unknown>;
  metrics: Record<string, number>;
}

function stages(runs: string, experiment: string, run = "0001"): StageRecord[] {
  const record = JSON.parse(Deno.readTextFileSync(join(runs, experiment, run, "run.json")));
  return record.stages.map((s: StageRecord) => ({
    name: s.name,
    status: s.status,
    key: s.key,
    outputs: s.outputs,
    metrics: s.metrics,
  }));
}

function results(runs: string): number {
  let n = 0;
  try {
    for (const shard of Deno.readDirSync(join(runs, ".store", "results"))) {
      n += [...Deno.readDirSync(join(runs, ".store", "results", shard.name))].length;
    }
  } catch {
    // No store.
  }
  return n;
}

Deno.test({
  name: "two workers run the stages: same keys, run.json and output bytes as a local run",
  ignore: NO_REDIS,
  fn: async () => {
    await using tiny = await tinyProject();
    await using redis = await startRedis();
    const local = await tiny.run();
    assertEquals(local.status, "succeeded");
    const remote = join(tiny.dir, "remote");
    const workers = await Promise.all(
      ["w1", "w2"].map((n) => startWorkerProcess(redis.url, remote, tiny.dir, n)),
    );
    try {
      const fleetRuns = join(tiny.dir, "fleet_runs");
      const args = [
        "run",
        tiny.yaml,
        "--queue",
        redis.url,
        "--remote",
        remote,
        "--runs",
        fleetRuns,
      ];
      const run = new CliProcess(args);
      assertEquals(await run.exited, 0, run.text);
      assertEquals(stages(fleetRuns, "tiny"), stages(tiny.runs, "tiny"));
      // One job per stage (a machine loaded past the stall settings may run one twice).
      const taken = () =>
        new Set(
          workers.flatMap((w) => w.lines.filter((l) => l.startsWith("took job"))).map((l) =>
            l.split(" ")[2]
          ),
        ).size;
      assertEquals(taken(), 3);
      // Only the runner writes results; each worker has its own store.
      assertEquals(results(fleetRuns), results(tiny.runs));
      for (const n of ["w1", "w2"]) assertEquals(results(join(tiny.dir, n)), 0);
      // A rerun is all cache hits: no job leaves the runner.
      const again = new CliProcess(args, { DITTO_QUEUE: redis.url });
      assertEquals(await again.exited, 0, again.text);
      assert(stages(fleetRuns, "tiny", "0002").every((s) => s.status === "cached"));
      assertEquals(taken(), 3);
      // A runner that never recorded these results (killed, or another one with an empty
      // store) takes what the workers left in the remote, with no worker at all.
      for (const w of workers) await w[Symbol.asyncDispose]();
      const fresh = join(tiny.dir, "fresh_runs");
      const lone = new CliProcess([...args.slice(0, -1), fresh]);
      const code = await Promise.race([
        lone.exited,
        lone.waitFor(/waiting for a worker/).then(() => {
          lone.kill("SIGINT");
          return -1;
        }),
      ]);
      assertEquals(code, 0, lone.text);
      assertEquals(stages(fresh, "tiny"), stages(tiny.runs, "tiny"));
    } finally {
      for (const w of workers) await w[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name: "with no worker the run says it waits for one, and Ctrl-C interrupts it (exit 130)",
  ignore: NO_REDIS,
  fn: async () => {
    await using tiny = await tinyProject();
    await using redis = await startRedis();
    const run = new CliProcess([
      "run",
      tiny.yaml,
      "--runs",
      tiny.runs,
    ], { DITTO_QUEUE: redis.url, DITTO_REMOTE: join(tiny.dir, "remote") });
    await run.waitFor(new RegExp(`waiting for a worker on ${redis.url}`));
    run.kill("SIGINT");
    assertEquals(await run.exited, 130, run.text);
    const record = JSON.parse(Deno.readTextFileSync(join(tiny.runs, "tiny", "0001", "run.json")));
    assertEquals(record.status, "interrupted");
    assertEquals(results(tiny.runs), 0);
  },
});

Deno.test({
  name: "a worker whose npm versions differ from the stage's fingerprint refuses the job",
  ignore: NO_REDIS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ditto_fleet_" });
    await using redis = await startRedis();
    // The stage names yaml 2.0.0; this project installs another version.
    Deno.writeTextFileSync(
      join(dir, "stage.ts"),
      `export default {
  params: {},
  outputs: ["out.txt"],
  async run(ctx) {
    // Fingerprints read source text: this names yaml 2.0.0 without loading it (offline).
    ctx.report({ note: "import('npm:yaml@2.0.0')" });
    await Deno.writeTextFile(ctx.output("out.txt"), "hi\\n");
  },
};
`,
    );
    Deno.writeTextFileSync(join(dir, "v.yaml"), "name: v\nstages:\n  s:\n    uses: ./stage.ts\n");
    const remote = join(dir, "remote");
    await using worker = await startWorkerProcess(redis.url, remote, dir, "w1");
    const run = new CliProcess([
      "run",
      join(dir, "v.yaml"),
      "--queue",
      redis.url,
      "--remote",
      remote,
      "--runs",
      join(dir, "runs"),
    ]);
    assertEquals(await run.exited, 1, run.text);
    const installed = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)))
      .imports.yaml;
    assertStringIncludes(
      run.text,
      `worker ${worker.lines[0].split(" ")[1]} refuses stage s: npm:yaml@2.0.0 wanted, ` +
        `this worker has ${installed}`,
    );
    assert(!worker.lines.some((l) => l.startsWith("took job")));
    assertEquals(results(join(dir, "runs")), 0);
    await new Deno.Command("chmod", { args: ["-R", "u+w", dir] }).output();
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("queue URLs: rediss:// means TLS, a password in the URL is used and never shown", () => {
  const a = parseQueueUrl("rediss://user:s%40cret@redis.example:6380/2");
  assertEquals(a.connection, {
    host: "redis.example",
    port: 6380,
    db: 2,
    username: "user",
    password: "s@cret",
    tls: { servername: "redis.example" },
  });
  assertEquals(a.display, "rediss://user:***@redis.example:6380/2");
  assertEquals(parseQueueUrl("redis://127.0.0.1").connection, { host: "127.0.0.1", port: 6379 });
  for (const bad of ["http://x:1", "redis://h:1/db", "nonsense"]) {
    let message = "";
    try {
      parseQueueUrl(bad);
    } catch (error) {
      message = (error as Error).message;
    }
    assertStringIncludes(message, `Cannot use --queue ${bad}`);
  }
});
