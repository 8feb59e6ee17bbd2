/**
 * `deno task show <run>`: one run's summary (status, folder, environment, and per stage its
 * status, time, reason, outputs, metrics, facts and error).
 *
 * @module
 */

import {
  formatSeconds,
  loadRun,
  recoverStaleRunsFor,
  type RunRecord,
  UsageError,
} from "../../runner/mod.ts";
import { type CommandContext, parseCommand, print } from "./common.ts";

/** Usage of `show`. */
export const USAGE = `  deno task show <run> [--runs DIR] [--json]           one run's summary
      <run> is <experiment> (latest), <experiment>/<n>, or a run folder`;

/** The human summary of a run, one line per entry. */
export function formatRun(dir: string, record: RunRecord): string[] {
  const lines: string[] = [];
  const env = record.environment;
  lines.push(
    `${record.experiment} run ${record.run}: ${record.status} (${formatSeconds(record.seconds)})`,
  );
  lines.push(`  folder   ${dir}`);
  lines.push(`  file     ${record.file}`);
  lines.push(`  started  ${record.started}`);
  if (env) {
    const git = env.git ? `${env.git.commit.slice(0, 12)}${env.git.dirty ? " (dirty)" : ""}` : "-";
    lines.push(`  env      deno ${env.deno}, v8 ${env.v8}, ${env.os}/${env.arch}, ${env.cpu}`);
    lines.push(`  git      ${git}`);
  }
  // Variants of a matrix stage are listed under one line naming the declared stage.
  const indent = (s: { base?: string }) => s.base === undefined ? "" : "  ";
  const width = Math.max(8, ...record.stages.map((s) => s.name.length + indent(s).length));
  const pad = "".padEnd(width);
  let group: string | undefined;
  for (const s of record.stages) {
    if (s.base !== undefined && s.base !== group) {
      const n = record.stages.filter((x) => x.base === s.base).length;
      lines.push(`  ${s.base.padEnd(width)} [${n} variants]`);
    }
    group = s.base;
    const outs = Object.entries(s.outputs)
      .map(([k, o]) => `${k}=${o.hash.slice(0, 10)} (${o.bytes}B)`).join(" ");
    const metrics = Object.entries(s.metrics ?? {}).map(([k, v]) => `${k}=${v}`).join(" ");
    lines.push(
      `  ${(indent(s) + s.name).padEnd(width)} ${s.status.padEnd(11)} ${
        formatSeconds(s.seconds).padStart(7)
      }  ${s.reason}`,
    );
    if (outs) lines.push(`  ${pad} outputs  ${outs}`);
    if (metrics) lines.push(`  ${pad} metrics  ${metrics}`);
    if (s.facts && Object.keys(s.facts).length > 0) {
      lines.push(`  ${pad} facts    ${JSON.stringify(s.facts)}`);
    }
    if (s.error) lines.push(`  ${pad} error    ${s.error.split("\n")[0]}`);
  }
  return lines;
}

/**
 * Runs `show`.
 *
 * @param args Arguments after `show`.
 * @param context The usage text for usage errors.
 * @returns The exit code: 0.
 */
export async function commandShow(args: string[], context: CommandContext): Promise<number> {
  const { positionals, runsDir, json } = parseCommand(args);
  if (positionals.length !== 1) {
    throw new UsageError(`Cannot show: expected one run\n${await context.usage()}`);
  }
  recoverStaleRunsFor(runsDir, positionals);
  const { dir, record } = loadRun(runsDir, positionals[0]);
  if (json) print(JSON.stringify({ dir, ...record }));
  else for (const line of formatRun(dir, record)) print(line);
  return 0;
}
