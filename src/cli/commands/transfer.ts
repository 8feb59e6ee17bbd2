/**
 * `deno task push <remote> [run...]` and `deno task pull <remote>`: share stage results and
 * their objects through a directory or an S3 bucket, so a colleague's `run` hits the cache.
 *
 * @module
 */

import { loadRun, recoverStaleRunsFor, UsageError } from "../../runner/mod.ts";
import { formatBytes } from "../../runs/diff/mod.ts";
import {
  ensureDirectoryRemote,
  openRemote,
  pull,
  push,
  runKeys,
  type TransferReport,
} from "../../runs/remote.ts";
import { intFlag, parseCommand, print, userPath } from "./common.ts";

/** Usage of `push` and `pull`. */
export const USAGE = `  deno task push <remote> [run...] [--endpoint URL] [--runs DIR] [--json]
  deno task pull <remote> [--endpoint URL] [--runs DIR] [--json]
      copy stage results and their objects to/from a folder or s3://bucket/prefix
      (S3 credentials from AWS_* variables; endpoint from --endpoint or DITTO_S3_ENDPOINT)`;

function describe(report: TransferReport): string {
  const verb = report.direction === "push" ? "pushed to" : "pulled from";
  const had = report.direction === "push" ? "the remote had" : "already here";
  return `${verb} ${report.remote}: ${report.results} stage result(s), ${report.objects} ` +
    `object(s) (${formatBytes(report.bytes)}); ${had} ${report.resultsPresent} result(s), ` +
    `${report.objectsPresent} object(s)`;
}

async function transfer(direction: "push" | "pull", args: string[]): Promise<number> {
  const { values, positionals, runsDir, json } = parseCommand(args, {
    endpoint: { type: "string" },
    "page-size": { type: "string" },
  });
  if (positionals.length < 1 || (direction === "pull" && positionals.length > 1)) {
    throw new UsageError(
      `Cannot ${direction}: expected a remote (a folder or s3://bucket/prefix)` +
        (direction === "push" ? " and optional runs" : ""),
    );
  }
  const spec = positionals[0].startsWith("s3://") ? positionals[0] : userPath(positionals[0]);
  if (!spec.startsWith("s3://") && direction === "push") ensureDirectoryRemote(spec);
  const remote = openRemote(spec, {
    endpoint: typeof values.endpoint === "string" ? values.endpoint : undefined,
    pageSize: intFlag("page-size", values["page-size"]),
  });
  try {
    const refs = positionals.slice(1);
    if (refs.length > 0) recoverStaleRunsFor(runsDir, refs);
    const keys = refs.length > 0
      ? runKeys(refs.map((ref) => loadRun(runsDir, ref).record))
      : undefined;
    const report = direction === "push"
      ? await push(runsDir, remote, { keys })
      : await pull(runsDir, remote, { keys });
    if (json) print(JSON.stringify(report));
    else {
      for (const p of report.problems) print(`problem: ${p}`, true);
      print(describe(report));
    }
    return report.problems.length > 0 ? 1 : 0;
  } finally {
    remote.close();
  }
}

/**
 * Runs `push`.
 *
 * @param args Arguments after `push`.
 * @returns 0, or 1 when something could not be sent.
 */
export function commandPush(args: string[]): Promise<number> {
  return transfer("push", args);
}

/**
 * Runs `pull`.
 *
 * @param args Arguments after `pull`.
 * @returns 0, or 1 when something could not be received.
 */
export function commandPull(args: string[]): Promise<number> {
  return transfer("pull", args);
}
