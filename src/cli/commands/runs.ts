/**
 * `deno task runs [experiment]`: one line per recorded run, oldest first.
 *
 * @module
 */

import { formatSeconds, listRuns, recoverStaleRunsFor, runId } from "../../runner/mod.ts";
import { parseCommand, print } from "./common.ts";

/** Usage of `runs`. */
export const USAGE = `  deno task runs [experiment] [--runs DIR] [--json]    list runs`;

/**
 * Runs `runs`.
 *
 * @param args Arguments after `runs`.
 * @returns The exit code: 0.
 */
export function commandRuns(args: string[]): number {
  const { positionals, runsDir, json } = parseCommand(args);
  const experiment: string | undefined = positionals[0];
  recoverStaleRunsFor(runsDir, experiment === undefined ? undefined : [experiment]);
  const runs = listRuns(runsDir, experiment);
  if (json) {
    print(JSON.stringify(runs));
    return 0;
  }
  if (runs.length === 0) {
    print(`No runs in ${runsDir}`);
    return 0;
  }
  for (const r of runs) {
    if (r.status === "damaged") {
      print(`${r.experiment}/${runId(r.run)}  ${r.status.padEnd(11)} ${r.damage}`);
      continue;
    }
    const counts = Object.entries(r.counts).map(([k, n]) => `${n} ${k}`).join(", ");
    const variants = Object.entries(r.variants ?? {}).map(([b, n]) => `${b} [${n} variants]`);
    print(
      `${r.experiment}/${runId(r.run)}  ${r.status.padEnd(11)} ${r.started}  ${
        formatSeconds(r.seconds).padStart(7)
      }  ${counts}${variants.length > 0 ? `; ${variants.join(", ")}` : ""}`,
    );
  }
  return 0;
}
