/**
 * Shared test helpers: temporary projects on disk and quiet runs.
 *
 * @module
 */

import nodeAssert from "node:assert/strict";
import { dirname, join } from "node:path";
import { runExperiment, type RunOptions, type RunReport } from "../../src/runner/mod.ts";

/** A temporary project folder, removed by `dispose`. */
export interface TempProject extends AsyncDisposable {
  /** The folder. */
  dir: string;
  /** `<dir>/runs`. */
  runsDir: string;
  /** Writes a file relative to the folder (parents created). */
  write(path: string, text: string): void;
  /** Reads a file relative to the folder. */
  read(path: string): string;
  /** Runs an experiment file of the project in-process, quietly. */
  run(file: string, options?: Partial<RunOptions>): Promise<RunReport>;
}

/**
 * Creates a temporary project with the given files.
 *
 * @param files Path -> content.
 * @returns The project; `await using` removes it.
 */
export async function tempProject(files: Record<string, string>): Promise<TempProject> {
  const dir = await Deno.makeTempDir({ prefix: "ditto_test_" });
  const project: TempProject = {
    dir,
    runsDir: join(dir, "runs"),
    write(path, text) {
      Deno.mkdirSync(dirname(join(dir, path)), { recursive: true });
      Deno.writeTextFileSync(join(dir, path), text);
    },
    read(path) {
      return Deno.readTextFileSync(join(dir, path));
    },
    run(file, options = {}) {
      return runExperiment(join(dir, file), { runsDir: join(dir, "runs"), ...options });
    },
    async [Symbol.asyncDispose]() {
      await makeWritable(dir);
      await Deno.remove(dir, { recursive: true });
    },
  };
  for (const [path, text] of Object.entries(files)) project.write(path, text);
  return project;
}

async function makeWritable(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory && !entry.isSymlink) {
      await Deno.chmod(join(dir, entry.name), 0o755);
      await makeWritable(join(dir, entry.name));
    }
  }
}

/** Status and reason of one stage, for compact assertions. */
export function stage(report: RunReport, name: string): { status: string; reason: string } {
  const s = report.stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name} in report`);
  return { status: s.status, reason: s.reason };
}

/** Statuses of all stages by name. */
export function statuses(report: RunReport): Record<string, string> {
  return Object.fromEntries(report.stages.map((s) => [s.name, s.status]));
}

/** The three-stage shell experiment of the issue, with a data file. */
export const DEMO = {
  "exp/demo.yaml": `name: demo
seed: 42
params: { n: 3, scale: 2 }
stages:
  make:
    run: "head -n \${params.n} \${deps.input} > rows.txt"
    deps: { input: data/input.txt }
    outs: { rows: rows.txt }
  total:
    needs: [make]
    run: "awk '{s+=$1} END {print s*\${params.scale}}' \${stages.make.outs.rows} > total.txt"
    outs: { total: total.txt }
`,
  "exp/data/input.txt": "1\n2\n3\n4\n5\n",
};

/** Absolute path of the CLI entry. */
export const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** Runs the real CLI in a subprocess (extra environment variables in `env`). */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", CLI, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Sets a file's mtime into the past so memos treat it as settled. */
export function age(path: string, seconds = 10): void {
  const t = new Date(Date.now() - seconds * 1000);
  Deno.utimeSync(path, t, t);
}

/** Deep strict equality (node:assert, since JSR is not reachable here). */
export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Asserts a condition. */
export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Asserts that text matches a pattern. */
export function assertMatch(text: string, pattern: RegExp): void {
  nodeAssert.match(text, pattern);
}
