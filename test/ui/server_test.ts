import assert from "node:assert/strict";
import { join } from "node:path";
import { ditto, rawStatus, serve, SHELL_YAML, shellRuns, XSS } from "./_fixture.ts";
import { renderReport } from "../../src/ui/mod.ts";
import { loadRun } from "../../src/runner/mod.ts";

// One runs folder for the whole file: two real runs of the shell experiment.
const runsDir = Deno.makeTempDirSync({ prefix: "ditto_ui_" });
const ready = shellRuns(runsDir);
globalThis.addEventListener("unload", () => Deno.removeSync(runsDir, { recursive: true }));

async function withServer(fn: (base: string, port: number) => Promise<void>): Promise<void> {
  await ready;
  const served = await serve(runsDir);
  try {
    await fn(served.base, served.port);
  } finally {
    await served.close();
  }
}

async function text(url: string): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text(), headers: res.headers };
}

Deno.test("ui lists experiments and a runs table with differing params and final metrics", async () => {
  await withServer(async (base) => {
    const index = await text(`${base}/`);
    assert.equal(index.status, 200);
    assert.match(index.body, /href="\/e\/shell_ui"/);
    const page = await text(`${base}/e/shell_ui`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<th>params\.rate<\/th>/);
    assert.match(page.body, /<th>params\.x<\/th>/);
    assert.doesNotMatch(page.body, /<th>params\.steps<\/th>/, "equal params are no column");
    assert.match(page.body, /<th>data\.loss<\/th>/);
    assert.match(page.body, /<th>train@temperature=0\.5\.score<\/th>/);
    assert.equal(page.body.match(/class="pick"/g)?.length, 2);
    const table = await (await fetch(`${base}/api/runs/shell_ui`)).json();
    assert.deepEqual(table.params, ["params.rate", "params.x"]);
    assert.equal(table.rows[1].params["params.rate"], 0.25);
    assert.equal(table.rows[0].counts.ran, 5);
    assert.equal(table.rows[1].metrics["data.acc"], 0.952381); // awk prints 6 digits
  });
});

Deno.test("ui shows a parameter holding markup as text everywhere", async () => {
  await withServer(async (base) => {
    const escaped = "&lt;img src=x onerror=alert(1)&gt;";
    for (
      const path of ["/e/shell_ui", "/r/shell_ui/2", "/compare?runs=shell_ui/0001,shell_ui/0002"]
    ) {
      const page = await text(base + path);
      assert.equal(page.status, 200, path);
      assert.equal(page.body.includes(XSS), false, `${path} holds the raw markup`);
      assert.ok(page.body.includes(escaped), `${path} lacks the escaped text`);
      assert.equal(page.body.includes("<script>alert(2)"), false, `${path} holds the log's script`);
      assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    }
  });
});

Deno.test("ui run page shows the DAG, stages, artifacts, log, config and environment", async () => {
  await withServer(async (base) => {
    const page = await text(`${base}/r/shell_ui/1`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<svg class="dag"/);
    assert.equal(page.body.match(/<g class="node st-ran"/g)?.length, 5);
    assert.equal(page.body.match(/<path class="edge"/g)?.length, 4);
    assert.match(page.body, /no stored result/);
    assert.match(page.body, /<img src="\/f\/shell_ui\/0001\/data\/plot\.png"/);
    assert.match(page.body, /&quot;rate&quot;: 0\.5/, "summary.json inline");
    assert.match(page.body, /log line &lt;b&gt;bold&lt;\/b&gt; &amp;/);
    assert.match(page.body, /<pre id="config">name: shell_ui/);
    assert.doesNotMatch(page.body, /compare with/, "run 1 has no previous run");
    const second = await text(`${base}/r/shell_ui/2`);
    assert.match(
      second.body,
      /<a href="\/compare\?runs=shell_ui%2F0001,shell_ui%2F0002">compare with shell_ui\/0001<\/a>/,
    );
    assert.match(page.body, /id="environment"/);
    assert.match(page.body, /class="charts grow" data-runs="shell_ui\/0001" data-stage="data"/);
    const png = await fetch(`${base}/f/shell_ui/0001/data/plot.png`);
    assert.equal(png.headers.get("content-type"), "image/png");
    assert.deepEqual([...new Uint8Array(await png.arrayBuffer()).subarray(1, 4)], [80, 78, 71]);
  });
});

