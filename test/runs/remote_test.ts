import { join } from "node:path";
import { verifyStore } from "../../src/runs/maintenance.ts";
import { assert, assertEquals, cli, ROOT, tinyProject } from "./helpers.ts";

function remoteFiles(root: string, kind: string): string[] {
  const out: string[] = [];
  try {
    for (const shard of Deno.readDirSync(join(root, kind))) {
      for (const f of Deno.readDirSync(join(root, kind, shard.name))) {
        out.push(join(root, kind, shard.name, f.name));
      }
    }
  } catch {
    // Empty.
  }
  return out.sort();
}

Deno.test("push to a directory sends only what is missing, and a colleague's pull makes run hit the cache", async () => {
  await using p = await tinyProject();
  const first = await p.run();
  const remote = join(p.dir, "shared");
  const out = await cli(["push", remote, "--runs", p.runs, "--json"]);
  assertEquals(out.code, 0, out.stderr);
  const sent = JSON.parse(out.stdout);
  assertEquals([sent.results, sent.resultsPresent, sent.problems], [3, 0, []]);
  const objects = remoteFiles(remote, "objects");
  assertEquals(sent.objects, objects.length);
  // Nothing new: nothing sent.
  const again = JSON.parse((await cli(["push", remote, "--runs", p.runs, "--json"])).stdout);
  assertEquals([again.results, again.objects, again.resultsPresent], [0, 0, 3]);
  // An interrupted push (killed before any result was written, two objects sent) resumes
  // with the rest: results are written only after their objects, so this is the worst case.
  for (const f of remoteFiles(remote, "results")) Deno.removeSync(f);
  for (const f of objects.slice(2)) Deno.removeSync(f);
  const resumed = JSON.parse((await cli(["push", remote, "--runs", p.runs, "--json"])).stdout);
  assertEquals([resumed.results, resumed.objectsPresent, resumed.objects], [
    3,
    2,
    objects.length - 2,
  ]);
  // The colleague's machine: an empty runs folder, pull, run: every stage cached, same outputs.
  const theirs = join(p.dir, "theirs");
  const pulled = JSON.parse((await cli(["pull", remote, "--runs", theirs, "--json"])).stdout);
  assertEquals([pulled.results, pulled.objects, pulled.problems], [3, objects.length, []]);
  const run = await p.run([], theirs);
  assertEquals(run.stages.map((s) => s.status), ["cached", "cached", "cached"]);
  assertEquals(
    run.stages.map((s) => s.outputs),
    first.stages.map((s) => s.outputs),
  );
  const second = JSON.parse((await cli(["pull", remote, "--runs", theirs, "--json"])).stdout);
  assertEquals([second.results, second.objects], [0, 0]);
});

Deno.test("push repairs a remote that lost or truncated objects of results it already has", async () => {
  await using p = await tinyProject();
  await p.run();
  const remote = join(p.dir, "shared");
  assertEquals((await cli(["push", remote, "--runs", p.runs])).code, 0);
  const objects = remoteFiles(remote, "objects");
  const [lost, truncated] = objects;
  const original = Deno.readFileSync(truncated);
  Deno.removeSync(lost);
  Deno.chmodSync(truncated, 0o644);
  Deno.writeFileSync(truncated, original.slice(0, Math.max(0, original.length - 1)));
  const out = await cli(["push", remote, "--runs", p.runs, "--json"]);
  assertEquals(out.code, 0, out.stderr);
  const repaired = JSON.parse(out.stdout);
  assertEquals([repaired.results, repaired.resultsPresent, repaired.objects], [0, 3, 2]);
  assertEquals(Deno.readFileSync(truncated), original);
  const theirs = join(p.dir, "theirs");
  const pulled = JSON.parse((await cli(["pull", remote, "--runs", theirs, "--json"])).stdout);
  assertEquals([pulled.results, pulled.objects, pulled.problems], [3, objects.length, []]);
});

Deno.test("pull from a remote folder that does not exist is an error, not 'pulled 0'", async () => {
  await using p = await tinyProject();
  const missing = join(p.dir, "no-such-remote");
  const out = await cli(["pull", missing, "--runs", p.runs]);
  assertEquals(out.code, 2, out.stderr);
  assert(out.stderr.includes(`the remote folder ${missing} does not exist`), out.stderr);
  assert(!out.stderr.includes("    at "), out.stderr);
});

