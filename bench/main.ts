/**
 * Runs every `bench/*_bench.ts` in its own subprocess and forwards their JSON lines
 * `{"name","value","unit"}` to stdout (logs go to stderr). When PyTorch is importable it also
 * runs the PyTorch reference (`../shared/bench/torch_reference.py --threads 1`) and forwards its
 * lines with names prefixed `torch_`, so model benchmarks have their anchor in the same run, and
 * ends with `ratio_<name>` lines (ours / PyTorch, unit "x") for the pairs it has measured.
 *
 * Kernel figures (lines with a `flops_per_unit` field: FLOPs per image or timestep, from
 * src/models/flops.ts) are also printed as `<name>_gflops` (GFLOP/s) and `<name>_of_peak`: that
 * over `simd_peak_gflops` (bench/simd_bench.ts, always run) times the figure's threads (its
 * `threads` or `workers` field, else 1); the PyTorch anchors of {@linkcode RATIOS} likewise, at
 * their pair's FLOPs and one thread.
 *
 * ```sh
 * deno task bench              # everything
 * deno task bench runner       # only bench files whose name contains "runner" (+ torch, peak)
 * deno task bench --no-torch   # skip the PyTorch reference
 * ```
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPO = dirname(BENCH_DIR);
const TORCH_REFERENCE = join(REPO, "..", "shared", "bench", "torch_reference.py");

const encoder = new TextEncoder();

/** Every value printed so far, by name: the ratios at the end are computed from these. */
const values = new Map<string, number>();

/** FLOPs per unit and threads of each kernel figure printed so far, by name. */
const kernels = new Map<string, { flops: number; threads: number }>();

/** The bench file measuring `simd_peak_gflops`, run whatever the filter. */
const PEAK_BENCH = "simd_bench.ts";

function emit(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

/** Ours / PyTorch's, for each pair measured in this run (`ratio_<ours>` lines, unit "x"). */
const RATIOS: [string, string][] = [
  ["vae_train_images_per_s", "torch_vae_train"],
  ["vae_train_2workers_images_per_s", "torch_vae_train"],
  ["vae_train_simd_images_per_s", "torch_vae_train"],
  ["vae_train_simd_2workers_images_per_s", "torch_vae_train"],
  ["vae_encode_images_per_s", "torch_vae_encode"],
  ["vae_encode_2workers_images_per_s", "torch_vae_encode"],
  ["vae_encode_tfjs_images_per_s", "torch_vae_encode"],
  ["rnn_train_timesteps_per_s_1thread", "torch_rnn_train"],
  ["rnn_train_timesteps_per_s", "torch_rnn_train"],
];

function emitRatios(): void {
  for (const [ours, anchor] of RATIOS) {
    const a = values.get(ours), b = values.get(anchor);
    if (a === undefined || b === undefined || b === 0) continue;
    emit(JSON.stringify({
      name: `ratio_${ours}`,
      value: Math.round((a / b) * 1000) / 1000,
      unit: "x",
      anchor,
    }));
  }
}

/** `<name>_gflops` and `<name>_of_peak` for every kernel figure (and its PyTorch anchor). */
function emitKernelFigures(): void {
  const rows = new Map(kernels);
  for (const [ours, anchor] of RATIOS) {
    const kernel = kernels.get(ours);
    if (kernel && values.has(anchor)) rows.set(anchor, { flops: kernel.flops, threads: 1 });
  }
  const peak = values.get("simd_peak_gflops");
  for (const [name, { flops, threads }] of rows) {
    const gflops = (values.get(name) ?? 0) * flops / 1e9;
    emit(JSON.stringify({ name: `${name}_gflops`, value: round(gflops, 4), unit: "GFLOP/s" }));
    if (!peak) continue;
    emit(JSON.stringify({
      name: `${name}_of_peak`,
      value: round(gflops / (peak * threads), 3),
      unit: "fraction",
      peak_gflops: round(peak * threads, 4),
      threads,
    }));
  }
}

/** `x` to `digits` significant digits. */
function round(x: number, digits: number): number {
  return Number(x.toPrecision(digits));
}

function note(message: string): void {
  Deno.stderr.writeSync(encoder.encode(`[bench] ${message}\n`));
}

/** Runs a command, forwarding JSON lines (renamed by `rename`) and passing stderr through. */
async function forward(
  command: string,
  args: string[],
  rename: (name: string) => string,
): Promise<boolean> {
  const child = new Deno.Command(command, {
    args,
    cwd: REPO,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of child.stdout) {
    const lines = (partial + decoder.decode(chunk, { stream: true })).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) handle(line);
  }
  handle(partial);
  return (await child.status).success;

  function handle(line: string): void {
    if (!line.trim()) return;
    try {
      const row = JSON.parse(line);
      if (row && typeof row === "object" && typeof row.name === "string") {
        row.name = rename(row.name);
        if (typeof row.value === "number") values.set(row.name, row.value);
        if (typeof row.flops_per_unit === "number") {
          const threads = row.threads ?? row.workers ?? 1;
          kernels.set(row.name, { flops: row.flops_per_unit, threads });
        }
        emit(JSON.stringify(row));
        return;
      }
    } catch {
      // Not JSON: a log line printed to stdout by mistake.
    }
    note(line);
  }
}

function torchAvailable(): boolean {
  try {
    return new Deno.Command("python3", {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

async function main(args: string[]): Promise<number> {
  const noTorch = args.includes("--no-torch");
  const filter = args.find((a) => !a.startsWith("--"));
  const files = [...Deno.readDirSync(BENCH_DIR)]
    .map((e) => e.name)
    .filter((n) => n.endsWith("_bench.ts"))
    .filter((n) => !filter || n.includes(filter) || n === PEAK_BENCH)
    .sort();
  let ok = true;
  for (const file of files) {
    note(`${basename(file)}`);
    const success = await forward(
      Deno.execPath(),
      ["run", "-A", "--no-prompt", join(BENCH_DIR, file)],
      (n) => n,
    );
    if (!success) {
      note(`${file} failed`);
      ok = false;
    }
  }
  if (noTorch) {
    emitKernelFigures();
    return ok ? 0 : 1;
  }
  let haveScript = false;
  try {
    haveScript = Deno.statSync(TORCH_REFERENCE).isFile;
  } catch {
    // Not there.
  }
  if (!haveScript) {
    note(`skipping the PyTorch reference: ${TORCH_REFERENCE} not found`);
  } else if (!torchAvailable()) {
    note("skipping the PyTorch reference: python3 cannot import torch");
  } else {
    note("torch_reference.py --threads 1");
    if (!await forward("python3", [TORCH_REFERENCE, "--threads", "1"], (n) => `torch_${n}`)) {
      note("torch_reference.py failed");
      ok = false;
    }
    emitRatios();
  }
  emitKernelFigures();
  return ok ? 0 : 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
