/**
 * `deno task export <run> [-o file.yaml]`: one self-contained YAML, the resolved experiment
 * plus a `lock:` section, runnable with `deno task run file.yaml --verify`.
 *
 * @module
 */

import { dirname } from "node:path";
import { loadRun, osReason, recoverStaleRunsFor, UsageError } from "../../runner/mod.ts";
import { writeFileAtomic } from "../../runner/store.ts";
import { exportRun, renderExport } from "../../runs/lock.ts";
import { parseCommand, print, userPath } from "./common.ts";

/** Usage of `export`. */
export const USAGE = `  deno task export <run> [-o file.yaml] [--runs DIR] [--json]
      write the resolved experiment plus a lock: section (keys, output hashes, code, env)`;

/**
 * Runs `export`.
 *
 * @param args Arguments after `export`.
 * @returns The exit code: 0.
 */
export async function commandExport(args: string[]): Promise<number> {
  const { values, positionals, runsDir, json } = parseCommand(args, {
    output: { type: "string", short: "o" },
  });
  if (positionals.length !== 1) {
    throw new UsageError(`Cannot export: expected one run, got ${positionals.length}`);
  }
  recoverStaleRunsFor(runsDir, positionals);
  const run = loadRun(runsDir, positionals[0]);
  const out = typeof values.output === "string" ? userPath(values.output) : undefined;
  const doc = await exportRun(run, { baseDir: out ? dirname(out) : userPath(".") });
  const text = await renderExport(doc);
  if (out) {
    try {
      writeFileAtomic(out, text, { sync: false });
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? `no such folder ${dirname(out)}`
        : osReason(error);
      throw new UsageError(`Cannot export to ${out} (-o): ${reason}`);
    }
    if (json) print(JSON.stringify({ run: run.name, file: out, lock: doc.lock }));
    else print(`exported ${run.name} to ${out}`);
  } else if (json) {
    print(JSON.stringify({ run: run.name, file: null, document: doc }));
  } else {
    Deno.stdout.writeSync(new TextEncoder().encode(text));
  }
  return 0;
}
