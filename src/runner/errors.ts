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
