/**
 * The stage processes a runner starts, as Linux's /proc shows them: their trees (to stop a stage
 * with everything it started), and their identity (pid plus start time), which a runner records in
 * the store lock of the key it computes so that the next runner can recognise a stage process
 * left alive by a runner that was killed (SIGKILL gives the runner no chance to stop it).
 *
 * Elsewhere than Linux there is no /proc: trees are empty, processes read as gone and no orphan is
 * recognised (the stage's own process is still signalled).
 *
 * @module
 */

/** The fields of /proc/<pid>/stat after the command name (which may contain spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Descendant pids of `pid` (Linux /proc; empty elsewhere), deepest last. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  try {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      const fields = statFields(Number(entry.name));
      if (fields === undefined) continue; // exited meanwhile
      const ppid = Number(fields[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry.name));
      children.set(ppid, list);
    }
  } catch {
    return [];
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** Sends `signal` to each pid, ignoring those already gone. */
export function signalAll(pids: Iterable<number>, signal: Deno.Signal): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, signal);
    } catch {
      // Already exited.
    }
  }
}

/** Whether a process is still there and not a zombie (Linux /proc; elsewhere assumed gone). */
export function alive(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== "Z";
}

/** Who a process is, beyond its pid (which the kernel reuses). */
export interface ProcessIdentity {
  /** The pid. */
  pid: number;
  /** Its start time, in clock ticks after boot (field 22 of /proc/<pid>/stat). */
  start: number;
  /** The kernel's boot id: a start time means nothing after a reboot. */
  boot: string;
  /** The host name: a store on a shared disk may be used from several machines. */
  host: string;
}

function bootId(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
  } catch {
    return "";
  }
}

/**
 * The identity of a live process on this machine.
 *
 * @param pid The process.
 * @returns Undefined where /proc does not know it.
 */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  const fields = statFields(pid);
  // Field 22 overall; statFields starts at field 3 (state).
  const start = fields === undefined ? NaN : Number(fields[19]);
  if (!Number.isFinite(start)) return undefined;
  return { pid, start, boot: bootId(), host: Deno.hostname() };
}

/**
 * Whether the process an identity names is still the same live process: the same host and boot,
 * and a process with that pid that started at that moment.
 *
 * @param id A recorded identity.
 * @returns False when it exited, or its pid now belongs to another process.
 */
export function stillRunning(id: ProcessIdentity): boolean {
  if (id.host !== Deno.hostname() || id.boot !== bootId()) return false;
  const now = processIdentity(id.pid);
  return now !== undefined && now.start === id.start && alive(id.pid);
}

/**
 * Stops a process and everything it started: SIGTERM to the tree, then SIGKILL to what is left
 * after `graceMs`.
 *
 * @param pid The root of the tree.
 * @param graceMs Time between SIGTERM and SIGKILL.
 * @returns How it ended: `terminated` (gone within the grace) or `killed`.
 */
export async function endTree(pid: number, graceMs: number): Promise<"terminated" | "killed"> {
  const tree = new Set([pid, ...descendants(pid)]);
  signalAll(tree, "SIGTERM");
  const deadline = performance.now() + graceMs;
  const left = () => [...tree].filter(alive);
  while (left().length > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (left().length === 0) return "terminated";
  for (const p of left()) for (const d of descendants(p)) tree.add(d);
  signalAll(left(), "SIGKILL");
  return "killed";
}
