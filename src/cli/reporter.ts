/**
 * Human output of `run`: one line per stage (status, time, reason), a live progress bar on a
 * TTY, and plain periodic progress lines otherwise (CI logs).
 *
 * @module
 */

import {
  formatProblem,
  formatSeconds,
  type Problem,
  type ProgressState,
  type RunObserver,
  type RunReport,
  type StageReport,
} from "../runner/mod.ts";

/** Options of {@linkcode HumanReporter}. */
export interface HumanReporterOptions {
  /** Where to write. */
  stream: { writeSync(p: Uint8Array): number; isTerminal(): boolean };
  /** Seconds between plain progress lines when not on a TTY. @default {10} */
  plainInterval?: number;
}

const SYMBOL: Record<string, string> = {
  ran: "✓",
  cached: "=",
  failed: "✗",
  blocked: "-",
  interrupted: "!",
  pending: "?",
};

/** Durations print one way everywhere (the runner's formatter). */
export { formatSeconds };

function bar(fraction: number, width: number): string {
  const full = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return "█".repeat(full) + "░".repeat(width - full);
}

/** Prints run events for people. */
export class HumanReporter implements RunObserver {
  #out: HumanReporterOptions["stream"];
  #tty: boolean;
  #encoder = new TextEncoder();
  #running = new Map<string, { since: number; progress?: ProgressState }>();
  #width = 8;
  #timer?: ReturnType<typeof setInterval>;
  #statusShown = false;
  #plainInterval: number;
  #lastPlain = performance.now();

  /**
   * Creates a reporter.
   *
   * @param options Output stream and plain-line interval.
   */
  constructor(options: HumanReporterOptions) {
    this.#out = options.stream;
    this.#tty = options.stream.isTerminal();
    this.#plainInterval = (options.plainInterval ?? 10) * 1000;
  }

  #write(text: string): void {
    const bytes = this.#encoder.encode(text);
    let off = 0;
    while (off < bytes.length) off += this.#out.writeSync(bytes.subarray(off));
  }

  /**
   * Prints a warning: a validation problem on stderr whatever the stream (it comes before any
   * stage), a run-time message above the status line.
   */
  warning(warning: string | Problem): void {
    if (typeof warning === "string") {
      this.line(`  warning: ${warning}`);
      return;
    }
    const bytes = this.#encoder.encode(`warning: ${formatProblem(warning)}\n`);
    let off = 0;
    while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
  }

  /** Prints a line above the live status line. */
  line(text: string): void {
    if (this.#statusShown) this.#write("\r\x1b[2K");
    this.#statusShown = false;
    this.#write(text + "\n");
    this.#drawStatus();
  }

  #progressText(name: string): string {
    const entry = this.#running.get(name)!;
    const elapsed = formatSeconds((performance.now() - entry.since) / 1000);
    const p = entry.progress;
    if (!p || p.total <= 0) {
      return `${name} ${elapsed}${p?.done ? ` ${p.done} ${p.unit}` : ""}${
        p?.message ? ` ${p.message}` : ""
      }`;
    }
    const fraction = Math.min(1, p.done / p.total);
    const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
    const eta = p.done > 0
      ? ` eta ${
        formatSeconds(((performance.now() - entry.since) / 1000) * (p.total - p.done) / p.done)
      }`
      : "";
    return `${name} ${bar(fraction, 20)} ${pct} ${p.done}/${p.total} ${p.unit}${eta}${
      p.message ? ` ${p.message}` : ""
    }`;
  }

  #drawStatus(): void {
    if (!this.#tty || this.#running.size === 0) return;
    const columns = (() => {
      try {
        return Deno.consoleSize().columns || 100;
      } catch {
        return 100;
      }
    })();
    const text = [...this.#running.keys()].map((n) => this.#progressText(n)).join(" | ");
    // Never wrap: a wrapped status line cannot be erased with one carriage return.
    this.#write(`\r\x1b[2K${`  ▸ ${text}`.slice(0, Math.max(20, columns - 1))}`);
    this.#statusShown = true;
  }

  #tick = (): void => {
    if (this.#tty) {
      if (this.#statusShown) this.#write("\r\x1b[2K");
      this.#statusShown = false;
      this.#drawStatus();
      return;
    }
    if (performance.now() - this.#lastPlain < this.#plainInterval) return;
    this.#lastPlain = performance.now();
    for (const name of this.#running.keys()) this.line(`  … ${this.#progressText(name)}`);
  };

  planned(stages: string[]): void {
    this.#width = Math.max(8, ...stages.map((s) => s.length));
  }

  runStarted(info: { experiment: string; run: number; dir: string; stages: number }): void {
    this.#width = Math.max(this.#width, 8);
    this.line(`${info.experiment} run ${info.run}: ${info.stages} stages -> ${info.dir}`);
  }

  /** Starts the refresh timer on the first executing stage (a cached run needs none). */
  #startTimer(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(this.#tick, this.#tty ? 200 : 1000);
    Deno.unrefTimer(this.#timer);
  }

  stageStarted(name: string, reason: string): void {
    this.#width = Math.max(this.#width, name.length);
    this.#running.set(name, { since: performance.now() });
    this.#startTimer();
    if (!this.#tty) this.line(`  > ${name.padEnd(this.#width)} started: ${reason}`);
    else this.#drawStatus();
  }

  stageProgress(name: string, state: ProgressState): void {
    const entry = this.#running.get(name);
    if (entry) entry.progress = state;
  }

  stageLog(name: string, message: string): void {
    this.line(`    [${name}] ${message}`);
  }

  waiting(message: string): void {
    this.line(`  … ${message}`);
  }

  stageFinished(report: StageReport): void {
    this.#running.delete(report.name);
    this.#width = Math.max(this.#width, report.name.length);
    const time = report.status === "ran" || report.status === "failed" ||
        report.status === "interrupted"
      ? formatSeconds(report.seconds)
      : "";
    const status = report.status === "pending" ? "would run" : report.status;
    const reason = report.status === "cached" && report.reason === "cached" ? "" : report.reason;
    this.line(
      `  ${SYMBOL[report.status]} ${report.name.padEnd(this.#width)} ${status.padEnd(11)} ${
        time.padStart(7)
      }  ${reason}`.trimEnd(),
    );
    if (report.error) {
      this.line(report.error.split("\n").map((l) => `      ${l}`).join("\n"));
    }
  }

  /** Prints the closing summary and stops the status line. */
  finish(report: RunReport): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#running.clear();
    const counts = new Map<string, number>();
    for (const s of report.stages) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
    const parts = [...counts].map(([status, n]) =>
      `${n} ${status === "pending" ? "would run" : status}`
    );
    const where = report.dir ? ` -> ${report.dir}` : "";
    this.line(
      `${report.experiment}: ${report.status} in ${formatSeconds(report.seconds)} (${
        parts.join(", ")
      })${where}`,
    );
  }
}
