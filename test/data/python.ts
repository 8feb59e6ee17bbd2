/**
 * Test helper: runs a Python 3 script with NumPy in a real subprocess.
 *
 * @module
 */

/** Runs `python3 -c script args...` and returns its stdout; throws with stderr on failure. */
export async function python(script: string, args: string[] = []): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("python3", {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`python3 failed (${code}):\n${err}`);
  return new TextDecoder().decode(stdout);
}
