import assert from "node:assert/strict";
import { parseMetricLines, readPage } from "../../src/ui/data.ts";

Deno.test("readPage() reads a page of a file, whole lines when asked, or its tail", () => {
  const file = Deno.makeTempFileSync();
  try {
    Deno.writeTextFileSync(file, "line one\nline two\nline three\n");
    assert.deepEqual(readPage(file, 0, 12, true), {
      text: "line one\n",
      offset: 0,
      next: 9,
      size: 29,
    });
    assert.equal(readPage(file, 9, 100, true)?.text, "line two\nline three\n");
    assert.equal(readPage(file, 4, 4)?.text, " one");
    // A tail starts at a line boundary.
    assert.deepEqual(readPage(file, -15, 15), {
      text: "line three\n",
      offset: 18,
      next: 29,
      size: 29,
    });
    assert.equal(readPage(file, -100, 100)?.text, "line one\nline two\nline three\n");
    assert.equal(readPage(`${file}.missing`, 0), undefined);
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("parseMetricLines() keeps numeric values by step and skips bad lines", () => {
  const series = parseMetricLines(
    '{"step": 3, "loss": 0.5, "name": "x"}\nnot json\n{"loss": 0.25, "acc": "n/a"}\n{"acc": 1}\n',
    10,
  );
  assert.deepEqual(series, { loss: [[3, 0.5], [11, 0.25]], acc: [[12, 1]] });
});
