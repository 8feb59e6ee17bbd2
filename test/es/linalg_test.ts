import { assert, assertEquals, assertThrows } from "./assert.ts";
import { decodeFloat64, encodeFloat64, symmetricEigen } from "../../src/es/mod.ts";
import { Random } from "../../src/random/mod.ts";

function randomSpd(n: number, seed: number): Float64Array {
  const rng = Random.splitMix(seed);
  const g = Float64Array.from({ length: n * n }, () => rng.normal());
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = i === j ? 1e-3 : 0;
      for (let k = 0; k < n; k++) s += g[i * n + k] * g[j * n + k];
      a[i * n + j] = s;
    }
  }
  return a;
}

Deno.test("symmetricEigen() returns ascending eigenvalues and orthonormal eigenvectors", () => {
  const n = 30;
  const a = randomSpd(n, 3);
  const { values, vectors } = symmetricEigen(a, n);
  for (let i = 1; i < n; i++) assert(values[i - 1] <= values[i]);
  let maxErr = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let reconstructed = 0, gram = 0;
      for (let k = 0; k < n; k++) {
        reconstructed += vectors[i * n + k] * values[k] * vectors[j * n + k];
        gram += vectors[k * n + i] * vectors[k * n + j];
      }
      maxErr = Math.max(maxErr, Math.abs(reconstructed - a[i * n + j]) / values[n - 1]);
      maxErr = Math.max(maxErr, Math.abs(gram - (i === j ? 1 : 0)));
    }
  }
  assert(maxErr < 1e-12, `max error ${maxErr}`);
});

Deno.test("symmetricEigen() matches the closed form of a 2 x 2 matrix and reads the lower triangle", () => {
  // [[2, 1], [1, 2]] has eigenvalues 1 and 3; the upper entry is deliberately stale.
  const { values, vectors } = symmetricEigen(Float64Array.of(2, 99, 1, 2), 2);
  assert(Math.abs(values[0] - 1) < 1e-15 && Math.abs(values[1] - 3) < 1e-15);
  assert(Math.abs(Math.abs(vectors[0 * 2 + 1]) - Math.SQRT1_2) < 1e-15);
  assert(Math.abs(vectors[0 * 2 + 1] - vectors[1 * 2 + 1]) < 1e-15, "(1, 1) / sqrt 2 for 3");
  assertThrows(() => symmetricEigen(new Float64Array(3), 2), RangeError, "2 x 2");
  assertThrows(() => symmetricEigen(Float64Array.of(NaN, 0, 0, 1), 2), RangeError, "NaN");
});

Deno.test("encodeFloat64() and decodeFloat64() round-trip every bit, infinities and -0 included", () => {
  const values = Float64Array.of(
    0,
    -0,
    1 / 3,
    -Infinity,
    Infinity,
    NaN,
    5e-324,
    1.7976931348623157e308,
  );
  const text = encodeFloat64(values);
  assertEquals(typeof text, "string");
  const back = decodeFloat64(text, values.length);
  assertEquals(new Uint8Array(back.buffer), new Uint8Array(values.buffer));
  assertEquals(decodeFloat64(encodeFloat64([])).length, 0);
  const large = Float64Array.from({ length: 100_000 }, (_, i) => Math.sin(i));
  assertEquals(decodeFloat64(encodeFloat64(large)), large);
  assertThrows(() => decodeFloat64(text, 3), TypeError, "bytes");
  assertThrows(() => decodeFloat64("not base64!"), TypeError, "base64");
});
