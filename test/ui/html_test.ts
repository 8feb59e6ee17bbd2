import assert from "node:assert/strict";
import { escapeHtml, formatNumber, inlineScript, jsonForScript } from "../../src/ui/html.ts";

Deno.test("escapeHtml() turns markup from a run into text", () => {
  assert.equal(
    escapeHtml(`<img src=x onerror=alert(1)> & "q" 'a'`),
    "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot; &#39;a&#39;",
  );
  assert.equal(escapeHtml(undefined), "");
  assert.equal(escapeHtml(3.5), "3.5");
  assert.equal(escapeHtml({ a: "<b>" }), "{&quot;a&quot;:&quot;&lt;b&gt;&quot;}");
});

Deno.test("jsonForScript() keeps data from closing its script element", () => {
  const text = jsonForScript({ log: "</script><script>alert(1)</script>", sep: "\u2028" });
  assert.equal(text.includes("<"), false);
  assert.equal(text.includes("\u2028"), false);
  assert.deepEqual(JSON.parse(text), { log: "</script><script>alert(1)</script>", sep: "\u2028" });
});

Deno.test("inlineScript() escapes a closing script tag inside source", () => {
  assert.equal(inlineScript('const s = "</script>";'), 'const s = "<\\/script>";');
  assert.equal(inlineScript("a </SCRIPT b"), "a <\\/SCRIPT b");
});

Deno.test("formatNumber() prints integers whole and others to 6 digits", () => {
  assert.equal(formatNumber(40), "40");
  assert.equal(formatNumber(554.6641235351562), "554.664");
  assert.equal(formatNumber(0.00001234), "1.2340e-5");
});
