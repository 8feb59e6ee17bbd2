/**
 * `deno task ui [--port 8080] [--host 127.0.0.1] [--runs DIR]`: serves the runs folder as a
 * read-only web UI and prints its URL. Loopback by default; another interface only when asked.
 *
 * @module
 */

import { UsageError } from "../../runner/mod.ts";
import { serveUi } from "../../ui/mod.ts";
import { intFlag, parseCommand, print } from "./common.ts";

/** Usage of `ui`. */
export const USAGE = `  deno task ui [--port 8080] [--host 127.0.0.1] [--runs DIR]
      serve the runs folder as a read-only web UI (loopback unless --host says otherwise)`;

/**
 * Runs `ui` until interrupted.
 *
 * @param args Arguments after `ui`.
 * @returns The exit code: 0 when stopped by Ctrl-C or SIGTERM.
 */
export async function commandUi(args: string[]): Promise<number> {
  const { values, positionals, runsDir } = parseCommand(args, {
    port: { type: "string" },
    host: { type: "string" },
  });
  if (positionals.length > 0) {
    throw new UsageError(`Cannot serve: unexpected argument "${positionals[0]}"`);
  }
  const port = intFlag("port", values.port) ?? 8080;
  if (port > 65535) throw new UsageError(`Cannot use --port ${port}: expected 0 to 65535`);
  const hostname = typeof values.host === "string" ? values.host : "127.0.0.1";
  const controller = new AbortController();
  const stop = () => controller.abort();
  const signals: Deno.Signal[] = [];
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(sig, stop);
      signals.push(sig);
    } catch {
      // SIGTERM is not available on Windows.
    }
  }
  try {
    const server = await serveUi({
      runsDir,
      port,
      hostname,
      signal: controller.signal,
      onListen: (url) => print(`ditto ui: serving ${runsDir} at ${url} (read-only; Ctrl-C stops)`),
    });
    await server.finished;
    return 0;
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      throw new UsageError(`Cannot serve on ${hostname}:${port}: the port is in use (try --port)`);
    }
    throw error;
  } finally {
    for (const sig of signals) Deno.removeSignalListener(sig, stop);
  }
}
