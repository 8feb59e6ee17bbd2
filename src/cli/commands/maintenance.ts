/**
 * `deno task store verify` (rehash every object; exit 1 on any problem) and
 * `deno task gc [--keep N] [--dry-run]` (remove what no kept run references).
 *
 * @module
 */

import { UsageError } from "../../runner/mod.ts";
import { formatBytes } from "../../runs/diff/mod.ts";
import { collectGarbage, verifyStore } from "../../runs/maintenance.ts";
import { intFlag, parseCommand, print } from "./common.ts";

/** Usage of `store` and `gc`. */
export const USAGE = `  deno task store verify [--no-quarantine] [--runs DIR] [--json]
      rehash every stored object; damaged ones are quarantined (exit 1 on any problem)
  deno task gc [--keep N] [--dry-run] [--runs DIR] [--json]
      remove store objects no kept run references (--keep: newest N runs per experiment)`;

/**
 * Runs `store <subcommand>`.
 *
 * @param args Arguments after `store`.
 * @returns 0 when the store is sound, 1 otherwise.
 */
export async function commandStore(args: string[]): Promise<number> {
  const { values, positionals, runsDir, json } = parseCommand(args, {
    "no-quarantine": { type: "boolean" },
  });
  if (positionals[0] !== "verify" || positionals.length !== 1) {
    throw new UsageError(`Cannot run "store ${positionals.join(" ")}": expected "store verify"`);
  }
  const report = await verifyStore(runsDir, { quarantine: values["no-quarantine"] !== true });
  if (json) print(JSON.stringify(report));
  else {
    for (const p of report.problems) {
      print(
        `${p.kind.padEnd(10)} ${p.message}${p.quarantined ? ` (moved to ${p.quarantined})` : ""}`,
      );
    }
    print(
      `${report.ok ? "ok" : "PROBLEMS"}: ${report.objects} objects (${
        formatBytes(report.bytes)
      }) ` +
        `and ${report.results} stage results checked, ${report.problems.length} problem(s)` +
        (report.leftovers ? `, ${report.leftovers} leftover temp file(s) (gc removes them)` : ""),
    );
  }
  return report.ok ? 0 : 1;
}

/**
 * Runs `gc`.
 *
 * @param args Arguments after `gc`.
 * @returns The exit code: 0.
 */
export function commandGc(args: string[]): number {
  const { values, runsDir, json, positionals } = parseCommand(args, {
    keep: { type: "string" },
    "dry-run": { type: "boolean" },
  });
  if (positionals.length > 0) throw new UsageError(`Cannot gc: unexpected "${positionals[0]}"`);
  const report = collectGarbage(runsDir, {
    keep: intFlag("keep", values.keep),
    dryRun: values["dry-run"] === true,
  });
  if (json) {
    print(JSON.stringify(report));
    return 0;
  }
  const verb = report.dryRun ? "would remove" : "removed";
  print(
    `gc ${verb} ${report.runsRemoved.length} run(s), ${report.objectsRemoved} object(s), ` +
      `${report.resultsRemoved} stage result(s), ${report.checkpointsRemoved} checkpoint(s); ` +
      `${report.dryRun ? "would free" : "freed"} ${formatBytes(report.bytesFreed)}; ` +
      `kept ${report.runsKept} run(s)`,
  );
  if (report.activeRuns.length > 0) {
    print(
      `  running now: ${report.activeRuns.join(", ")} (${report.protected} recent item(s) kept)`,
    );
  }
  return 0;
}
