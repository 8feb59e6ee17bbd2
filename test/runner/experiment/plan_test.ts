import { type PlanNode, topologicalOrder } from "../../../src/runner/experiment/mod.ts";
import { assert, assertEquals } from "../_helpers.ts";

/** A graph from `name: needs` pairs, in declaration order. */
function graph(spec: [string, string[]][]): Map<string, PlanNode> {
  return new Map(spec.map(([name, needs]) => [name, { name, needs }]));
}

/** The order's names, and the cycles reported on the way. */
function plan(spec: [string, string[]][]): { order?: string[]; cycles: string[][] } {
  const cycles: string[][] = [];
  const order = topologicalOrder(graph(spec), (cycle) => cycles.push(cycle));
  return { order: order?.map((s) => s.name), cycles };
}

Deno.test("topologicalOrder() keeps declaration order where the graph leaves it free", () => {
  assertEquals(plan([["a", []], ["b", []], ["c", []]]), { order: ["a", "b", "c"], cycles: [] });
  assertEquals(plan([["a", []], ["x", []], ["b", ["a"]]]), {
    order: ["a", "x", "b"],
    cycles: [],
  });
  // A stage declared before its need moves after it, and before later free stages.
  assertEquals(plan([["b", ["a"]], ["x", []], ["a", []]]), {
    order: ["a", "b", "x"],
    cycles: [],
  });
});

Deno.test("topologicalOrder() places every stage after its needs, visited in the order listed", () => {
  assertEquals(plan([["c", ["b"]], ["b", ["a"]], ["a", []]]), {
    order: ["a", "b", "c"],
    cycles: [],
  });
  const diamond = (needs: string[]): [string, string[]][] => [
    ["d", needs],
    ["c", ["a"]],
    ["b", ["a"]],
    ["a", []],
  ];
  assertEquals(plan(diamond(["b", "c"])).order, ["a", "b", "c", "d"]);
  assertEquals(plan(diamond(["c", "b"])).order, ["a", "c", "b", "d"]);
});

Deno.test("topologicalOrder() returns the graph's own nodes", () => {
  const stages = graph([["b", ["a"]], ["a", []]]);
  const order = topologicalOrder(stages, () => {
    throw new Error("no cycle expected");
  });
  assert(order !== undefined);
  assert(order[0] === stages.get("a") && order[1] === stages.get("b"));
});

Deno.test("topologicalOrder() reports one cycle, first name repeated, and returns undefined", () => {
  assertEquals(plan([["a", ["c"]], ["b", ["a"]], ["c", ["b"]]]), {
    order: undefined,
    cycles: [["a", "c", "b", "a"]],
  });
  assertEquals(plan([["a", ["a"]]]), { order: undefined, cycles: [["a", "a"]] });
  // The cycle starts where the walk enters it, not at the first declared stage.
  assertEquals(plan([["x", []], ["y", ["b"]], ["b", ["c"]], ["c", ["b"]]]), {
    order: undefined,
    cycles: [["b", "c", "b"]],
  });
});
