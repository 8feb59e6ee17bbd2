/**
 * The web UI with many runs: 1,000 runs of one experiment (copies of a real smoke run with
 * varied parameters and metrics), timed from the request of the runs table to its last byte.
 * Prints `ui_list_1000_runs_cold_ms` (first request of the process: every run.json read and
 * parsed), `ui_list_1000_runs_warm_ms` (unchanged files come from the cache), the size of the
 * page and, where Chromium is installed, `ui_list_1000_runs_browser_ms` (the page loaded and
 * its script run in a real browser).
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHandler } from "../src/ui/mod.ts";
import { emit } from "./timing.ts";

const RUNS = 1000;
const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * Headless Chromium (when /usr/bin/chromium exists): from navigation to the table being
 * sortable (the page's script ran), median of 3 loads.
 */
async function browserLoadMs(url: string): Promise<number | undefined> {
  try {
    Deno.statSync("/usr/bin/chromium");
  } catch {
    return undefined;
  }
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  try {
    const page = await browser.newPage();
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await page.goto(url);
      await page.waitForSelector("#runs th[tabindex]");
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[1];
  } finally {
    await browser.close();
  }
}

const runsDir = Deno.makeTempDirSync({ prefix: "ditto_ui_bench_" });
try {
  const made = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", "src/cli/main.ts", "run", "experiments/smoke.yaml"],
    cwd: ROOT,
    env: { DITTO_RUNS: runsDir },
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!made.success) throw new Error("Cannot run experiments/smoke.yaml");
  const expDir = join(runsDir, "smoke");
  const template = JSON.parse(Deno.readTextFileSync(join(expDir, "0001", "run.json")));
  for (let i = 2; i <= RUNS; i++) {
    const record = structuredClone(template);
    record.run = i;
    record.config.params.n = 1 + (i % 9);
    record.config.stages.stats.with.noise = (i % 7) / 10;
    record.seconds = 0.2 + (i % 13) / 10;
    for (const stage of record.stages) {
      stage.status = i % 3 === 0 ? "cached" : "ran";
      for (const k of Object.keys(stage.metrics)) {
        stage.metrics[k] = stage.metrics[k] * (1 + i / RUNS);
      }
    }
    const dir = join(expDir, String(i).padStart(4, "0"));
    Deno.mkdirSync(dir);
    Deno.writeTextFileSync(join(dir, "run.json"), JSON.stringify(record, null, 2));
  }
  const handler = await createHandler({ runsDir });
  const served = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  try {
    const url = `http://127.0.0.1:${served.addr.port}/e/smoke`;
    const get = async () => {
      const t0 = performance.now();
      const res = await fetch(url);
      const body = await res.text();
      if (res.status !== 200 || (body.match(/class="pick"/g)?.length ?? 0) !== RUNS) {
        throw new Error(`Cannot list ${RUNS} runs: status ${res.status}`);
      }
      return { ms: performance.now() - t0, bytes: body.length };
    };
    const cold = await get();
    const warm: number[] = [];
    for (let i = 0; i < 5; i++) warm.push((await get()).ms);
    warm.sort((a, b) => a - b);
    emit("ui_list_1000_runs_cold_ms", cold.ms, "ms");
    emit("ui_list_1000_runs_warm_ms", warm[2], "ms");
    emit("ui_list_1000_runs_page_kib", cold.bytes / 1024, "KiB");
    const browser = await browserLoadMs(url);
    if (browser !== undefined) emit("ui_list_1000_runs_browser_ms", browser, "ms");
  } finally {
    await served.shutdown();
  }
} finally {
  Deno.removeSync(runsDir, { recursive: true });
}
