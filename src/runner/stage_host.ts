/**
 * The stage host: a child `deno run` process that runs one TypeScript stage.
 *
 * It reads one JSON line {@linkcode HostSpec} from stdin and keeps stdin open: end of input
 * means the runner died, and aborts the stage like SIGTERM or SIGINT do. It reports to the
 * runner with stdout lines that start with the record separator `\x1e` followed by JSON
 * ({@linkcode HostMessage}); other output is the stage's log. Exit codes: 0 done, 1 failed,
 * 130 interrupted.
 *
 * @module
 */

import { join, toFileUrl } from "./path.ts";
import { stageRng } from "../random/mod.ts";
import type { StageContext, StageModule } from "./stage.ts";

/** What the runner sends to the host. */
export interface HostSpec {
  /** Absolute path of the stage module. */
  module: string;
  /** Stage name. */
  name: string;
  /** Resolved parameters. */
  params: Record<string, unknown>;
  /** Experiment seed. */
  seed: number;
  /** Input name -> absolute path. */
  inputs: Record<string, string>;
  /** Dep name -> absolute path. */
  deps: Record<string, string>;
  /** Folder the outputs are created in. */
  workDir: string;
  /** Output names. */
  outputs: string[];
  /** Metrics JSON lines file. */
  metricsFile: string;
  /** Checkpoint folder (kept across interruptions of the same key). */
  checkpointDir: string;
}

/** A message from the host to the runner. */
export type HostMessage =
  | { t: "log"; message: string }
  | { t: "total"; total: number; unit?: string }
  | { t: "advance"; by: number; message?: string }
  | { t: "facts"; facts: Record<string, unknown> }
  /** A stage's error: `message` is what users read, `stack` (its frames) goes to the log. */
  | { t: "error"; message: string; stack?: string };

const encoder = new TextEncoder();

/**
 * Reports a stage's error: its message alone (frames only with `DITTO_DEBUG=1`), the stack for
 * the stage's log.
 */
function sendError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error ? error.stack : undefined;
  const debug = Deno.env.get("DITTO_DEBUG") === "1";
  send({ t: "error", message: debug && stack ? stack : message, stack });
}

function send(message: HostMessage): void {
  const bytes = encoder.encode(`\x1e${JSON.stringify(message)}\n`);
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

const CHECKPOINT_NAME = /^[A-Za-z0-9_.-]+$/;

function checkpointPath(dir: string, name: string): string {
  if (!CHECKPOINT_NAME.test(name) || name.startsWith(".")) {
    throw new TypeError(`Cannot use checkpoint name "${name}": use letters, digits, '_', '-', '.'`);
  }
  return join(dir, name);
}

async function readLine(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text.split("\n")[0];
}

/** Builds the context a stage receives. */
function makeContext(spec: HostSpec, signal: AbortSignal): StageContext {
  const metricsFile = Deno.openSync(spec.metricsFile, { append: true, create: true });
  return {
    name: spec.name,
    params: spec.params,
    seed: spec.seed,
    inputs: spec.inputs,
    deps: spec.deps,
    output(name: string): string {
      if (!spec.outputs.includes(name)) {
        throw new RangeError(
          `Cannot use output "${name}": the stage declares ${spec.outputs.join(", ") || "none"}`,
        );
      }
      return join(spec.workDir, name);
    },
    rng: stageRng(spec.seed, spec.name),
    metrics: {
      log(step: number, values: Record<string, number>): void {
        metricsFile.writeSync(encoder.encode(JSON.stringify({ step, ...values }) + "\n"));
      },
    },
    progress: {
      total(n: number, unit?: string): void {
        send({ t: "total", total: n, unit });
      },
      advance(by = 1, message?: string): void {
        send({ t: "advance", by, message });
      },
    },
    checkpoints: {
      save(name: string, data: Uint8Array | unknown): Promise<void> {
        const path = checkpointPath(spec.checkpointDir, name);
        const bytes = data instanceof Uint8Array ? data : encoder.encode(JSON.stringify(data));
        const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
        const file = Deno.openSync(tmp, { write: true, create: true, truncate: true });
        try {
          let off = 0;
          while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
          file.syncSync();
        } finally {
          file.close();
        }
        Deno.renameSync(tmp, path);
        return Promise.resolve();
      },
      async load<T = unknown>(name: string): Promise<T | undefined> {
        try {
          return JSON.parse(await Deno.readTextFile(checkpointPath(spec.checkpointDir, name)));
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) return undefined;
          throw error;
        }
      },
      async loadBytes(name: string): Promise<Uint8Array | undefined> {
        try {
          return await Deno.readFile(checkpointPath(spec.checkpointDir, name));
        } catch (error) {
          if (error instanceof Deno.errors.NotFound) return undefined;
          throw error;
        }
      },
    },
    signal,
    log(message: string): void {
      send({ t: "log", message: String(message) });
    },
    report(facts: Record<string, unknown>): void {
      send({ t: "facts", facts });
    },
  };
}

async function main(): Promise<number> {
  const reader = Deno.stdin.readable.getReader();
  const line = await readLine(reader);
  if (!line) return 1;
  const spec = JSON.parse(line) as HostSpec;
  const controller = new AbortController();
  const abort = () => {
    if (controller.signal.aborted) return;
    controller.abort(new DOMException("Stage interrupted", "AbortError"));
    // A stage that ignores the signal is stopped after a grace period.
    setTimeout(() => Deno.exit(130), 10_000);
  };
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    try {
      Deno.addSignalListener(sig, abort);
    } catch {
      // Not supported on this platform.
    }
  }
  // End of stdin: the runner is gone (even SIGKILLed), so stop too.
  (async () => {
    try {
      while (!(await reader.read()).done) {
        // Ignore anything after the spec.
      }
    } catch {
      // Closed.
    }
    abort();
  })();

  let stage: StageModule;
  try {
    const mod = await import(toFileUrl(spec.module).href);
    stage = mod.default as StageModule;
    if (!stage || typeof stage.run !== "function") {
      throw new TypeError(`Cannot run stage: ${spec.module} has no default export with run()`);
    }
  } catch (error) {
    sendError(error);
    return 1;
  }
  try {
    await stage.run(makeContext(spec, controller.signal));
  } catch (error) {
    if (controller.signal.aborted) return 130;
    sendError(error);
    return 1;
  }
  if (controller.signal.aborted) return 130;
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main());
}
