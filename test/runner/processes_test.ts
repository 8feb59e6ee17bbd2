import { assertEquals } from "./_helpers.ts";
import {
  alive,
  descendants,
  endTree,
  processIdentity,
  stillRunning,
} from "../../src/runner/processes.ts";

Deno.test("processIdentity and stillRunning tell a live process from a reused pid", () => {
  const me = processIdentity(Deno.pid)!;
  assertEquals(me.pid, Deno.pid);
  assertEquals(stillRunning(me), true);
  assertEquals(stillRunning({ ...me, start: me.start + 1 }), false, "another start time");
  assertEquals(stillRunning({ ...me, boot: "another boot" }), false, "another boot");
  assertEquals(stillRunning({ ...me, host: me.host + "-other" }), false, "another host");
  assertEquals(processIdentity(2 ** 22 + 7), undefined, "no such pid");
});

Deno.test("endTree stops a process and its children, with SIGKILL for those that ignore SIGTERM", async () => {
  const polite = new Deno.Command("sh", { args: ["-c", "sleep 30"] }).spawn();
  const stubborn = new Deno.Command("sh", { args: ["-c", "trap '' TERM; sleep 30 & wait"] })
    .spawn();
  await new Promise((r) => setTimeout(r, 200));
  const children = descendants(stubborn.pid);
  assertEquals(children.length, 1, "the stubborn shell's sleep");
  assertEquals(await endTree(polite.pid, 5_000), "terminated");
  assertEquals(await endTree(stubborn.pid, 300), "killed");
  await polite.status;
  await stubborn.status;
  await new Promise((r) => setTimeout(r, 100));
  assertEquals(alive(children[0]), false, "the background sleep is gone too");
});
