import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveInside, safeSegments } from "../../src/ui/safe_path.ts";

Deno.test("safeSegments() decodes safe paths", () => {
  assert.deepEqual(safeSegments("/f/smoke/0001/a%20b.png"), ["f", "smoke", "0001", "a b.png"]);
  assert.deepEqual(safeSegments("/"), []);
  assert.deepEqual(safeSegments("/train%40temperature%3D1/x"), ["train@temperature=1", "x"]);
});

Deno.test("safeSegments() refuses traversal, encoded or not, and malformed escapes", () => {
  for (
    const path of [
      "/f/../etc/passwd",
      "/f/%2e%2e/etc",
      "/f/%2E%2E/etc",
      "/f/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "/f/a%2fb",
      "/f/a%5cb",
      "/f/%00",
      "/f//etc/passwd",
      "/f/./x",
      "/f/%E0%A4%A",
      "/f/x/",
    ]
  ) {
    assert.equal(safeSegments(path), undefined, path);
  }
});

Deno.test("resolveInside() follows symlinks and refuses those that leave the root", () => {
  const root = Deno.makeTempDirSync();
  const outside = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(join(root, "run"));
    Deno.writeTextFileSync(join(root, "run", "a.txt"), "a");
    Deno.writeTextFileSync(join(outside, "secret.txt"), "s");
    Deno.symlinkSync(join(outside, "secret.txt"), join(root, "run", "link.txt"));
    Deno.symlinkSync(outside, join(root, "run", "dir"));
    Deno.symlinkSync("a.txt", join(root, "run", "inner.txt"));
    assert.equal(resolveInside(root, ["run", "a.txt"]), Deno.realPathSync(join(root, "run/a.txt")));
    assert.equal(
      resolveInside(root, ["run", "inner.txt"]),
      Deno.realPathSync(join(root, "run/a.txt")),
    );
    assert.equal(resolveInside(root, ["run", "link.txt"]), undefined);
    assert.equal(resolveInside(root, ["run", "dir", "secret.txt"]), undefined);
    assert.equal(resolveInside(root, ["run", "missing"]), undefined);
    assert.equal(resolveInside(join(root, "run"), [".."]), undefined);
  } finally {
    Deno.removeSync(root, { recursive: true });
    Deno.removeSync(outside, { recursive: true });
  }
});
