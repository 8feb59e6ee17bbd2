import { assert, assertEquals, runCli } from "../runner/_helpers.ts";

const cli = runCli;

const COMMANDS = [
  ["run"],
  ["runs"],
  ["show"],
  ["diff"],
  ["export"],
  ["resume"],
  ["gc"],
  ["store", "verify"],
  ["push"],
  ["pull"],
  ["ui"],
  ["report"],
];

Deno.test("every command answers --help (and -h) with its own usage lines, exit 0", async () => {
  for (const command of COMMANDS) {
    for (const flag of ["--help", "-h"]) {
      const out = await cli([...command, flag]);
      assertEquals([command, flag, out.code, out.stderr], [command, flag, 0, ""]);
      assert(out.stdout.startsWith("Usage:\n"), out.stdout);
      assert(out.stdout.includes(`deno task ${command.join(" ")}`), `${command}: ${out.stdout}`);
      assert(out.stdout.includes("Exit codes:"), out.stdout);
    }
  }
});

Deno.test("--help after -- is an argument, not a request for help", async () => {
  const out = await cli(["show", "--", "--help"]);
  assertEquals(out.code, 2);
  assert(!out.stdout.startsWith("Usage:"), out.stdout);
});
