/**
 * Fleet worker and runner processes for the fleet tests: real `deno` subprocesses of the CLI,
 * their output lines collected so a test can wait for one ("took job ...") and act then.
 *
 * @module
 */

import { join, resolve } from "node:path";

/** The CLI entry point. */
export const MAIN = resolve(new URL("../../src/cli/main.ts", import.meta.url).pathname);

/** A CLI process whose stdout and stderr lines are collected. */
export class CliProcess implements AsyncDisposable {
  /** Lines printed so far (stdout and stderr). */
  readonly lines: string[] = [];
  /** The process. */
  readonly child: Deno.ChildProcess;
  /** When the process ended: its exit code. */
  readonly exited: Promise<number>;
  #waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];

  /** @param args CLI arguments. @param env Extra environment variables. */
  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", MAIN, ...args],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pumps = [this.#pump(this.child.stdout), this.#pump(this.child.stderr)];
    this.exited = this.child.status.then(async (s) => {
      await Promise.all(pumps);
      return s.code;
    });
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let partial = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      for (const line of parts) this.#add(line);
    }
    if (partial) this.#add(partial);
  }

  #add(line: string): void {
    this.lines.push(line);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.pattern.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** All output so far. */
  get text(): string {
    return this.lines.join("\n");
  }

  /** Resolves with the first line (already printed or to come) matching `pattern`. */
  waitFor(pattern: RegExp): Promise<string> {
    const seen = this.lines.find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ pattern, resolve }));
  }

  /** Sends a signal (no error when it has exited). */
  kill(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch {
      // Exited.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.kill("SIGKILL");
    await this.exited;
  }
}

/** Starts a worker with its own store under `dir`, and waits until it listens. */
export async function startWorkerProcess(
  queue: string,
  remote: string,
  dir: string,
  name: string,
): Promise<CliProcess> {
  const worker = new CliProcess([
    "worker",
    "--queue",
    queue,
    "--remote",
    remote,
    "--runs",
    join(dir, name),
  ]);
  await Promise.race([
    worker.waitFor(/^worker \S+ on redis/),
    worker.exited.then((code) => {
      throw new Error(`worker exited with ${code}:\n${worker.text}`);
    }),
  ]);
  return worker;
}
