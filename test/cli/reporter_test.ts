import { assertEquals } from "../runner/_helpers.ts";
import { formatSeconds } from "../../src/cli/reporter.ts";
import { formatSeconds as uiSeconds } from "../../src/ui/html.ts";

Deno.test("durations round before they split into minutes: 959.6 s is 16m00s, never 15m60s", () => {
  assertEquals(
    [0.423, 12.64, 59.94, 59.96, 61, 959.6, 3599.7].map(formatSeconds),
    ["0.42s", "12.6s", "59.9s", "1m00s", "1m01s", "16m00s", "60m00s"],
  );
  assertEquals(
    [0.423, 59.96, 959.6, 3599.7, 3725].map(uiSeconds),
    ["0.42s", "1m 00s", "16m 00s", "1h 00m", "1h 02m"],
  );
});
