import { parseTemplate, renderTemplate, shellQuote } from "../../src/runner/placeholders.ts";
import { assertEquals } from "./_helpers.ts";

Deno.test("parseTemplate() splits references and keeps $${...} as literal text", () => {
  assertEquals(parseTemplate("a ${params.n} b $${HOME} ${ seed }"), [
    { text: "a " },
    { ref: "params.n", index: 2 },
    { text: " b " },
    { text: "${HOME}" },
    { text: " " },
    { ref: "seed", index: 25 },
  ]);
  const rendered = renderTemplate(parseTemplate("x=${a} y=$${b}"), (ref) => ref.toUpperCase());
  assertEquals(rendered, "x=A y=${b}");
});

Deno.test("shellQuote() leaves plain paths alone and quotes the rest", () => {
  assertEquals(shellQuote("/a/b-c_d.txt"), "/a/b-c_d.txt");
  assertEquals(shellQuote("/a b/it's"), `'/a b/it'"'"'s'`);
});
