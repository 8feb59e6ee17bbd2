/**
 * Runner overhead: wall time of whole CLI processes (`deno run src/cli/main.ts run ...`) for a
 * no-op rerun, where every stage is cached.
 *
 * - `runner_noop_ms`: 5-stage chain, median of 9 reruns (target < 100 ms; Snakemake ~570 ms).
 * - `runner_noop_1000_ms`: generated 1000-stage DAG, median of 3 reruns (target < 1 s).
 * - `deno_startup_ms`: `deno run` of an empty module, the floor both are quoted against.
 *
 * Prints JSON lines `{"name","value","unit"}`; logs go to stderr.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const REPO_RUNS = fileURLToPath(new URL("../runs", import.meta.url));

function log(message: string): void {
  console.error(`[runner_bench] ${message}`);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function timeProcess(args: string[]): number {
  const t0 = performance.now();
  const out = new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "piped" })
    .outputSync();
  const ms = performance.now() - t0;
  if (!out.success) {
    throw new Error(
      `Cannot benchmark: ${args.join(" ")} failed\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return ms;
}

/**
 * CPU time (user + system, ms) of one process, read from its parent shell's cutime/cstime in
 * /proc (Linux only; 10 ms resolution). Robust to other load on the machine, unlike wall time.
 */
function cpuProcess(args: string[]): number | undefined {
  try {
    Deno.statSync("/proc/self/stat");
  } catch {
    return undefined;
  }
  const out = new Deno.Command("sh", {
    args: ["-c", '"$0" "$@" >/dev/null 2>&1; cat /proc/$$/stat', Deno.execPath(), ...args],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  const stat = new TextDecoder().decode(out.stdout);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 16 and 17 (cutime, cstime) are at offsets 13 and 14 after the command name.
  const ticks = Number(fields[13]) + Number(fields[14]);
  return ticks * 10;
}

function chain(n: number): string {
  const lines = [`name: chain${n}`, "params: { p: 1 }", "stages:"];
  for (let i = 0; i < n; i++) {
    const input = i === 0 ? "" : ` \${stages.s${i - 1}.outs.o}`;
    lines.push(
      `  s${i}: { run: "cat${input} /dev/null > o.txt; echo ${i} \${params.p} >> o.txt", outs: { o: o.txt } }`,
    );
  }
  return lines.join("\n") + "\n";
}

/** A DAG where stage i reads stages i-1 and i/2 (fan-in and long paths). */
function dag(n: number): string {
  const lines = [`name: dag${n}`, "stages:"];
  for (let i = 0; i < n; i++) {
    const ups = [...new Set(i === 0 ? [] : [i - 1, Math.floor(i / 2)])];
    const refs = ups.map((u) => ` \${stages.s${u}.outs.o}`).join("");
    lines.push(
      `  s${i}: { run: "cat${refs} /dev/null | wc -c > o.txt; echo ${i} >> o.txt", outs: { o: o.txt } }`,
    );
  }
  return lines.join("\n") + "\n";
}

async function main(): Promise<void> {
  // Inside the repository (runs/ is git-ignored) so the no-op includes the git state check.
  const dir = await Deno.makeTempDir({ dir: REPO_RUNS, prefix: ".runner_bench_" });
  try {
    const empty = join(dir, "empty.ts");
    Deno.writeTextFileSync(empty, "");
    const startup = median(Array.from({ length: 9 }, () => timeProcess(["run", "-A", empty])));

    const runs = join(dir, "runs");
    const small = join(dir, "chain5.yaml");
    Deno.writeTextFileSync(small, chain(5));
    const args = ["run", "-A", "--no-prompt", CLI, "run", small, "--runs", runs];
    log(`cold 5-stage run: ${timeProcess(args).toFixed(0)} ms`);
    // Let the memos settle: files younger than 2 s are never memoised (racy mtimes).
    await new Promise((r) => setTimeout(r, 2100));
    timeProcess(args);
    const noop = Array.from({ length: 9 }, () => timeProcess(args));
    log(`5-stage no-op reruns (ms): ${noop.map((x) => x.toFixed(0)).join(" ")}`);
    const cpu = Array.from({ length: 9 }, () => cpuProcess(args));
    const startupCpu = Array.from({ length: 9 }, () => cpuProcess(["run", "-A", empty]));

    const big = join(dir, "dag1000.yaml");
    Deno.writeTextFileSync(big, dag(1000));
    const bigArgs = ["run", "-A", "--no-prompt", CLI, "run", big, "--runs", runs];
    log(`cold 1000-stage run: ${(timeProcess([...bigArgs, "--jobs", "2"]) / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 2100));
    timeProcess(bigArgs);
    const noop1000 = Array.from({ length: 3 }, () => timeProcess(bigArgs));
    log(`1000-stage no-op reruns (ms): ${noop1000.map((x) => x.toFixed(0)).join(" ")}`);
    const cpu1000 = Array.from({ length: 3 }, () => cpuProcess(bigArgs));

    const rows = [
      { name: "deno_startup_ms", value: round(startup), unit: "ms" },
      { name: "runner_noop_ms", value: round(median(noop)), unit: "ms" },
      { name: "runner_noop_1000_ms", value: round(median(noop1000)), unit: "ms" },
      { name: "runner_noop_vs_startup", value: round(median(noop) / startup), unit: "x" },
    ];
    if (cpu.every((x) => x !== undefined)) {
      rows.push({ name: "runner_noop_cpu_ms", value: round(median(cpu as number[])), unit: "ms" });
      rows.push({
        name: "runner_noop_1000_cpu_ms",
        value: round(median(cpu1000 as number[])),
        unit: "ms",
      });
      rows.push({
        name: "deno_startup_cpu_ms",
        value: round(median(startupCpu as number[])),
        unit: "ms",
      });
    }
    for (const row of rows) console.log(JSON.stringify(row));
  } finally {
    const chmod = (d: string) => {
      for (const e of Deno.readDirSync(d)) {
        if (e.isDirectory) {
          Deno.chmodSync(join(d, e.name), 0o755);
          chmod(join(d, e.name));
        }
      }
    };
    chmod(dir);
    await Deno.remove(dir, { recursive: true });
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (import.meta.main) await main();
