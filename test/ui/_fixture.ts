/**
 * Fixtures of the UI tests: real runs made by the real CLI into a temporary runs folder, and
 * the UI's handler served by `Deno.serve` on 127.0.0.1.
 */

import { fileURLToPath as fromFileUrl } from "node:url";
import { createHandler } from "../../src/ui/mod.ts";

/** The project root. */
export const ROOT = fromFileUrl(new URL("../../", import.meta.url));
/** The shell-stage experiment of these tests. */
export const SHELL_YAML = fromFileUrl(new URL("./testdata/shell.yaml", import.meta.url));
/** The parameter value of the XSS test. */
export const XSS = "<img src=x onerror=alert(1)>";

/** Runs the ditto CLI; returns its exit code and output. */
export async function ditto(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", "src/cli/main.ts", ...args],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/**
 * Makes a runs folder with two runs of the shell experiment: `shell_ui/0001` with defaults,
 * `shell_ui/0002` with `params.rate=0.25` and the XSS string as `params.x`.
 */
export async function shellRuns(runsDir: string): Promise<void> {
  for (const sets of [[], ["--set", "params.rate=0.25", "--set", `params.x=${XSS}`]]) {
    const r = await ditto(["run", SHELL_YAML, "--runs", runsDir, ...sets]);
    if (r.code !== 0) throw new Error(`ditto run failed:\n${r.stdout}\n${r.stderr}`);
  }
}

/** A served runs folder. */
export interface Served {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  /** The port. */
  port: number;
  /** Stops the server and waits for it. */
  close(): Promise<void>;
}

/** Serves a runs folder on 127.0.0.1 with a free port. */
export async function serve(runsDir: string): Promise<Served> {
  const handler = await createHandler({ runsDir, loopbackHostOnly: true });
  const ready = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => ready.resolve(addr.port),
  }, handler);
  const port = await ready.promise;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    close: () => server.shutdown(),
  };
}

/** Sends one raw HTTP request line (no client-side path normalisation) and returns status. */
export async function rawStatus(port: number, target: string, host = "127.0.0.1"): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ),
    );
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.includes("\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return Number(text.split(" ")[1]);
  } finally {
    conn.close();
  }
}
