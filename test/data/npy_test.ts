import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createNpyWriter,
  decodeNpy,
  encodeNpy,
  type NpyArray,
  openNpy,
  readNpy,
  writeNpy,
} from "../../src/data/npy/mod.ts";
import { fromFloat16Bits, toFloat16Bits } from "../../src/data/float16.ts";
import { python } from "./python.ts";

function fixtures(): Record<string, NpyArray> {
  const f8 = new Float64Array(2 * 3 * 4);
  for (let i = 0; i < f8.length; i++) f8[i] = Math.sin(i) * 1e3 + i / 7;
  return {
    u1: { dtype: "u1", shape: [2, 3, 4], data: Uint8Array.from({ length: 24 }, (_, i) => i * 11) },
    b1: { dtype: "b1", shape: [5], data: Uint8Array.from([1, 0, 0, 1, 1]) },
    i4: {
      dtype: "i4",
      shape: [3, 2],
      data: Int32Array.from([-2147483648, -1, 0, 1, 7, 2147483647]),
    },
    f2: { dtype: "f2", shape: [4], data: Float32Array.from([0.5, -65504, 0.0999755859375, 1e-7]) },
    f4: { dtype: "f4", shape: [2, 2], data: Float32Array.from([Math.PI, -0, Infinity, 1e-40]) },
    f8: { dtype: "f8", shape: [2, 3, 4], data: f8 },
    scalar: { dtype: "f8", shape: [], data: Float64Array.from([42.25]) },
    empty: { dtype: "f4", shape: [0, 3], data: new Float32Array(0) },
  };
}

