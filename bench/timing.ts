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
