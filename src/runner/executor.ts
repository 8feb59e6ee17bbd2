/**
 * Runs one stage in a child process: `sh -c` for `run:` stages, the stage host for TypeScript
 * stages. Output goes to a log file; host messages become observer callbacks.
 *
 * @module
 */

import { fromFileUrl } from "./path.ts";
import type { HostMessage, HostSpec } from "./stage_host.ts";
import { alive, descendants, signalAll } from "./processes.ts";

/** How a stage process ended. */
export interface ExecOutcome {
  /** `ok`, `failed` or `interrupted`. */
  status: "ok" | "failed" | "interrupted";
  /** Why it failed (exit code, error message, log tail). */
  error?: string;
  /** Facts the stage reported. */
  facts: Record<string, unknown>;
}

/** Callbacks of a running stage. */
export interface ExecHooks {
  /** A `ctx.log` line. */
  log?: (message: string) => void;
  /** Progress: total and done so far. */
  progress?: (state: { done: number; total: number; unit: string; message?: string }) => void;
  /** The stage's process started (the runner records it, to find it again should it die). */
  spawned?: (pid: number) => void;
}

const TAIL_LINES = 20;

class LogSink {
  #file: Deno.FsFile;
  #tail: string[] = [];
  #partial = "";
  #decoder = new TextDecoder();

  constructor(path: string) {
    this.#file = Deno.openSync(path, { write: true, create: true, append: true });
  }

  write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
    const lines = (this.#partial + this.#decoder.decode(bytes, { stream: true })).split("\n");
    this.#partial = lines.pop() ?? "";
    this.#tail.push(...lines);
    if (this.#tail.length > TAIL_LINES) this.#tail.splice(0, this.#tail.length - TAIL_LINES);
  }

  writeText(text: string): void {
    this.write(new TextEncoder().encode(text));
  }

  tail(): string {
    return [...this.#tail, this.#partial].filter((l) => l !== "").join("\n");
  }

  close(): void {
    this.#file.close();
  }
}

interface Pump {
  done: Promise<void>;
  cancel(): void;
}

function pump(stream: ReadableStream<Uint8Array>, sink: (chunk: Uint8Array) => void): Pump {
  const reader = stream.getReader();
  const done = (async () => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        sink(value);
      }
    } catch {
      // Cancelled.
    }
  })();
  return { done, cancel: () => void reader.cancel().catch(() => {}) };
}

/**
 * How long a stopped stage's processes have between SIGTERM and SIGKILL (the README states it).
 * The stage host gives a TypeScript stage the same time to return.
 */
export const KILL_GRACE_MS = 10_000;

/** Waits for output pipes, but not forever: a background grandchild may hold them open. */
async function drain(pumps: Pump[], graceMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const all = Promise.all(pumps.map((p) => p.done));
  const timedOut = await Promise.race([
    all.then(() => false),
    new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(true), graceMs)),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    for (const p of pumps) p.cancel();
    await all;
  }
}

/**
 * On abort, SIGTERM to the child and everything it started (the tree as /proc shows it then),
 * and SIGKILL to whatever of them is left after {@linkcode KILL_GRACE_MS}: a stage that ignores
 * SIGTERM (`trap '' TERM`) cannot outlive the runner. The returned function, called once the
 * child exited, waits out that grace for its leftover descendants (reparented, so only the
 * tree taken at abort knows them).
 */
