/**
 * `deno task worker --queue redis://HOST:PORT[/DB] --remote <dir | s3://bucket/prefix>`: a
 * long-running fleet worker, and the `--queue`/`--remote` flags `run` shares with it.
 *
 * @module
 */

import { UsageError } from "../../runner/mod.ts";
import { ensureDirectoryRemote, openRemote, type RemoteBackend } from "../../runs/remote.ts";
import { intFlag, listenForSignals, parseCommand, print, userPath } from "./common.ts";

/** Usage of `worker`. */
export const USAGE =
  `  deno task worker --queue redis://HOST:PORT[/DB] --remote <dir | s3://bucket/prefix>
                   [--concurrency N] [--endpoint URL] [--runs DIR]
      take stage jobs of \`run --queue\` from Redis and run them here (Ctrl-C: finish the
      running jobs and exit; again: hand them back). rediss:// and redis://:password@ work.
      --runs DIR is this worker's own store (default: <runs>/.worker); $DITTO_QUEUE and
      $DITTO_REMOTE stand for --queue and --remote`;

/** Where the fleet is: the queue URL and the remote, from flags or the environment. */
export interface FleetTarget {
  /** `redis://...`. */
  queue: string;
  /** The remote, opened. */
  remote: RemoteBackend;
}

/**
 * Reads `--queue`, `--remote` and `--endpoint` (or `DITTO_QUEUE` / `DITTO_REMOTE`).
 *
 * @param values Parsed flags.
 * @param required Whether a missing queue is a usage error (`worker`) or no fleet (`run`).
 * @returns The target, or undefined when no queue is named.
 * @throws {UsageError} When a queue has no remote (or the reverse).
 */
export function fleetTarget(
  values: Record<string, unknown>,
  required: boolean,
): FleetTarget | undefined {
  const queue = (values.queue as string | undefined) ?? Deno.env.get("DITTO_QUEUE");
  const remote = (values.remote as string | undefined) ?? Deno.env.get("DITTO_REMOTE");
  if (!queue) {
    if (required) {
      throw new UsageError("Cannot start a worker: --queue redis://HOST:PORT is missing");
    }
    if (values.remote !== undefined) throw new UsageError("Cannot use --remote without --queue");
    return undefined;
  }
  if (!remote) {
    throw new UsageError(
      "Cannot use the queue without a remote: add --remote <dir | s3://bucket/prefix>",
    );
  }
  const spec = remote.startsWith("s3://") ? remote : userPath(remote);
  if (!spec.startsWith("s3://")) ensureDirectoryRemote(spec);
  const endpoint = typeof values.endpoint === "string" ? values.endpoint : undefined;
  return { queue, remote: openRemote(spec, { endpoint }) };
}

/** The flags of the fleet (for `parseCommand`). */
export const FLEET_FLAGS = {
  queue: { type: "string" },
  remote: { type: "string" },
  endpoint: { type: "string" },
} as const;

/**
 * Runs `worker` until Ctrl-C or SIGTERM.
 *
 * @param args Arguments after `worker`.
 * @returns 0 after a clean stop.
 */
export async function commandWorker(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    ...FLEET_FLAGS,
    concurrency: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`Cannot start a worker: unexpected argument "${positionals[0]}"`);
  }
  const concurrency = intFlag("concurrency", values.concurrency) ?? 1;
  if (concurrency < 1) throw new UsageError("Cannot use --concurrency 0: expected at least 1");
  const target = fleetTarget(values, true)!;
  const { defaultRunsDir } = await import("../../runner/mod.ts");
  const { join } = await import("../../runner/path.ts");
  const runsDir = typeof values.runs === "string"
    ? userPath(values.runs)
    : join(defaultRunsDir(), ".worker");
  const fleet = await import("../../fleet/mod.ts");
  const worker = await fleet.startWorker({
    queue: target.queue,
    remote: target.remote,
    runsDir,
    concurrency,
    log: (line) => print(line),
  });
  const { promise: stopped, resolve } = Promise.withResolvers<boolean>();
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) print("stopping: finishing the running jobs (again to hand them back)");
    resolve(signals > 1);
    if (signals > 1) void worker.close(true).then(() => Deno.exit(0));
  };
  const removeListeners = listenForSignals(onSignal);
  try {
    const force = await stopped;
    await worker.close(force);
  } finally {
    removeListeners();
  }
  print(`worker ${worker.id} stopped`);
  return 0;
}
