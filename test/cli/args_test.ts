import { parseArgs } from "../../src/cli/args.ts";
import { UsageError } from "../../src/runner/errors.ts";
import { assert, assertEquals } from "../runner/_helpers.ts";

const OPTIONS = {
  set: { type: "string", multiple: true },
  jobs: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

Deno.test("parseArgs() reads values, repeated options, short flags and positionals", () => {
  const { values, positionals } = parseArgs({
    args: ["a.yaml", "--set", "x=1", "--set=y=2", "--jobs", "3", "-h", "--json", "--", "--z"],
    options: OPTIONS,
  });
  assertEquals(values, { set: ["x=1", "y=2"], jobs: "3", help: true, json: true });
  assertEquals(positionals, ["a.yaml", "--z"]);
});

Deno.test("parseArgs() rejects unknown options, missing values and values on flags", () => {
  for (const args of [["--nope"], ["--jobs"], ["--json=1"], ["-x"]]) {
    try {
      parseArgs({ args, options: OPTIONS });
      throw new Error(`accepted ${args.join(" ")}`);
    } catch (error) {
      assert(error instanceof UsageError, String(error));
    }
  }
});

Deno.test("parseArgs() takes a short option's value separate or attached, as node:util does", () => {
  const options = { output: { type: "string", short: "o" } } as const;
  assertEquals(parseArgs({ args: ["r", "-o", "a.yaml"], options }).values, { output: "a.yaml" });
  assertEquals(parseArgs({ args: ["-oa.yaml", "r"], options }), {
    values: { output: "a.yaml" },
    positionals: ["r"],
  });
});
