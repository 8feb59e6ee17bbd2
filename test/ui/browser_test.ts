/**
 * The UI in a real browser: headless Chromium (Debian's `chromium`) driven by playwright-core.
 * Skipped, saying so, where /usr/bin/chromium is absent (`apt-get install -y chromium`).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { loadRun } from "../../src/runner/mod.ts";
import { renderReport } from "../../src/ui/mod.ts";
import { ditto, ROOT, serve, SHELL_YAML, shellRuns, XSS } from "./_fixture.ts";

const CHROMIUM = "/usr/bin/chromium";
const HAS_CHROMIUM = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!HAS_CHROMIUM) {
  console.log(`skipping the browser tests: ${CHROMIUM} is absent (apt-get install -y chromium)`);
}
/** `DITTO_UI_SCREENSHOTS=1` writes the README's screenshots to docs/ (else to a temp folder). */
const WRITE_DOCS = Deno.env.get("DITTO_UI_SCREENSHOTS") === "1";

function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}

// Page-side code is passed as text: these tests type-check without the DOM library.
/** Counts the painted pixels of every canvas on the page (uPlot draws its curves there). */
const PAINTED = `[...document.querySelectorAll("canvas")].map((c) => {
  const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
  return n;
})`;

async function chartsDrawn(page: Page): Promise<void> {
  await page.waitForSelector("body[data-charts=drawn]", { timeout: 30_000 });
  const painted = await page.evaluate(PAINTED) as number[];
  assert.ok(painted.length > 0, "no chart");
  assert.ok(painted.every((n) => n > 50), `a blank chart: ${painted}`);
}

/** Asserts that every image matching a selector loaded; returns how many there are. */
async function imagesLoaded(page: Page, selector: string): Promise<number> {
  const sizes = await page.evaluate(
    `[...document.querySelectorAll(${
      JSON.stringify(selector)
    })].map((i) => i.complete ? i.naturalWidth : 0)`,
  ) as number[];
  assert.ok(sizes.length > 0, `no image matches ${selector}`);
  assert.ok(sizes.every((w) => w > 0), `an image did not load: ${sizes}`);
  return sizes.length;
}

