/**
 * The environment a run records in `run.json`: runtime versions, OS, CPU and git state.
 *
 * @module
 */

import { dirname, join } from "./path.ts";

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

async function gitStatus(root: string): Promise<Environment["git"]> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", root, "status", "--porcelain=v2", "--branch", "--untracked-files=normal"],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return null;
    const text = new TextDecoder().decode(out.stdout);
    const commit = text.match(/^# branch\.oid (\S+)$/m)?.[1];
    if (!commit || commit === "(initial)") return null;
    const dirty = text.split("\n").some((l) => l !== "" && !l.startsWith("#"));
    return { commit, dirty };
  } catch {
    return null;
  }
}

function findGitDir(dir: string): { root: string; gitDir: string } | undefined {
  let d = dir;
  while (true) {
    const candidate = join(d, ".git");
    try {
      const info = Deno.statSync(candidate);
      if (info.isDirectory) return { root: d, gitDir: candidate };
      // A worktree or submodule: `.git` is a file naming the real folder.
      const target = Deno.readTextFileSync(candidate).match(/^gitdir: (.+)$/m)?.[1];
      if (target) return { root: d, gitDir: target.startsWith("/") ? target : join(d, target) };
      return undefined;
    } catch {
      // Not here.
    }
    const parent = dirname(d);
    if (parent === d) return undefined;
    d = parent;
  }
}

function headCommit(gitDir: string): string | undefined {
  try {
    const head = Deno.readTextFileSync(join(gitDir, "HEAD")).trim();
    if (!head.startsWith("ref: ")) return head;
    const ref = head.slice(5);
    try {
      return Deno.readTextFileSync(join(gitDir, ref)).trim();
    } catch {
      const commonDir = (() => {
        try {
          return join(gitDir, Deno.readTextFileSync(join(gitDir, "commondir")).trim());
        } catch {
          return gitDir;
        }
      })();
      for (const dirToTry of [commonDir]) {
        try {
          return Deno.readTextFileSync(join(dirToTry, ref)).trim();
        } catch {
          const packed = Deno.readTextFileSync(join(dirToTry, "packed-refs"));
          const line = packed.split("\n").find((l) => l.endsWith(` ${ref}`));
          if (line) return line.split(" ")[0];
        }
      }
    }
  } catch {
    // Unreadable: let git answer.
  }
  return undefined;
}

/**
 * A cheap fingerprint of everything `git status` looks at: HEAD, the index file, size + mtime of
 * every tracked file (paths read from the index, v2/v3), and the mtime of every folder holding
 * one, which changes when a file is created or removed there (a new, untracked experiment file
 * makes the tree dirty).
 */
function workTreeSignature(root: string, gitDir: string): string | undefined {
  const commit = headCommit(gitDir);
  if (!commit) return undefined;
  let index: Uint8Array;
  try {
    index = Deno.readFileSync(join(gitDir, "index"));
  } catch {
    return undefined;
  }
  const view = new DataView(index.buffer, index.byteOffset, index.byteLength);
  if (index.length < 12 || view.getUint32(0) !== 0x44495243) return undefined;
  const version = view.getUint32(4);
  if (version !== 2 && version !== 3) return undefined;
  const count = view.getUint32(8);
  // git rewrites the index by rename, so its identity changes with its content.
  const indexInfo = Deno.statSync(join(gitDir, "index"));
  const parts = [
    commit,
    `${indexInfo.size}:${indexInfo.mtime?.getTime() ?? 0}:${indexInfo.ino ?? 0}`,
  ];
  const decoder = new TextDecoder();
  let off = 12;
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const flags = view.getUint16(off + 60);
    const extended = version === 3 && (flags & 0x4000) !== 0;
    const nameStart = off + 62 + (extended ? 2 : 0);
    const nameEnd = index.indexOf(0, nameStart);
    if (nameEnd < 0) return undefined;
    paths.push(decoder.decode(index.subarray(nameStart, nameEnd)));
    const entryLength = nameEnd - off;
    off += (entryLength + 8) & ~7;
  }
  // Synchronous stats: a few microseconds each, cheaper than async ops for hundreds of files.
  const folders = new Set([""]);
  for (const path of paths) {
    for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
      folders.add(path.slice(0, i));
    }
  }
  for (const path of [...folders].sort()) {
    try {
      parts.push(`d${Deno.statSync(`${root}/${path}`).mtime?.getTime() ?? 0}`);
    } catch {
      parts.push("missing");
    }
  }
  for (const path of paths) {
    try {
      const info = Deno.statSync(`${root}/${path}`);
      parts.push(`${info.size}:${info.mtime?.getTime() ?? 0}:${info.ino ?? 0}`);
    } catch {
      parts.push("missing");
    }
  }
  return parts.join("|");
}

/**
 * Git commit and dirty flag of the repository holding `dir`. `git status` runs only when the
 * work tree's signature differs from the memoised one, since spawning it costs tens of ms.
 */
async function gitState(dir: string, memoPath?: string): Promise<Environment["git"]> {
  const found = findGitDir(dir);
  if (!found) return null;
  const signature = workTreeSignature(found.root, found.gitDir);
  let memo: Record<string, { signature: string; git: Environment["git"] }> = {};
  if (memoPath && signature) {
    try {
      memo = JSON.parse(Deno.readTextFileSync(memoPath));
    } catch {
      // Empty.
    }
    const hit = memo[found.root];
    if (hit && hit.signature === signature) return hit.git;
  }
  const git = await gitStatus(found.root);
  if (memoPath && signature && git) {
    memo[found.root] = { signature, git };
    try {
      const tmp = `${memoPath}.${Deno.pid}.tmp`;
      Deno.writeTextFileSync(tmp, JSON.stringify(memo));
      Deno.renameSync(tmp, memoPath);
    } catch {
      // The memo is an optimisation.
    }
  }
  return git;
}

/** Options of {@linkcode collectEnvironment}. */
export interface CollectEnvironmentOptions {
  /** Memo file for the git state (skips `git status` while the work tree is unchanged). */
  gitMemo?: string;
}

/**
 * Collects the environment; the git part runs in the background of the caller.
 *
 * @param dir The experiment's folder (for git).
 * @param options Memo location.
 * @returns The environment.
 */
export async function collectEnvironment(
  dir: string,
  options: CollectEnvironmentOptions = {},
): Promise<Environment> {
  const git = gitState(dir, options.gitMemo);
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