Deno.test("pull refuses a corrupt remote object and leaves the store sound", async () => {
  await using p = await tinyProject();
  const first = await p.run();
  const remote = join(p.dir, "shared");
  assertEquals((await cli(["push", remote, "--runs", p.runs])).code, 0);
  const total = first.stages.find((s) => s.name === "total")!.outputs.total.hash;
  const path = join(remote, "objects", total.slice(0, 2), total);
  Deno.chmodSync(path, 0o644);
  Deno.writeTextFileSync(path, "666\n");
  const theirs = join(p.dir, "theirs");
  const out = await cli(["pull", remote, "--runs", theirs, "--json"]);
  assertEquals(out.code, 1);
  const report = JSON.parse(out.stdout);
  assertEquals(report.results, 2);
  assert(report.problems[0].includes("corrupt"), report.problems[0]);
  assertEquals((await verifyStore(theirs)).ok, true);
  const run = await p.run([], theirs);
  assertEquals(run.stages.map((s) => s.status), ["cached", "ran", "cached"]);
});

async function startS3(dir: string): Promise<{ child: Deno.ChildProcess; endpoint: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "test/runs/s3_server.ts"), dir],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/port \d+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("s3rver exited before listening");
    text += value;
  }
  reader.releaseLock();
  return { child, endpoint: `http://127.0.0.1:${text.match(/port (\d+)/)![1]}` };
}

Deno.test("push and pull through a real S3-protocol server on loopback", async () => {
  await using p = await tinyProject();
  const first = await p.run();
  const s3 = await startS3(join(p.dir, "s3data"));
  try {
    const env = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };
    const args = ["--endpoint", s3.endpoint, "--json"];
    const out = await cli(["push", "s3://ditto/team", "--runs", p.runs, ...args], { env });
    assertEquals(out.code, 0, out.stderr);
    const sent = JSON.parse(out.stdout);
    assertEquals([sent.results, sent.problems], [3, []]);
    assert(sent.objects > 0);
    const again = JSON.parse(
      (await cli(["push", "s3://ditto/team", "--runs", p.runs, ...args], { env })).stdout,
    );
    assertEquals([again.results, again.objects, again.resultsPresent], [0, 0, 3]);
    const theirs = join(p.dir, "theirs");
    const pulled = await cli(["pull", "s3://ditto/team", "--runs", theirs, ...args], { env });
    assertEquals(pulled.code, 0, pulled.stderr);
    assertEquals(JSON.parse(pulled.stdout).objects, sent.objects);
    const run = await p.run([], theirs);
    assertEquals(run.stages.map((s) => s.status), ["cached", "cached", "cached"]);
    assertEquals(run.stages.map((s) => s.outputs), first.stages.map((s) => s.outputs));
    assertEquals((await verifyStore(theirs)).ok, true);
  } finally {
    s3.child.kill("SIGKILL");
    await s3.child.status;
    await s3.child.stdout.cancel().catch(() => {});
  }
});

const hasNode = (() => {
  try {
    return new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

// s3rver's continuation tokens need DES, which only Node with the legacy OpenSSL provider has:
// paginated listings are tested against a Node-hosted s3rver where Node is installed.
Deno.test({
  name: "push lists a remote across many pages (Node-hosted s3rver)",
  ignore: !hasNode,
  async fn() {
    await using p = await tinyProject();
    await p.run();
    const data = join(p.dir, "s3data");
    Deno.mkdirSync(data);
    // The npm package lands in node_modules/ when a module imports it: make sure it has.
    await new Deno.Command(Deno.execPath(), {
      args: ["cache", join(ROOT, "test/runs/s3_server.ts")],
      cwd: ROOT,
      stdout: "null",
      stderr: "null",
    }).output();
    const child = new Deno.Command("node", {
      args: [
        "--openssl-legacy-provider",
        join(ROOT, "node_modules/s3rver/bin/s3rver.js"),
        "-d",
        data,
        "-a",
        "127.0.0.1",
        "-p",
        "0",
        "--configure-bucket",
        "ditto",
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!/listening on [\d.]+:\d+/.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error("s3rver exited before listening");
        text += value;
      }
      reader.releaseLock();
      const port = text.match(/listening on [\d.]+:(\d+)/)![1];
      const env = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };
      const args = ["--endpoint", `http://127.0.0.1:${port}`, "--page-size", "2", "--json"];
      const first = await cli(["push", "s3://ditto", "--runs", p.runs, ...args], { env });
      assertEquals(first.code, 0, first.stderr);
      const sent = JSON.parse(first.stdout);
      assert(sent.objects > 4, first.stdout);
      const again = await cli(["push", "s3://ditto", "--runs", p.runs, ...args], { env });
      assertEquals(again.code, 0, again.stderr);
      assertEquals(JSON.parse(again.stdout).resultsPresent, 3);
      // Three results over pages of two: the listing must follow the continuation token.
      const theirs = join(p.dir, "theirs");
      const pulled = await cli(["pull", "s3://ditto", "--runs", theirs, ...args], { env });
      assertEquals(pulled.code, 0, pulled.stderr);
      assertEquals(JSON.parse(pulled.stdout).results, 3);
      assertEquals(JSON.parse(pulled.stdout).objects, sent.objects);
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
  },
});