Deno.test({
  name: "ui in Chromium: runs table, run pages, charts, compare, XSS, report",
  ignore: !HAS_CHROMIUM,
  async fn(t) {
    const runsDir = Deno.makeTempDirSync({ prefix: "ditto_ui_browser_" });
    const shots = WRITE_DOCS ? join(ROOT, "docs") : runsDir;
    let browser: Browser | undefined;
    let served: Awaited<ReturnType<typeof serve>> | undefined;
    try {
      await shellRuns(runsDir);
      const tiny = await ditto([
        "run",
        join(ROOT, "experiments/car_racing_tiny.yaml"),
        "--runs",
        runsDir,
      ]);
      assert.equal(tiny.code, 0, tiny.stderr);
      served = await serve(runsDir);
      browser = await launch();
      const page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
      const dialogs: string[] = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        d.dismiss();
      });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      const base = served.base;

      await t.step("the runs table sorts and filters", async () => {
        await page.goto(`${base}/e/shell_ui`);
        const runs = () =>
          page.$$eval(
            "#runs tbody tr:not([hidden]) td:nth-child(2)",
            (c) => c.map((x) => x.textContent),
          );
        assert.deepEqual(await runs(), ["2", "1"], "newest first");
        await page.click("#runs th:nth-child(2)");
        assert.deepEqual(await runs(), ["1", "2"]);
        await page.click("#runs th:nth-child(2)");
        assert.deepEqual(await runs(), ["2", "1"]);
        await page.fill("input.filter", "0.25");
        // The filter applies on input events; on a loaded machine that can lag the fill.
        for (let i = 0; i < 100 && await page.textContent("#shown") !== "1"; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.deepEqual(await runs(), ["2"]);
        assert.equal(await page.textContent("#shown"), "1");
      });

      await t.step("a parameter holding markup shows as text and runs nothing", async () => {
        for (const path of ["/e/shell_ui", "/r/shell_ui/2"]) {
          await page.goto(base + path);
          await page.waitForSelector("body[data-charts=drawn]");
          const cells = await page.$$eval("td", (c) => c.map((x) => x.textContent));
          assert.ok(cells.includes(XSS), `${path}: the value is not shown as text`);
          assert.equal(await page.$$eval("main img[src=x]", (i) => i.length), 0);
        }
        assert.deepEqual(dialogs, []);
      });

      await t.step("the World Models run page draws its DAG, curves and images", async () => {
        await page.goto(`${base}/r/car_racing_tiny/1`);
        await chartsDrawn(page);
        assert.equal(await page.$$eval("svg.dag g.node", (n) => n.length), 8);
        const edges = await page.$$eval(
          "svg.dag path.edge",
          (p) => p.map((x) => x.getAttribute("d") ?? ""),
        );
        assert.ok(edges.length >= 6 && edges.every((d) => d.startsWith("M")));
        assert.ok(await imagesLoaded(page, "#media img") >= 2, "reconstructions and episode GIF");
        const charts = await page.$$eval(
          "figure.chart",
          (f) => f.map((x) => x.getAttribute("data-metrics") ?? ""),
        );
        // CMA-ES: fitness mean, max, min and std in one chart, with one curve each.
        assert.ok(
          charts.some((c) => c.split(",").includes("fitness_mean") && c.includes("fitness_max")),
          `CMA-ES curves: ${charts.join(" | ")}`,
        );
        // The README's picture: from the stage graph down to the images.
        const top = await page.evaluate(
          `document.getElementById("stages-heading").offsetTop`,
        ) as number;
        await page.screenshot({
          path: join(shots, "ui_run.png"),
          fullPage: true,
          clip: { x: 0, y: top - 8, width: 1200, height: 900 },
        });
      });

      await t.step("picking two runs opens their comparison", async () => {
        await page.goto(`${base}/e/shell_ui`);
        for (const box of await page.$$("input.pick")) await box.check();
        await Promise.all([page.waitForURL(/\/compare\?runs=/), page.click("#compare")]);
        await chartsDrawn(page);
        const rows = await page.$$eval(
          "table.compare tbody tr",
          (r) => r.map((x) => x.textContent ?? ""),
        );
        assert.ok(rows.some((r) => r.startsWith("params.rate")), rows.join("|"));
        assert.ok(rows.some((r) => r.startsWith("params.x") && r.includes(XSS)));
        assert.equal(await imagesLoaded(page, "table.side-by-side img"), 2);
        // Overlaid: each chart has one curve per run.
        const legends = await page.$$eval(
          "figure.chart",
          (f) => f.map((x) => x.querySelectorAll(".u-legend .u-series").length),
        );
        assert.ok(legends.every((n) => n === 3), `step + 2 runs: ${legends}`);
        await page.screenshot({
          path: join(shots, "ui_compare.png"),
          fullPage: true,
          clip: { x: 0, y: 0, width: 1200, height: 980 },
        });
        assert.deepEqual(dialogs, []);
      });

      await t.step("the report opens offline, charts and images inline", async () => {
        const file = join(runsDir, "report.html");
        Deno.writeTextFileSync(file, await renderReport(loadRun(runsDir, "car_racing_tiny/1")));
        const fetched: string[] = [];
        await page.route("**/*", (route) => {
          const url = route.request().url();
          if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
          fetched.push(url);
          return route.abort();
        });
        await page.goto(`file://${file}`);
        await chartsDrawn(page);
        await imagesLoaded(page, "#media img");
        assert.deepEqual(fetched, []);
        await page.unroute("**/*");
      });

      await t.step("a running run's page follows it until it finishes", async () => {
        const live = join(runsDir, "live");
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
            "params.sleep=3",
          ],
          cwd: ROOT,
          stdout: "null",
          stderr: "null",
        }).spawn();
        const liveServer = await serve(live);
        try {
          let exited = false;
          child.status.then(() => exited = true);
          let status = 0;
          while (!exited && status !== 200) {
            const res = await fetch(`${liveServer.base}/r/shell_ui/1`);
            status = res.status;
            await res.body?.cancel();
            if (status !== 200) await new Promise((r) => setTimeout(r, 20));
          }
          await page.goto(`${liveServer.base}/r/shell_ui/1`);
          assert.equal(await page.textContent("#run-status"), "running");
          // The page polls the run and reloads when it ends; wait for that (no timed assert).
          // After the runner exits, the page has a few polls (2 s apart) to notice.
          let shown = "running";
          for (
            let after = 0;
            shown === "running" && (!exited || after < 100);
            after += exited ? 1 : 0
          ) {
            await page.waitForTimeout(100);
            shown = await page.textContent("#run-status").catch(() => "running") ?? "running";
          }
          assert.equal(shown, "succeeded");
          assert.equal((await child.status).code, 0);
        } finally {
          try {
            child.kill();
          } catch {
            // Already exited.
          }
          await child.status;
          await liveServer.close();
        }
      });
      assert.deepEqual(errors, []);
    } finally {
      await browser?.close();
      await served?.close();
      Deno.removeSync(runsDir, { recursive: true });
    }
  },
});