Deno.test("ui pages metrics and logs through the API", async () => {
  await withServer(async (base) => {
    const all = await (await fetch(`${base}/api/metrics/shell_ui/0001/data`)).json();
    assert.equal(all.series.loss.length, 20);
    assert.deepEqual(all.series.loss[0], [1, 6.66667]);
    assert.equal(all.next, all.size);
    // Small pages cut at line ends and continue where the previous one stopped.
    let offset = 0;
    let points = 0;
    for (let i = 0; i < 100 && offset < all.size; i++) {
      const page =
        await (await fetch(`${base}/api/metrics/shell_ui/0001/data?offset=${offset}&limit=100`))
          .json();
      points += page.series.loss?.length ?? 0;
      assert.ok(page.next > offset);
      offset = page.next;
    }
    assert.equal(points, 20);
    const log = await (await fetch(`${base}/api/log/shell_ui/0001/data?offset=4&limit=4`)).json();
    assert.equal(log.text, "line");
    assert.equal((await fetch(`${base}/api/log/shell_ui/0001/nostage`)).status, 404);
  });
});

Deno.test("ui serves only files inside the runs folder", async () => {
  const outside = Deno.makeTempFileSync();
  Deno.writeTextFileSync(outside, "secret");
  await ready;
  const runDir = join(runsDir, "shell_ui", "0001");
  Deno.symlinkSync(outside, join(runDir, "leak.txt"));
  Deno.symlinkSync("/etc", join(runDir, "etc"));
  try {
    await withServer(async (base, port) => {
      assert.equal((await fetch(`${base}/f/shell_ui/0001/data/summary.json`)).status, 200);
      const targets = [
        "/f/shell_ui/0001/../../../../etc/passwd",
        "/../../../../etc/passwd",
        "/f/shell_ui/0001/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/f/shell_ui/0001/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/f/shell_ui/0001/..%2f..%2fshell_ui%2f0002%2frun.json",
        "/f/%2fetc%2fpasswd",
        "/f/shell_ui/0001//etc/passwd",
        "/f/shell_ui/0001/%2Fetc%2Fpasswd",
        "/f/shell_ui/0001/leak.txt",
        "/f/shell_ui/0001/etc/passwd",
        "/f/.store/0001/x",
        "/r/shell_ui/..%2f..",
        "/assets/..%2f..%2fdeno.json",
      ];
      for (const target of targets) {
        assert.equal(await rawStatus(port, target), 404, target);
        const res = await fetch(base + target);
        assert.equal(res.status, 404, `fetch ${target}`);
        assert.equal((await res.text()).includes("secret"), false);
      }
    });
  } finally {
    Deno.removeSync(join(runDir, "leak.txt"));
    Deno.removeSync(join(runDir, "etc"));
    Deno.removeSync(outside);
  }
});

Deno.test("ui answers only GET and HEAD, on a loopback Host: no endpoint writes", async () => {
  await withServer(async (base, port) => {
    assert.equal(await rawStatus(port, "/e/shell_ui", "evil.example"), 421);
    assert.equal(await rawStatus(port, "/e/shell_ui", "localhost"), 200);
    const before = Deno.readTextFileSync(join(runsDir, "shell_ui", "0001", "run.json"));
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const res = await fetch(`${base}/api/run/shell_ui/0001`, { method, body: "{}" });
      assert.equal(res.status, 405, method);
      await res.body?.cancel();
    }
    const head = await fetch(`${base}/f/shell_ui/0001/data/plot.png`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(Deno.readTextFileSync(join(runsDir, "shell_ui", "0001", "run.json")), before);
  });
});

Deno.test("ui compare shows only differences of 2 to 5 runs", async () => {
  await withServer(async (base) => {
    const page = await text(`${base}/compare?runs=shell_ui/0001,shell_ui/0002`);
    assert.equal(page.status, 200);
    assert.match(page.body, /<td><code>params\.rate<\/code><\/td><td>0\.5<\/td><td>0\.25<\/td>/);
    assert.doesNotMatch(page.body, /<code>params\.steps<\/code>/);
    assert.match(page.body, /<tr class="group" data-group="metrics \(final\)">/);
    assert.match(
      page.body,
      /class="charts" data-runs="shell_ui\/0001,shell_ui\/0002" data-stage="data" data-metrics="\[&quot;loss&quot;\]"/,
    );
    assert.match(page.body, /deno task diff shell_ui\/0001 shell_ui\/0002/);
    const three = await text(`${base}/compare?runs=shell_ui/0002,shell_ui/0001,shell_ui/0002`);
    assert.match(
      three.body,
      /<td><code>params\.rate<\/code><\/td><td>0\.25<\/td><td>0\.5<\/td><td>0\.25<\/td>/,
    );
    const six = Array(6).fill("shell_ui/0001").join(",");
    assert.equal((await text(`${base}/compare?runs=${six}`)).status, 404);
    assert.equal((await text(`${base}/compare?runs=shell_ui/0001`)).status, 404);
    assert.equal((await text(`${base}/compare?runs=shell_ui/0001,shell_ui/0009`)).status, 404);
  });
});