Deno.test("writeNpy() writes files numpy.load reads back with the same dtype, shape and values", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const arrays = fixtures();
    for (const [name, array] of Object.entries(arrays)) {
      await writeNpy(join(dir, `${name}.npy`), array);
    }
    const out = await python(
      `
import sys, json, os, numpy as np
res = {}
for f in sorted(os.listdir(sys.argv[1])):
    a = np.load(os.path.join(sys.argv[1], f))
    assert a.flags['C_CONTIGUOUS']
    vals = [None if not np.isfinite(v) else float(v) for v in a.astype(np.float64).ravel()]
    res[f[:-4]] = {"dtype": a.dtype.str, "shape": list(a.shape), "values": vals,
                   "inf": [bool(np.isinf(v)) for v in a.astype(np.float64).ravel()]}
print(json.dumps(res))
`,
      [dir],
    );
    const loaded = JSON.parse(out);
    const descr: Record<string, string> = {
      u1: "|u1",
      b1: "|b1",
      i4: "<i4",
      f2: "<f2",
      f4: "<f4",
      f8: "<f8",
    };
    for (const [name, array] of Object.entries(arrays)) {
      assert.deepEqual(loaded[name].dtype, descr[array.dtype], name);
      assert.deepEqual(loaded[name].shape, array.shape, name);
      const expected = Array.from(
        array.data as ArrayLike<number>,
        (v) =>
          Number.isFinite(v)
            ? (array.dtype === "f2" ? fromFloat16Bits(toFloat16Bits(v)) : v)
            : null,
      );
      assert.deepEqual(loaded[name].values, expected, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readNpy() reads files numpy wrote, in format versions 1.0 and 2.0", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await python(
      `
import sys, os, numpy as np
d = sys.argv[1]
np.save(os.path.join(d, "u1.npy"), np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
np.save(os.path.join(d, "b1.npy"), np.array([True, False, True]))
np.save(os.path.join(d, "i4.npy"), np.array([[-5, 6], [2**31 - 1, -2**31]], dtype=np.int32))
np.save(os.path.join(d, "f2.npy"), np.array([1.5, -2.25, 65504, 6e-8], dtype=np.float16))
np.save(os.path.join(d, "f4.npy"), np.linspace(-1, 1, 7, dtype=np.float32))
np.save(os.path.join(d, "f8.npy"), np.array(3.5))
with open(os.path.join(d, "v2.npy"), "wb") as f:
    np.lib.format.write_array(f, np.arange(6, dtype=np.float32).reshape(2, 3), version=(2, 0))
np.save(os.path.join(d, "fortran.npy"), np.asfortranarray(np.ones((2, 3))))
np.save(os.path.join(d, "big.npy"), np.arange(3, dtype='>f4'))
np.save(os.path.join(d, "i8.npy"), np.arange(3, dtype=np.int64))
`,
      [dir],
    );
    const u1 = await readNpy(join(dir, "u1.npy"));
    assert.deepEqual([u1.dtype, u1.shape], ["u1", [3, 4, 5]]);
    assert.deepEqual(Array.from(u1.data), Array.from({ length: 60 }, (_, i) => i));
    const b1 = await readNpy(join(dir, "b1.npy"));
    assert.deepEqual([b1.dtype, Array.from(b1.data)], ["b1", [1, 0, 1]]);
    const i4 = await readNpy(join(dir, "i4.npy"));
    assert.deepEqual([i4.shape, Array.from(i4.data)], [[2, 2], [-5, 6, 2 ** 31 - 1, -(2 ** 31)]]);
    const f2 = await readNpy(join(dir, "f2.npy"));
    assert.deepEqual(Array.from(f2.data), [1.5, -2.25, 65504, 5.960464477539063e-8]);
    const f4 = await readNpy(join(dir, "f4.npy"));
    assert.deepEqual(
      Array.from(f4.data),
      Array.from(Float32Array.from([-1, -2 / 3, -1 / 3, 0, 1 / 3, 2 / 3, 1])),
    );
    const f8 = await readNpy(join(dir, "f8.npy"));
    assert.deepEqual([f8.shape, Array.from(f8.data)], [[], [3.5]]);
    const v2 = await readNpy(join(dir, "v2.npy"));
    assert.deepEqual([v2.shape, Array.from(v2.data)], [[2, 3], [0, 1, 2, 3, 4, 5]]);
    await assert.rejects(() => readNpy(join(dir, "fortran.npy")), {
      name: "RangeError",
      message: /Fortran/,
    });
    await assert.rejects(() => readNpy(join(dir, "big.npy")), {
      name: "RangeError",
      message: /big-endian/,
    });
    await assert.rejects(() => readNpy(join(dir, "i8.npy")), {
      name: "TypeError",
      message: /'<i8' is not supported/,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NpyWriter appends rows and fixes the shape in the header at close", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "rows.npy");
    const writer = await createNpyWriter(path, { dtype: "f4", rowShape: [2, 3] });
    // Until closed, the file is a valid array of 0 rows.
    assert.deepEqual((await readNpy(path)).shape, [0, 2, 3]);
    const rows = Float32Array.from({ length: 6 * 7 }, (_, i) => i * 0.5);
    await writer.append(rows.subarray(0, 6));
    const pending = writer.append(rows.subarray(6, 30)); // not awaited: appends are serialised
    await writer.append(rows.subarray(30));
    await pending;
    await assert.rejects(() => writer.append(new Float32Array(4)), {
      name: "RangeError",
      message: /whole rows/,
    });
    await assert.rejects(() => writer.append(new Uint8Array(6) as never), {
      name: "TypeError",
      message: /Float32Array/,
    });
    assert.deepEqual(writer.rows, 7);
    await writer.close();
    await assert.rejects(() => writer.append(new Float32Array(6)), { message: /closed/ });
    const out = await python(
      `
import sys, numpy as np
a = np.load(sys.argv[1])
print(a.dtype.str, a.shape, float(a.sum()), (len(open(sys.argv[1], "rb").read()) - a.nbytes) % 64)
`,
      [path],
    );
    const sum = Array.from(rows).reduce((a, b) => a + b, 0);
    assert.deepEqual(out.trim(), `<f4 (7, 2, 3) ${sum.toFixed(1)} 0`);
    const back = await readNpy(path);
    assert.deepEqual(back.shape, [7, 2, 3]);
    assert.deepEqual(back.data, rows);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("NpyReader reads row ranges and scattered rows from disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "frames.npy");
    await python(
      `
import sys, numpy as np
np.save(sys.argv[1], (np.arange(50 * 4 * 3) % 251).astype(np.uint8).reshape(50, 4, 3))
`,
      [path],
    );
    const all = (await readNpy(path)).data;
    const reader = await openNpy(path);
    try {
      assert.deepEqual([reader.dtype, reader.rows, reader.rowShape, reader.rowSize], [
        "u1",
        50,
        [4, 3],
        12,
      ]);
      assert.deepEqual(await reader.readRows(10, 5), all.slice(120, 180));
      assert.deepEqual(await reader.readRows(49, 1), all.slice(588, 600));
      assert.deepEqual((await reader.readRows(50, 0)).length, 0);
      const indices = [40, 3, 4, 4, 0, 49, 17];
      const scattered = await reader.readRowsAt(indices);
      indices.forEach((r, k) => {
        assert.deepEqual(
          scattered.slice(k * 12, (k + 1) * 12),
          all.slice(r * 12, (r + 1) * 12),
          `row ${r}`,
        );
      });
      await assert.rejects(() => reader.readRows(45, 6), {
        name: "RangeError",
        message: /it has 50 rows/,
      });
      await assert.rejects(() => reader.readRowsAt([1, 50]), {
        name: "RangeError",
        message: /row 50/,
      });
    } finally {
      reader.close();
    }
    // A file cut short is reported when opened, not read as garbage.
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 1));
    await assert.rejects(() => openNpy(path), { name: "RangeError", message: /needs/ });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encodeNpy() rejects data that does not match the dtype or shape", () => {
  assert.throws(() => encodeNpy({ dtype: "f4", shape: [2, 2], data: new Float32Array(3) }), {
    name: "RangeError",
    message: /needs 4 elements/,
  });
  assert.throws(() => encodeNpy({ dtype: "i4", shape: [2], data: new Float32Array(2) as never }), {
    name: "TypeError",
    message: /Int32Array/,
  });
  assert.throws(() => decodeNpy(new Uint8Array(20)), { name: "SyntaxError", message: /magic/ });
  const bytes = encodeNpy({ dtype: "b1", shape: [3], data: Uint8Array.from([0, 2, 255]) });
  assert.deepEqual(Array.from(decodeNpy(bytes).data), [0, 1, 1]);
});
