import { join } from "node:path";
import { assertEquals, assertMatch, runCli, tempProject } from "../runner/_helpers.ts";
import { formatSeconds } from "../../src/cli/reporter.ts";
import { formatSeconds as uiSeconds } from "../../src/ui/html.ts";
import { formatSeconds as runnerSeconds } from "../../src/runner/mod.ts";

Deno.test("durations round before they split into minutes: 959.6 s is 16m 00s, never 15m 60s", () => {
  const cases = [0.423, 12.64, 59.94, 59.96, 61, 959.6, 3599.7, 3725];
  const expected = ["0.42s", "12.6s", "59.9s", "1m 00s", "1m 01s", "16m 00s", "1h 00m", "1h 02m"];
  // One formatter: the CLI's and the UI's are the runner's.
  for (const format of [formatSeconds, uiSeconds, runnerSeconds]) {
    assertEquals(cases.map(format), expected);
  }
});

Deno.test("a run's duration is one number: the run's summary line, run.json, runs and show agree", async () => {
  await using p = await tempProject({
    "d.yaml": `stages:\n  a: { run: "sleep 0.3; echo a > o.txt", outs: { o: o.txt } }\n`,
  });
  const run = await runCli(["run", join(p.dir, "d.yaml"), "--runs", p.runsDir]);
  assertEquals(run.code, 0, run.stderr);
  const record = JSON.parse(p.read("runs/d/0001/run.json"));
  const total = formatSeconds(record.seconds);
  assertMatch(
    run.stdout,
    new RegExp(`\\nd: succeeded in ${total.replace(".", "\\.")} \\(1 ran\\)`),
  );
  const stage = formatSeconds(record.stages[0].seconds);
  assertMatch(run.stdout, new RegExp(`✓ a +ran +${stage.replace(".", "\\.")}  no stored result`));
  const runs = await runCli(["runs", "--runs", p.runsDir]);
  assertMatch(
    runs.stdout,
    new RegExp(`^d/0001 +succeeded +\\S+ +${total.replace(".", "\\.")}  1 ran`),
  );
  const show = await runCli(["show", "d", "--runs", p.runsDir]);
  assertMatch(show.stdout, new RegExp(`^d run 1: succeeded \\(${total.replace(".", "\\.")}\\)`));
  assertMatch(
    show.stdout,
    new RegExp(`\\n {2}a +ran +${stage.replace(".", "\\.")}  no stored result`),
  );
});