Deno.test("ui serves uPlot from the pinned npm package", async () => {
  await withServer(async (base) => {
    const js = await text(`${base}/assets/uplot.js`);
    assert.equal(js.status, 200);
    assert.match(js.body, /uPlot/);
    assert.match(js.headers.get("content-type") ?? "", /javascript/);
    const page = await text(`${base}/r/shell_ui/1`);
    assert.doesNotMatch(page.body, /https?:\/\/(?!www\.w3\.org)/, "no external URL");
  });
});

Deno.test("renderReport() writes one self-contained page with data and images inline", async () => {
  await ready;
  const html = await renderReport(loadRun(runsDir, "shell_ui/1"));
  assert.match(html, /<img src="data:image\/png;base64,iVBORw0KGgo/);
  assert.match(
    html,
    /<script type="application\/json" id="ditto-data">\{"series":\{"shell_ui\/0001\|data"/,
  );
  assert.doesNotMatch(html, /(src|href)="\/(?!\/)/, "no link back to a server");
  assert.doesNotMatch(html, /<script src=/);
  // Only the SVG namespace and uPlot's licence comment name a URL; nothing is fetched.
  assert.deepEqual(
    [...new Set(html.match(/https?:\/\/[^"' )]*/g))].sort(),
    ["http://www.w3.org/2000/svg", "https://github.com/leeoniya/uPlot"],
  );
  assert.equal(html.match(/<\/script>/g)?.length, 3);
});

Deno.test("deno task report writes the file; ui rejects a bad port", async () => {
  await ready;
  const out = join(runsDir, "..", `${crypto.randomUUID()}.html`);
  try {
    const r = await ditto(["report", "shell_ui/2", "-o", out, "--runs", runsDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote /);
    const html = Deno.readTextFileSync(out);
    assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;"));
    assert.equal(html.includes(XSS), false);
    const bad = await ditto(["ui", "--port", "x", "--runs", runsDir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--port x/);
    const none = await ditto(["report", "nothing/3", "--runs", runsDir]);
    assert.equal(none.code, 2);
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

Deno.test("ui polls a running run until it finishes", async () => {
  await ready;
  const live = Deno.makeTempDirSync({ prefix: "ditto_ui_live_" });
  const served = await serve(live);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-prompt",
      "src/cli/main.ts",
      "run",
      SHELL_YAML,
      "--runs",
      live,
      "--set",
      "params.sleep=2",
    ],
    cwd: new URL("../../", import.meta.url),
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    // Poll until the run shows up running (bounded by the runner's exit, not by a time).
    let exited = false;
    child.status.then(() => exited = true);
    let state: { status?: string } = {};
    while (!exited && state.status !== "running") {
      const res = await fetch(`${served.base}/api/state/shell_ui/0001`);
      state = res.ok ? await res.json() : (await res.body?.cancel(), {});
      if (state.status !== "running") await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(state.status, "running");
    const page = await text(`${served.base}/r/shell_ui/1`);
    assert.match(page.body, /"live":\{"url":"\/api\/state\/shell_ui\/1"/);
    assert.equal((await child.status).code, 0);
    const done = await (await fetch(`${served.base}/api/state/shell_ui/0001`)).json();
    assert.equal(done.status, "succeeded");
    assert.equal(done.stages.every((s: { status: string }) => s.status === "ran"), true);
  } finally {
    try {
      child.kill();
    } catch {
      // Already exited.
    }
    await child.status;
    await served.close();
    Deno.removeSync(live, { recursive: true });
  }
});

Deno.test("ui shows a run whose runner was killed as interrupted, writing nothing", async () => {
  await ready;
  const dir = join(runsDir, "shell_ui", "0009");
  const record = JSON.parse(Deno.readTextFileSync(join(runsDir, "shell_ui", "0001", "run.json")));
  record.run = 9;
  record.status = "running";
  record.stages[4].status = "pending";
  Deno.mkdirSync(dir);
  const text = JSON.stringify(record);
  Deno.writeTextFileSync(join(dir, "run.json"), text);
  Deno.writeTextFileSync(join(dir, ".lock"), "");
  try {
    await withServer(async (base) => {
      const state = await (await fetch(`${base}/api/state/shell_ui/9`)).json();
      assert.equal(state.status, "interrupted");
      assert.equal(state.stages[4].status, "interrupted");
      assert.equal(Deno.readTextFileSync(join(dir, "run.json")), text);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
