/**
 * The environment a run records in `run.json`: runtime versions, OS, CPU and git state.
 *
 * @module
 */

/** Facts about the machine and the code a run used. */
export interface Environment {
  /** Deno version. */
  deno: string;
  /** V8 version. */
  v8: string;
  /** TypeScript version. */
  typescript: string;
  /** `linux`, `darwin`, `windows`, ... */
  os: string;
  /** `x86_64`, `aarch64`, ... */
  arch: string;
  /** CPU model name, when the OS tells it. */
  cpu: string;
  /** Logical core count. */
  cores: number;
  /** Git state of the experiment's folder, or null outside a repository. */
  git: { commit: string; dirty: boolean } | null;
}

function cpuModel(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    const match = info.match(/^model name\s*:\s*(.+)$/m) ?? info.match(/^Model\s*:\s*(.+)$/m);
    if (match) return match[1].trim();
  } catch {
    // Not Linux.
  }
  try {
    const out = new Deno.Command("sysctl", { args: ["-n", "machdep.cpu.brand_string"] })
      .outputSync();
    if (out.success) return new TextDecoder().decode(out.stdout).trim();
  } catch {
    // No sysctl.
  }
  return "unknown";
}

async function gitState(dir: string): Promise<Environment["git"]> {
  const git = async (args: string[]) => {
    const out = await new Deno.Command("git", {
      args: ["-C", dir, ...args],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  };
  try {
    const [commit, status] = await Promise.all([
      git(["rev-parse", "HEAD"]),
      git(["status", "--porcelain", "--untracked-files=no"]),
    ]);
    if (commit === undefined) return null;
    return { commit: commit.trim(), dirty: (status ?? "").trim() !== "" };
  } catch {
    return null;
  }
}

/**
 * Collects the environment; the git part runs in the background of the caller.
 *
 * @param dir The experiment's folder (for git).
 * @returns The environment.
 */
export async function collectEnvironment(dir: string): Promise<Environment> {
  const git = gitState(dir);
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpu: cpuModel(),
    cores: navigator.hardwareConcurrency,
    git: await git,
  };
}
