/**
 * Helpers shared by the bench files: a JSON-line emitter and wall + CPU timing (CPU time is
 * disturbed less than wall time by other processes on a shared machine).
 *
 * @module
 */
import process from "node:process";

/**
 * Prints one `{"name","value","unit"}` line (6 significant digits) to stdout, with `extra`
 * fields after them (such as `flops_per_unit`, which bench/main.ts turns into GFLOP/s).
 */
export function emit(
  name: string,
  value: number,
  unit: string,
  extra: Record<string, unknown> = {},
): void {
  console.log(JSON.stringify({ name, value: Number(value.toPrecision(6)), unit, ...extra }));
}

/** CPU seconds (user + system) this process has used so far. */
export function cpuSeconds(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}

/** Times `fn`, returning wall and CPU seconds. */
export async function timed(
  fn: () => Promise<void> | void,
): Promise<{ wall: number; cpu: number }> {
  const c0 = cpuSeconds();
  const t0 = performance.now();
  await fn();
  return { wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - c0 };
}

/**
 * CPU seconds (user + system) of each live thread of this process, by thread id, from Linux's
 * `/proc/self/task` (clock ticks of 1/100 s); empty where that does not exist. A Worker's
 * thread disappears when it is terminated, so read this while the Workers live.
 */
export function threadCpuSeconds(): Map<number, number> {
  const threads = new Map<number, number>();
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync("/proc/self/task")];
  } catch {
    return threads;
  }
  for (const { name } of entries) {
    try {
      const stat = Deno.readTextFileSync(`/proc/self/task/${name}/stat`);
      // Fields after the command name (which may hold spaces): utime and stime are 12th, 13th.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      threads.set(Number(name), (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return threads;
}

/** CPU seconds each thread used between two {@linkcode threadCpuSeconds} readings. */
export function threadCpuDelta(
  before: Map<number, number>,
  after: Map<number, number>,
): number[] {
  return [...after].map(([tid, s]) => s - (before.get(tid) ?? 0));
}
