/**
 * `deno task diff <runA> <runB>` or `deno task diff <experiment>`: what differs between two
 * runs, grouped; `--all` keeps unchanged entries, `--html out.html` puts images side by side.
 *
 * @module
 */

import { join } from "node:path";
import { diffHtml, diffRuns, formatDiff } from "../../runs/diff/mod.ts";
import { resolvePair } from "../../runs/run_data.ts";
import { recoverStaleRunsFor } from "../../runner/mod.ts";
import { writeFileAtomic } from "../../runner/store.ts";
import { parseCommand, print, userPath } from "./common.ts";

/** Usage of `diff`. */
export const USAGE =
  `  deno task diff <runA> <runB> | <experiment> | <run> [--all] [--html out.html] [--runs DIR] [--json]
      compare two runs (an experiment: its two newest; one run: it and the one before)`;

/**
 * Runs `diff`.
 *
 * @param args Arguments after `diff`.
 * @returns The exit code: 0.
 */
export function commandDiff(args: string[]): number {
  const { values, positionals, runsDir, json } = parseCommand(args, {
    all: { type: "boolean" },
    html: { type: "string" },
  });
  recoverStaleRunsFor(runsDir, positionals);
  const [a, b] = resolvePair(runsDir, positionals);
  const diff = diffRuns(a, b, { all: values.all === true });
  if (typeof values.html === "string") {
    const path = userPath(values.html);
    writeFileAtomic(
      path,
      diffHtml(diff, { runsA: join(a.dir, "..", ".."), runsB: join(b.dir, "..", "..") }),
      { sync: false },
    );
    if (!json) print(`wrote ${path}`, true);
  }
  print(json ? JSON.stringify(diff) : formatDiff(diff));
  return 0;
}