function killer(child: Deno.ChildProcess, signal: AbortSignal): () => Promise<void> {
  const tree = new Set<number>();
  let deadline = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const kill = () => {
    for (const pid of [child.pid, ...descendants(child.pid)]) tree.add(pid);
    signalAll(tree, "SIGKILL");
  };
  const onAbort = () => {
    for (const pid of [child.pid, ...descendants(child.pid)]) tree.add(pid);
    signalAll(tree, "SIGTERM");
    deadline = performance.now() + KILL_GRACE_MS;
    timer = setTimeout(kill, KILL_GRACE_MS);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return async () => {
    signal.removeEventListener("abort", onAbort);
    if (timer === undefined) return;
    const left = () => [...tree].filter((pid) => pid !== child.pid && alive(pid));
    while (left().length > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    clearTimeout(timer);
    signalAll(left(), "SIGKILL");
  };
}

/** Options of {@linkcode runShell}. */
export interface RunShellOptions {
  /** The stage's empty work dir (its cwd). */
  cwd: string;
  /** Log file (stdout and stderr). */
  logFile: string;
  /** Extra environment variables. */
  env: Record<string, string>;
  /** Aborts the command (SIGTERM). */
  signal: AbortSignal;
  /** Called with the shell's pid once it started. */
  spawned?: (pid: number) => void;
}

/**
 * Runs a shell command.
 *
 * @param command The resolved command.
 * @param options Work dir, log, env and abort signal.
 * @returns The outcome.
 */
export async function runShell(command: string, options: RunShellOptions): Promise<ExecOutcome> {
  const log = new LogSink(options.logFile);
  try {
    const child = new Deno.Command("sh", {
      args: ["-c", command],
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    options.spawned?.(child.pid);
    const stop = killer(child, options.signal);
    const pumps = [
      pump(child.stdout, (c) => log.write(c)),
      pump(child.stderr, (c) => log.write(c)),
    ];
    const status = await child.status;
    await drain(pumps, options.signal.aborted ? 300 : 2000);
    await stop();
    if (options.signal.aborted) return { status: "interrupted", facts: {} };
    if (!status.success) {
      const how = status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
      return { status: "failed", error: `command failed (${how})\n${log.tail()}`, facts: {} };
    }
    return { status: "ok", facts: {} };
  } finally {
    log.close();
  }
}

/** Options of {@linkcode runTypeScript}. */
export interface RunTypeScriptOptions {
  /** Log file. */
  logFile: string;
  /** deno.json the host runs with (import map, node_modules). */
  denoConfig?: string;
  /** Aborts the stage (SIGTERM to the host; its AbortSignal fires). */
  signal: AbortSignal;
  /** Callbacks. */
  hooks: ExecHooks;
}

const HOST = fromFileUrl(new URL("./stage_host.ts", import.meta.url));

/**
 * Runs a TypeScript stage in a stage host child process.
 *
 * @param spec What the host needs.
 * @param options Log, config, signal and callbacks.
 * @returns The outcome.
 */
export async function runTypeScript(
  spec: HostSpec,
  options: RunTypeScriptOptions,
): Promise<ExecOutcome> {
  const log = new LogSink(options.logFile);
  const facts: Record<string, unknown> = {};
  let error: string | undefined;
  const progress = { done: 0, total: 0, unit: "steps", message: undefined as string | undefined };
  try {
    const args = ["run", "-A", "--no-prompt"];
    if (options.denoConfig) args.push(`--config=${options.denoConfig}`);
    args.push(HOST);
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: spec.workDir,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    options.hooks.spawned?.(child.pid);
    const stop = killer(child, options.signal);
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(spec) + "\n"));
    // stdin stays open: the host treats its end as the runner's death.
    const decoder = new TextDecoder();
    let partial = "";
    const onStdout = (chunk: Uint8Array) => {
      const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("\x1e")) {
          log.writeText(line + "\n");
          continue;
        }
        let message: HostMessage;
        try {
          message = JSON.parse(line.slice(1));
        } catch {
          log.writeText(line.slice(1) + "\n");
          continue;
        }
        switch (message.t) {
          case "log":
            log.writeText(message.message + "\n");
            options.hooks.log?.(message.message);
            break;
          case "total":
            progress.total = message.total;
            if (message.unit) progress.unit = message.unit;
            options.hooks.progress?.({ ...progress });
            break;
          case "advance":
            progress.done += message.by;
            progress.message = message.message;
            options.hooks.progress?.({ ...progress });
            break;
          case "facts":
            Object.assign(facts, message.facts);
            break;
          case "error":
            error = message.message;
            log.writeText((message.stack ?? message.message) + "\n");
            break;
        }
      }
    };
    const pumps = [
      pump(child.stdout, onStdout),
      pump(child.stderr, (c) => log.write(c)),
    ];
    const status = await child.status;
    await drain(pumps, options.signal.aborted ? 300 : 2000);
    await stop();
    try {
      await writer.close();
    } catch {
      // The host already exited.
    }
    if (partial) log.writeText(partial + "\n");
    if (status.code === 130 || options.signal.aborted) return { status: "interrupted", facts };
    if (!status.success) {
      const how = status.signal ? `killed by ${status.signal}` : `exit code ${status.code}`;
      return {
        status: "failed",
        error: error ?? `stage host failed (${how})\n${log.tail()}`,
        facts,
      };
    }
    return { status: "ok", facts };
  } finally {
    log.close();
  }
}
