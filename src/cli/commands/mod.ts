/**
 * The run-tool commands, dispatched by `src/cli/main.ts`: diff, store, gc, export, resume,
 * push and pull.
 *
 * @module
 */

import { commandDiff, DIFF_USAGE } from "./diff.ts";
import { commandExport, EXPORT_USAGE } from "./export.ts";
import { commandResume, RESUME_USAGE } from "./resume.ts";
import { commandPull, commandPush, TRANSFER_USAGE } from "./transfer.ts";
import { commandGc, commandStore, MAINTENANCE_USAGE } from "./maintenance.ts";

/** A command: arguments after its name -> exit code. */
export type Command = (args: string[]) => number | Promise<number>;

/** Command name -> implementation. */
export const toolCommands: Record<string, Command> = {
  diff: commandDiff,
  store: commandStore,
  gc: commandGc,
  export: commandExport,
  resume: commandResume,
  push: commandPush,
  pull: commandPull,
};

/** Usage lines of the run-tool commands. */
export const TOOLS_USAGE = [
  DIFF_USAGE,
  MAINTENANCE_USAGE,
  EXPORT_USAGE,
  RESUME_USAGE,
  TRANSFER_USAGE,
].join("\n");
