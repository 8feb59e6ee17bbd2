/**
 * Test helper: runs a Python 3 script with NumPy in a real subprocess, to check that the files
 * ditto writes are the ones the field's own reader (`numpy.load`) sees.
 *
 * The interpreter is the first of `$DITTO_PYTHON`, `python3` and `/usr/bin/python3` that imports
 * NumPy (a pyenv `python3` may shadow Debian's, which has `python3-numpy`). With none, the call
 * fails with the install line the README gives rather than with Python's traceback.
 *
 * @module
 */

let interpreter: Promise<string> | undefined;

async function importsNumpy(exe: string): Promise<boolean> {
  try {
    const { code } = await new Deno.Command(exe, {
      args: ["-c", "import numpy"],
      stdout: "null",
      stderr: "null",
    }).output();
    return code === 0;
  } catch {
    return false; // not installed: try the next candidate
  }
}

async function findInterpreter(): Promise<string> {
  const candidates = [Deno.env.get("DITTO_PYTHON"), "python3", "/usr/bin/python3"];
  for (const exe of candidates) if (exe && await importsNumpy(exe)) return exe;
  throw new Error(
    "these tests need python3 with NumPy: none of $DITTO_PYTHON, python3, /usr/bin/python3 " +
      "imports numpy (Debian: apt-get install -y python3-numpy)",
  );
}

/** Runs `python3 -c script args...` and returns its stdout; throws with stderr on failure. */
export async function python(script: string, args: string[] = []): Promise<string> {
  const exe = await (interpreter ??= findInterpreter());
  const { code, stdout, stderr } = await new Deno.Command(exe, {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`${exe} failed (${code}):\n${err}`);
  return new TextDecoder().decode(stdout);
}
