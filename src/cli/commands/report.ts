/**
 * `deno task report <run> [-o report.html]`: writes one self-contained HTML file of a run
 * (data, scripts, styles and images inline) that opens offline.
 *
 * @module
 */

import { UsageError } from "../../runner/mod.ts";
import { loadRun } from "../../runner/mod.ts";
import { writeFileAtomic } from "../../runner/store.ts";
import { renderReport } from "../../ui/mod.ts";
import { parseCommand, print, userPath } from "./common.ts";

/** Usage of `report`. */
export const USAGE = `  deno task report <run> [-o report.html] [--runs DIR]
      write one self-contained HTML page of a run (opens offline)`;

/**
 * Runs `report`.
 *
 * @param args Arguments after `report`.
 * @returns The exit code: 0.
 */
export async function commandReport(args: string[]): Promise<number> {
  const { values, positionals, runsDir, json } = parseCommand(args, {
    output: { type: "string", short: "o" },
  });
  if (positionals.length !== 1) {
    throw new UsageError(`Cannot write a report: expected one run, got ${positionals.length}`);
  }
  const run = loadRun(runsDir, positionals[0]);
  const path = userPath(typeof values.output === "string" ? values.output : "report.html");
  writeFileAtomic(path, await renderReport(run), { sync: false });
  print(json ? JSON.stringify({ run: run.name, path }) : `wrote ${path}`);
  return 0;
}
