/**
 * Messages between a {@linkcode WorkerPool} and the {@linkcode serveWorker} loop of its Workers,
 * and how an error crosses the thread boundary.
 *
 * @module
 */

/** A worker's methods, by name: what each takes, gives back and emits while it runs. */
export type Methods = {
  [name: string]: { payload: unknown; result: unknown; event?: unknown };
};

/** A request to a Worker. `events`: whether the caller listens to the method's events. */
export interface CallMessage {
  /** Request id, unique per pool. */
  id: number;
  /** Name of the handler. */
  method: string;
  /** The handler's argument. */
  payload: unknown;
  /** Whether the handler's events are wanted (else `emit` posts nothing). */
  events: boolean;
}

/** Asks a Worker to abort the signal of request `cancel` (queued requests are skipped). */
export interface CancelMessage {
  /** Id of the request to cancel. */
  cancel: number;
}

/** An error as it crosses the thread boundary. */
export interface ErrorData {
  /** `Error.name` (e.g. `RangeError`, `AbortError`). */
  name: string;
  /** `Error.message`. */
  message: string;
  /** `Error.stack` in the Worker, if any. */
  stack?: string;
}

/** What a Worker posts: a result, an error, an event of a running request, or its own end. */
export type ReplyMessage =
  | { id: number; result: unknown }
  | { id: number; error: ErrorData }
  | { id: number; event: unknown }
  | { closed: true };

/** Turns anything thrown into {@linkcode ErrorData}. */
export function errorData(error: unknown): ErrorData {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: "Error", message: String(error) };
}

/**
 * An Error made from one thrown in a Worker: its message is `context: message` and its stack
 * the Worker's frames (which name the Worker's file and line).
 */
export function remoteError(context: string, data: ErrorData): Error {
  const error = new Error(context ? `${context}: ${data.message}` : data.message);
  error.name = data.name;
  const frames = (data.stack ?? "").split("\n").filter((line) => /^\s+at /.test(line));
  error.stack = [`${data.name}: ${error.message}`, ...frames].join("\n");
  return error;
}
