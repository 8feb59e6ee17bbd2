/**
 * The run-tool commands, dispatched by `src/cli/main.ts`: diff, store, gc, export, resume,
 * push and pull.
 *
 * @module
 */

import { commandDiff, DIFF_USAGE } from "./diff.ts";

/** A command: arguments after its name -> exit code. */
export type Command = (args: string[]) => number | Promise<number>;

/** Command name -> implementation. */
export const toolCommands: Record<string, Command> = {
  diff: commandDiff,
};

/** Usage lines of the run-tool commands. */
export const TOOLS_USAGE = [DIFF_USAGE].join("\n");
