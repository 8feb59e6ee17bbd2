/**
 * Error classes of the runner. The CLI maps them to exit codes: {@linkcode ExperimentError}
 * and {@linkcode UsageError} exit with 2.
 *
 * @module
 */

/** Where a problem is in an experiment file (1-based line and column). */
export interface SourceLocation {
  /** The file, or `--set` for command-line overrides. */
  file: string;
  /** 1-based line, 0 when unknown. */
  line: number;
  /** 1-based column, 0 when unknown. */
  column: number;
}

/** One validation problem. */
export interface Problem {
  /** Where it is. */
  location: SourceLocation;
  /** The dotted key path, e.g. `stages.train.with.epochs`. */
  key: string;
  /** What is wrong, "Cannot ..." style. */
  message: string;
  /** How to fix it. */
  hint?: string;
}

/** Formats one problem as `file:line:column: key: message` plus an indented hint line. */
export function formatProblem(problem: Problem): string {
  const { file, line, column } = problem.location;
  const where = line > 0 ? `${file}:${line}:${column}` : file;
  const hint = problem.hint ? `\n  hint: ${problem.hint}` : "";
  return `${where}: ${problem.key}: ${problem.message}${hint}`;
}

/** Raised when an experiment file is invalid; carries every problem found. */
export class ExperimentError extends SyntaxError {
  /** Every problem, in file order. */
  readonly problems: Problem[];

  /**
   * Creates the error from its problems.
   *
   * @param problems At least one problem.
   */
  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ExperimentError";
    this.problems = problems;
  }
}

/** Raised for bad command-line usage. */
export class UsageError extends TypeError {
  /**
   * Creates the error.
   *
   * @param message What is wrong.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const OS_REASONS: [new (...args: never[]) => Error, string][] = [
  [Deno.errors.NotFound, "no such file or directory"],
  [Deno.errors.PermissionDenied, "permission denied"],
  [Deno.errors.AlreadyExists, "it already exists"],
  [Deno.errors.NotADirectory, "a path component is not a folder"],
  [Deno.errors.IsADirectory, "it is a folder"],
];

/**
 * Says in a few words why a file-system call failed (`permission denied`), for messages that
 * name the path themselves; Deno's own text repeats the call and the path.
 *
 * @param error What the call threw.
 * @returns A lower-case reason.
 */
export function osReason(error: unknown): string {
  for (const [type, reason] of OS_REASONS) if (error instanceof type) return reason;
  const message = error instanceof Error ? error.message : String(error);
  // "No space left on device (os error 28): write '...'" -> "no space left on device".
  const bare = message.replace(/ \(os error \d+\).*$/s, "");
  return bare.charAt(0).toLowerCase() + bare.slice(1);
}
