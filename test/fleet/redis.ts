/**
 * A real `redis-server` for the fleet tests: started on a free loopback port with no
 * persistence, stopped by its pid. Debian's `redis-server` package provides it (`.ci/run`
 * installs it); without it the fleet tests are skipped with a message, except under CI, where
 * its absence is an error.
 *
 * @module
 */

/** Path of redis-server, or undefined when it is not installed. */
export const REDIS_SERVER: string | undefined = (() => {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/bin", "/usr/sbin"])) {
    try {
      if (Deno.statSync(`${dir}/redis-server`).isFile) return `${dir}/redis-server`;
    } catch {
      // Not here.
    }
  }
  return undefined;
})();

/** Whether the fleet tests must be skipped (no redis-server outside CI). */
export const NO_REDIS: boolean = (() => {
  if (REDIS_SERVER) return false;
  if (Deno.env.get("CI")) throw new Error("redis-server is missing (apt-get install redis-server)");
  console.warn("fleet tests skipped: redis-server is not installed (apt-get install redis-server)");
  return true;
})();

/** A running redis-server. */
export interface RedisServer extends AsyncDisposable {
  /** Its port on 127.0.0.1. */
  port: number;
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** Stops it (SIGTERM, then waits). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
}

/** A free TCP port on loopback (the OS picks it; it is free right after this returns). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitForPort(port: number, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 200; i++) {
    if (exited) throw new Error(`redis-server on port ${port} exited at start`);
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`redis-server did not listen on port ${port}`);
}

/**
 * Starts redis-server on a free loopback port.
 *
 * @returns The server; dispose it (or `stop()`) to stop it.
 */
export async function startRedis(): Promise<RedisServer> {
  const port = freePort();
  let child: Deno.ChildProcess | undefined;
  const dir = Deno.makeTempDirSync({ prefix: "ditto_redis_" });
  const start = async () => {
    child = new Deno.Command(REDIS_SERVER!, {
      args: [
        "--bind",
        "127.0.0.1",
        "--port",
        String(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(port, child);
  };
  const stop = async () => {
    if (!child) return;
    try {
      child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await child.status;
    child = undefined;
  };
  const dispose = async () => {
    await stop();
    Deno.removeSync(dir, { recursive: true });
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start, [Symbol.asyncDispose]: dispose };
}
