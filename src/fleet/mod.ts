/**
 * The worker fleet: stages run on other machines through a Redis queue (BullMQ), their inputs,
 * code and outputs exchanged by content hash through a `push`/`pull` remote.
 *
 * @example A runner and a worker
 * ```ts
 * import { FleetExecutor, startWorker } from "./mod.ts";
 * import { openRemote } from "../runs/remote.ts";
 * const worker = await startWorker({
 *   queue: "redis://127.0.0.1:6379",
 *   remote: openRemote("/mnt/shared/ditto"),
 *   runsDir: "/tmp/worker",
 * });
 * await using executor = new FleetExecutor({
 *   queue: "redis://127.0.0.1:6379",
 *   remote: openRemote("/mnt/shared/ditto"),
 *   runsDir: "runs",
 * });
 * // runExperiment(file, { runsDir: "runs", executor });
 * await worker.close();
 * ```
 *
 * @module
 */

export { FleetExecutor, type FleetExecutorOptions } from "./executor.ts";
export { type FleetWorker, startWorker, type WorkerOptions } from "./worker.ts";
export { dittoVersion, installedPackages, refusal } from "./code.ts";
export {
  type CodeTree,
  type FleetJob,
  type FleetResult,
  parseQueueUrl,
  type QueueAddress,
  STALL,
} from "./queue.ts";
