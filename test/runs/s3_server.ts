/**
 * Test helper: serves an S3-compatible API (s3rver) on 127.0.0.1 with one bucket, `ditto`.
 * Prints `port <n>` on stdout once listening; the test stops it by pid.
 *
 * ```sh
 * deno run -A test/runs/s3_server.ts <data-dir>
 * ```
 *
 * @module
 */

import S3rver from "s3rver";

const dir = Deno.args[0];
if (!dir) throw new TypeError("Cannot start s3rver: expected a data folder");
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  directory: dir,
  silent: true,
  configureBuckets: [{ name: "ditto", configs: [] }],
});
const info = await server.run();
console.log(`port ${info.port}`);
