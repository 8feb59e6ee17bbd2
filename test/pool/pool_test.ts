import assert from "node:assert/strict";
import { createPool, inThread, type JobPool, workerJobs, WorkerPool } from "../../src/pool/mod.ts";
import type { FixtureMethods } from "./fixtures/worker.ts";

/** The error `run` rejects with, checked to be an instance of `type` naming `includes`. */
async function rejection(
  run: () => Promise<unknown>,
  type: new (...args: never[]) => Error = Error,
  includes = "",
): Promise<Error> {
  try {
    await run();
  } catch (error) {
    assert.ok(error instanceof type, `expected a ${type.name}, got ${error}`);
    assert.ok(error.message.includes(includes), `'${error.message}' lacks '${includes}'`);
    return error;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

const FIXTURE = new URL("./fixtures/worker.ts", import.meta.url);

function start(count = 1, offset = 0): Promise<WorkerPool<FixtureMethods>> {
  return createPool<FixtureMethods>(FIXTURE, { offset }, count, { context: "Cannot test" });
}

Deno.test("createPool: every worker gets the init payload; concurrent requests on one worker never mix", async () => {
  const pool = await start(1, 100);
  try {
    // Later requests are faster, so a reply matched by arrival would land on the wrong one.
    const values = Array.from({ length: 20 }, (_, i) => i);
    const replies = await Promise.all(
      values.map((value) => pool.request("echo", { value, delay: 20 - value }, { worker: 0 })),
    );
    assert.deepEqual(replies, values.map((v) => v + 100));
  } finally {
    pool.close();
  }
});

Deno.test("request: a handler's error rejects with its message and the worker's stack", async () => {
  const pool = await start(2);
  try {
    const error = await rejection(() => pool.request("fail", "no such thing", { worker: 1 }));
    assert.deepEqual(error.name, "RangeError");
    assert.deepEqual(error.message, "Cannot test: no such thing");
    const source = await Deno.readTextFile(FIXTURE);
    const line = source.split("\n").findIndex((l) => l.includes("throw new RangeError")) + 1;
    assert.ok(error.stack?.includes(`fixtures/worker.ts:${line}:`), error.stack);
    // The worker lives on.
    assert.deepEqual(await pool.request("echo", { value: 7, delay: 0 }, { worker: 1 }), 7);
  } finally {
    pool.close();
  }
});

Deno.test("request: a worker that dies of an uncaught error rejects its pending requests", async () => {
  const pool = await start(2);
  try {
    const queued = pool.request("echo", { value: 1, delay: 0 }, { worker: 0 });
    const crash = pool.request("crash", undefined, { worker: 0 });
    assert.deepEqual(await queued, 1);
    const behind = pool.request("echo", { value: 2, delay: 0 }, { worker: 0 });
    const error = await rejection(() => crash, Error, "Cannot test: a worker failed");
    assert.ok(error.message.includes("crashed on purpose"), error.message);
    await rejection(() => behind, Error, "a worker failed");
    await rejection(() => pool.request("echo", { value: 3, delay: 0 }, { worker: 0 }));
    assert.deepEqual(await pool.request("echo", { value: 4, delay: 0 }, { worker: 1 }), 4);
  } finally {
    pool.close();
  }
});

Deno.test("request: a worker that calls self.close() rejects its pending requests", async () => {
  const pool = await start(1);
  try {
    const quit = pool.request("quit", undefined);
    const behind = pool.request("echo", { value: 2, delay: 0 });
    await rejection(() => quit, Error, "Cannot test: a worker closed itself");
    await rejection(() => behind, Error, "a worker closed itself");
  } finally {
    pool.close();
  }
});

Deno.test("request: an aborted request rejects with an AbortError and the worker stays usable", async () => {
  const pool = await start(1, 10);
  try {
    const controller = new AbortController();
    const waiting = pool.request("wait", undefined, { signal: controller.signal });
    const queued = pool.request("echo", { value: 5, delay: 0 }, { signal: controller.signal });
    controller.abort();
    const error = await rejection(() => waiting);
    assert.deepEqual((error as Error).name, "AbortError");
    await rejection(() => queued, DOMException);
    // The worker saw the cancellation (its handler returned), so it serves the next request.
    assert.deepEqual(await pool.request("echo", { value: 1, delay: 0 }), 11);
    await rejection(
      () => pool.request("echo", { value: 1, delay: 0 }, { signal: AbortSignal.abort() }),
      DOMException,
    );
  } finally {
    pool.close();
  }
});

Deno.test("close: rejects pending requests and leaves no worker running", async () => {
  const pool = await start(3);
  const waiting = pool.request("wait", undefined, { worker: 2 });
  pool.close();
  await rejection(() => waiting, Error, "Cannot test: the pool is closed");
  await rejection(() => pool.request("echo", { value: 1, delay: 0 }), Error, "closed");
  pool.close();
});

Deno.test("createPool: a failing init terminates every worker and throws", async () => {
  await rejection(
    () =>
      createPool<FixtureMethods>(
        new URL("./fixtures/no_init_worker.ts", import.meta.url),
        {
          offset: 0,
        },
        2,
        { context: "Cannot start" },
      ),
    Error,
    "Cannot start: The worker has no method 'init'",
  );
});

async function checkMap(pool: JobPool<number, number, number, number>, offset: number) {
  const jobs = Array.from({ length: 11 }, (_, i) => i);
  const seen: number[] = [];
  const results = await pool.map(jobs, { shared: 3, onProgress: (job) => seen.push(job) });
  assert.deepEqual(results, jobs.map((j) => j * 3 + offset));
  assert.deepEqual(seen.sort((a, b) => a - b), jobs);
  const streamed: [number, number][] = [];
  await pool.stream(jobs, async (result, i) => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    streamed.push([i, result]);
  }, { shared: 2, ahead: 2 });
  assert.deepEqual(streamed, jobs.map((j) => [j, j * 2 + offset]));
  assert.deepEqual(await pool.map([], { shared: 1 }), []);
}

Deno.test("workerJobs: map and stream give results in job order with per-job progress", async () => {
  for (const dealing of ["round-robin", "next-idle"] as const) {
    const pool = workerJobs<number, number, number, number>(await start(3, 1000), "run", dealing);
    try {
      assert.deepEqual(pool.size, 3);
      await checkMap(pool, 1000);
    } finally {
      pool.close();
    }
  }
});

Deno.test("workerJobs: round-robin deals job i to worker i mod W", async () => {
  const workers = await createPool<FixtureMethods>(FIXTURE, (k) => ({ offset: 100 * k }), 3);
  const pool = workerJobs<number, number, number, number>(workers, "run", "round-robin");
  try {
    const results = await pool.map([0, 1, 2, 3, 4, 5, 6], { shared: 1 });
    assert.deepEqual(results, [0, 101, 202, 3, 104, 205, 6]);
  } finally {
    pool.close();
  }
});

Deno.test("workerJobs: an abort rejects the call with an AbortError", async () => {
  const pool = workerJobs<number, number, number, number>(await start(2), "run", "next-idle");
  try {
    await rejection(
      () => pool.stream([1, 2, 3], () => {}, { shared: 1, signal: AbortSignal.abort() }),
      DOMException,
    );
    const controller = new AbortController();
    await rejection(
      () =>
        pool.stream([1, 2, 3, 4], (_, i) => i === 1 ? controller.abort() : undefined, {
          shared: 1,
          signal: controller.signal,
        }),
      DOMException,
    );
  } finally {
    pool.close();
  }
});

Deno.test("inThread: the same interface in the calling thread", async () => {
  let closed = 0;
  const pool = inThread<number, number, number, number>(
    (jobs, { shared, onProgress }) =>
      jobs.map((job) => {
        onProgress?.(job);
        return job * shared + 5;
      }),
    () => closed++,
  );
  await checkMap(pool, 5);
  pool.close();
  pool.close();
  assert.deepEqual(closed, 1);
  await rejection(() => pool.map([1], { shared: 1 }), Error, "closed");
});
