import { join } from "../../src/runner/path.ts";
import { collectEnvironment } from "../../src/runner/environment.ts";
import { assert, assertEquals, tempProject } from "./_helpers.ts";

function git(dir: string, ...args: string[]): string {
  const out = new Deno.Command("git", {
    args: ["-C", dir, ...args],
    env: {
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.com",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.com",
    },
  }).outputSync();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("collectEnvironment() records versions, CPU, and git commit with a dirty flag that follows edits", async () => {
  await using p = await tempProject({ "repo/a.txt": "a\n", "repo/exp/x.yaml": "stages: {}\n" });
  const repo = join(p.dir, "repo");
  git(repo, "init", "-q");
  git(repo, "add", ".");
  git(repo, "commit", "-q", "-m", "first");
  const commit = git(repo, "rev-parse", "HEAD");
  const memo = join(p.dir, "git.json");
  const clean = await collectEnvironment(join(repo, "exp"), { gitMemo: memo });
  assertEquals(clean.deno, Deno.version.deno);
  assertEquals(clean.typescript, Deno.version.typescript);
  assert(clean.cpu.length > 0 && clean.cores > 0);
  assertEquals(clean.git, { commit, dirty: false });
  // The memo answers while nothing changed, and an edit is still seen.
  assertEquals((await collectEnvironment(join(repo, "exp"), { gitMemo: memo })).git, clean.git);
  p.write("repo/a.txt", "changed\n");
  assertEquals((await collectEnvironment(repo, { gitMemo: memo })).git, { commit, dirty: true });
  // A new file git does not know yet (an experiment not committed) makes the tree dirty, through
  // the memo too; one .gitignore covers does not.
  p.write("repo/a.txt", "a\n");
  p.write("repo/.gitignore", "runs/\n");
  git(repo, "add", ".gitignore");
  git(repo, "commit", "-q", "-m", "ignore runs");
  const second = git(repo, "rev-parse", "HEAD");
  assertEquals((await collectEnvironment(repo, { gitMemo: memo })).git, {
    commit: second,
    dirty: false,
  });
  p.write("repo/runs/0001/run.json", "{}\n");
  assertEquals((await collectEnvironment(repo, { gitMemo: memo })).git?.dirty, false);
  p.write("repo/exp/new.yaml", "stages: {}\n");
  assertEquals((await collectEnvironment(repo, { gitMemo: memo })).git, {
    commit: second,
    dirty: true,
  });
  // Outside a repository there is no git state.
  assertEquals((await collectEnvironment("/")).git, null);
});
