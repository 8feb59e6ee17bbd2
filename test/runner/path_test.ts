import {
  basename,
  dirname,
  extname,
  join,
  normalize,
  relative,
  resolve,
} from "../../src/runner/path.ts";
import { assertEquals } from "./_helpers.ts";

Deno.test("join() and normalize() resolve dot segments and repeated slashes", () => {
  assertEquals(join("a", "b"), "a/b");
  assertEquals(join("/a", "./b/", "../c"), "/a/c");
  assertEquals(join("a//b", "c/"), "a/b/c");
  assertEquals(join(".hidden", "x/.git"), ".hidden/x/.git");
  assertEquals(join("a", ".."), ".");
  assertEquals(normalize("../../x"), "../../x");
  assertEquals(normalize("/../x"), "/x");
  assertEquals(join("/"), "/");
});

Deno.test("dirname(), basename(), extname(), relative() and resolve() follow POSIX rules", () => {
  assertEquals(dirname("/a/b/c.ts"), "/a/b");
  assertEquals(dirname("c.ts"), ".");
  assertEquals(dirname("/c"), "/");
  assertEquals(basename("/a/b.yaml", ".yaml"), "b");
  assertEquals(extname("x/y.tar.gz"), ".gz");
  assertEquals(extname(".bashrc"), "");
  assertEquals(relative("/a/b", "/a/c/d.ts"), "../c/d.ts");
  assertEquals(relative("/a", "/a/x.ts"), "x.ts");
  assertEquals(resolve("/a", "b", "../c"), "/a/c");
  assertEquals(resolve("/a", "/b"), "/b");
});
