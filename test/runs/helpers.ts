/**
 * Shared set-up of the run-tool tests: a small multi-stage experiment in a temp folder, run
 * through the real runner (in-process or as a real `deno` subprocess of the CLI).
 *
 * @module
 */

import nodeAssert from "node:assert/strict";
import { join, resolve } from "node:path";
import { runExperiment, type RunReport } from "../../src/runner/mod.ts";

/** The project root (for the CLI entry point). */
export const ROOT = resolve(new URL("../..", import.meta.url).pathname);
/** The CLI entry point. */
export const MAIN = join(ROOT, "src/cli/main.ts");

/** A TypeScript stage without imports: metrics per step, a checkpoint per step, an image. */
const STAGE_TS = `
export default {
  description: "Noisy mean with a checkpoint per step",
  params: {
    steps: { type: "integer", default: 4, description: "steps" },
    delay_ms: { type: "integer", default: 0, description: "wait per step" },
  },
  inputs: { rows: { description: "numbers" } },
  outputs: ["model", "plot.png"],
  async run(ctx) {
    const rows = (await Deno.readTextFile(ctx.inputs.rows)).trim().split("\\n").map(Number);
    const state = (await ctx.checkpoints.load("state")) ?? { step: 0, acc: [] };
    ctx.report({ resumed_from: state.step });
    for (let step = state.step; step < ctx.params.steps; step++) {
      if (ctx.signal.aborted) throw new Error("aborted");
      if (ctx.params.delay_ms > 0) await new Promise((r) => setTimeout(r, ctx.params.delay_ms));
      const rng = ctx.rng.fork("step:" + step);
      const loss = rows.reduce((a, b) => a + b, 0) / (step + 1) + rng.normal() * 0.01;
      state.acc.push(loss);
      state.step = step + 1;
      ctx.metrics.log(step, { loss });
      await ctx.checkpoints.save("state", state);
    }
    await Deno.mkdir(ctx.output("model"));
    await Deno.writeTextFile(ctx.output("model") + "/weights.json", JSON.stringify(state.acc));
    await Deno.writeTextFile(ctx.output("model") + "/meta.txt", "steps " + state.step + "\\n");
    const last = Math.round(state.acc[state.acc.length - 1] * 1000) % 256;
    const png = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, state.step, last]);
    await Deno.writeFile(ctx.output("plot.png"), png);
  },
};
`;

const YAML = `name: tiny
seed: 7
params: { n: 3, scale: 2 }
stages:
  make:
    run: "seq 1 \${params.n} > rows.txt"
    outs: { rows: rows.txt }
  total:
    run: "awk '{s+=$1} END {print s*\${params.scale}}' \${stages.make.outs.rows} > total.txt"
    outs: { total: total.txt }
  fit:
    uses: ./fit.ts
    inputs: { rows: "\${stages.make.outs.rows}" }
    with: { steps: 4 }
`;

/** A temporary project with `tiny.yaml` (make -> total, make -> fit) and a runs folder. */
export interface TinyProject extends AsyncDisposable {
  /** The temp folder. */
  dir: string;
  /** The experiment file. */
  yaml: string;
  /** The runs folder. */
  runs: string;
  /** Runs the experiment in-process with `--set` overrides. */
  run(sets?: string[], runs?: string): Promise<RunReport>;
}

/** Creates a {@linkcode TinyProject}; dispose it to remove the folder. */
export async function tinyProject(): Promise<TinyProject> {
  const dir = await Deno.makeTempDir({ prefix: "ditto_runs_test_" });
  const yaml = join(dir, "tiny.yaml");
  await Deno.writeTextFile(yaml, YAML);
  await Deno.writeTextFile(join(dir, "fit.ts"), STAGE_TS);
  const runs = join(dir, "runs");
  return {
    dir,
    yaml,
    runs,
    run: (sets = [], runsDir = runs) => runExperiment(yaml, { runsDir, sets, jobs: 2 }),
    [Symbol.asyncDispose]: async () => {
      await makeWritable(dir);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Store objects are read-only: make everything writable so the folder can be removed. */
async function makeWritable(dir: string): Promise<void> {
  await new Deno.Command("chmod", { args: ["-R", "u+w", dir] }).output();
}

/** Runs the CLI as a real subprocess. */
export async function cli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", MAIN, ...args],
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Asserts a condition. */
export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message);
}

/** Asserts deep equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Asserts a string matches a pattern. */
export function assertMatch(actual: string, pattern: RegExp): void {
  nodeAssert.match(actual, pattern);
}

/** Asserts a string contains another. */
export function assertStringIncludes(actual: string, expected: string): void {
  nodeAssert.ok(
    actual.includes(expected),
    `expected to find ${JSON.stringify(expected)} in:\n${actual}`,
  );
}
