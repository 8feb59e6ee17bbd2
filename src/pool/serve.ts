/**
 * The Worker side of a {@linkcode WorkerPool}: a Worker module is only its handlers.
 *
 * ```ts ignore
 * import { serveWorker } from "../pool/mod.ts";
 * serveWorker<MyMethods>({
 *   init(config) { state = setUp(config); },
 *   run(batch, ctx) { ctx.emit("half way"); return compute(state, batch); },
 * });
 * ```
 *
 * @module
 */

import {
  type CallMessage,
  type CancelMessage,
  errorData,
  type Methods,
  type ReplyMessage,
} from "./protocol.ts";

/** What a handler gets besides its payload. */
export interface WorkerContext<Event = unknown> {
  /** Aborted when the caller cancels the request (see {@linkcode RequestOptions.signal}). */
  readonly signal: AbortSignal;
  /** Sends an event to the caller's `onEvent` (nothing when the caller does not listen). */
  emit(event: Event): void;
  /** Moves these objects with the result instead of copying them (`postMessage` transfer). */
  transfer(...objects: Transferable[]): void;
}

/** The handlers of a worker with methods `M`. */
export type Handlers<M extends Methods> = {
  [K in keyof M]: (
    payload: M[K]["payload"],
    context: WorkerContext<M[K]["event"]>,
  ) => M[K]["result"] | Promise<M[K]["result"]>;
};

/** The worker's global scope, typed without the worker lib so `deno check src/` stays one program. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<CallMessage | CancelMessage>) => void) | null;
  postMessage(message: ReplyMessage, transfer?: Transferable[]): void;
  close(): void;
}

/**
 * Serves `handlers` in this Worker. Requests run one at a time, in arrival order (so a handler
 * never sees the state of another half-done one); a cancelled request that has not started is
 * skipped. A handler's error goes back with its name, message and stack. `self.close()` tells
 * the pool first, so the requests left pending there fail instead of waiting for ever.
 */
export function serveWorker<M extends Methods>(handlers: Handlers<M>): void {
  const scope = self as unknown as WorkerScope;
  const controllers = new Map<number, AbortController>();
  let queue = Promise.resolve();
  const close = scope.close.bind(scope);
  scope.close = () => {
    scope.postMessage({ closed: true });
    close();
  };
  const run = async (message: CallMessage, controller: AbortController) => {
    const { id, method } = message;
    const transfer: Transferable[] = [];
    const context: WorkerContext = {
      signal: controller.signal,
      emit: (event) => {
        if (message.events) scope.postMessage({ id, event });
      },
      transfer: (...objects) => transfer.push(...objects),
    };
    try {
      controller.signal.throwIfAborted();
      const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
      if (handler === undefined) throw new TypeError(`The worker has no method '${method}'`);
      const result = await handler(message.payload, context);
      scope.postMessage({ id, result }, transfer);
    } catch (error) {
      scope.postMessage({ id, error: errorData(error) });
    } finally {
      controllers.delete(id);
    }
  };
  scope.onmessage = (event) => {
    const message = event.data;
    if ("cancel" in message) {
      controllers.get(message.cancel)?.abort();
      return;
    }
    const controller = new AbortController();
    controllers.set(message.id, controller);
    queue = queue.then(() => run(message, controller));
  };
}
