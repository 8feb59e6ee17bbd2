/**
 * Faults of a fleet, with real processes: a worker SIGKILLed in the middle of a job, Redis
 * stopped in the middle of a run. Workers have their own stores and share only the remote.
 */
import { join } from "node:path";
import { runExperiment } from "../../src/runner/mod.ts";
import { STALL } from "../../src/fleet/mod.ts";
import { assert, assertEquals, assertStringIncludes } from "../runs/helpers.ts";
import { NO_REDIS, startRedis } from "./redis.ts";
import { CliProcess, startWorkerProcess } from "./processes.ts";

/** A stage that takes a few seconds, then one that reads it. */
const SLOW = `name: slow
seed: 3
stages:
  slow:
    run: "sleep 3; echo \${seed} > out.txt"
    outs: { out: out.txt }
  after:
    run: "cat \${stages.slow.outs.out} \${stages.slow.outs.out} > twice.txt"
    outs: { twice: twice.txt }
`;

async function project(): Promise<{ dir: string; yaml: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "ditto_fleet_faults_" });
  const yaml = join(dir, "slow.yaml");
  Deno.writeTextFileSync(yaml, SLOW);
  return {
    dir,
    yaml,
    [Symbol.asyncDispose]: async () => {
      await new Deno.Command("chmod", { args: ["-R", "u+w", dir] }).output();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function record(runs: string, run: string) {
  return JSON.parse(Deno.readTextFileSync(join(runs, "slow", run, "run.json")));
}

const outputsOf = (r: { stages: { name: string; key: string; outputs: unknown }[] }) =>
  r.stages.map((s) => ({ name: s.name, key: s.key, outputs: s.outputs }));

Deno.test({
  name: "a worker SIGKILLed mid-job: another worker reruns the job, its result counted once",
  ignore: NO_REDIS,
  fn: async () => {
    await using p = await project();
    await using redis = await startRedis();
    const local = await runExperiment(p.yaml, { runsDir: join(p.dir, "local") });
    assertEquals(local.status, "succeeded");
    const remote = join(p.dir, "remote");
    const workers = await Promise.all(
      ["w1", "w2"].map((n) => startWorkerProcess(redis.url, remote, p.dir, n)),
    );
    try {
      const runs = join(p.dir, "runs");
      const run = new CliProcess([
        "run",
        p.yaml,
        "--queue",
        redis.url,
        "--remote",
        remote,
        "--runs",
        runs,
      ]);
      const took = /^took job (\S+) \(stage slow\)/;
      const first = await Promise.race(
        workers.map((w) => w.waitFor(took).then((line) => ({ w, line }))),
      );
      const victim = first.w;
      const survivor = workers.find((w) => w !== victim)!;
      const jobId = first.line.match(took)![1];
      victim.kill("SIGKILL");
      const killed = performance.now();
      await survivor.waitFor(new RegExp(`^took job ${jobId} `));
      const back = (performance.now() - killed) / 1000;
      console.log(
        `killed worker's job back on another worker after ${back.toFixed(1)} s ` +
          `(lockDuration ${STALL.lockDuration} ms, stalledInterval ${STALL.stalledInterval} ms)`,
      );
      assertEquals(await run.exited, 0, run.text);
      const fleet = record(runs, "0001");
      assertEquals(fleet.status, "succeeded");
      assertEquals(outputsOf(fleet), outputsOf(record(join(p.dir, "local"), "0001")));
      // Run twice (the killed attempt and the rerun), finished and recorded once.
      const lines = workers.flatMap((w) => w.lines);
      assertEquals(lines.filter((l) => l.startsWith(`took job ${jobId} `)).length, 2);
      assertEquals(lines.filter((l) => l.startsWith(`finished job ${jobId} `)).length, 1);
      assertEquals(fleet.stages.map((s: { status: string }) => s.status), ["ran", "ran"]);
    } finally {
      for (const w of workers) await w[Symbol.asyncDispose]();
    }
  },
});

Deno.test({
  name: "Redis stopped mid-run: the run fails with a clear error, exit 1; a rerun finishes it",
  ignore: NO_REDIS,
  fn: async () => {
    await using p = await project();
    await using redis = await startRedis();
    const remote = join(p.dir, "remote");
    await using worker = await startWorkerProcess(redis.url, remote, p.dir, "w1");
    const runs = join(p.dir, "runs");
    const args = ["run", p.yaml, "--queue", redis.url, "--remote", remote, "--runs", runs];
    const env = { DITTO_QUEUE_PATIENCE_S: "2" };
    const run = new CliProcess(args, env);
    await worker.waitFor(/^took job \S+ \(stage slow\)/);
    await redis.stop();
    assertEquals(await run.exited, 1, run.text);
    assertStringIncludes(run.text, `Cannot reach the queue ${redis.url} for 2 s`);
    const failed = record(runs, "0001");
    assertEquals(failed.status, "failed");
    assertEquals(failed.stages.map((s: { status: string }) => s.status), ["failed", "blocked"]);
    // Nothing damaged: the store verifies clean, and Redis back (empty), a rerun finishes.
    const verify = new CliProcess(["store", "verify", "--runs", runs]);
    assertEquals(await verify.exited, 0, verify.text);
    await redis.start();
    const again = new CliProcess(args, env);
    assertEquals(await again.exited, 0, again.text);
    const done = record(runs, "0002");
    assertEquals(done.status, "succeeded");
    assert(done.stages.every((s: { status: string }) => s.status === "ran"));
    await runExperiment(p.yaml, { runsDir: join(p.dir, "local") });
    assertEquals(outputsOf(done), outputsOf(record(join(p.dir, "local"), "0001")));
  },
});
