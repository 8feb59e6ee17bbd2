/**
 * The planner: a topological order of the stage graph, declaration order where free.
 *
 * @module
 */

/** A node of the stage graph: its name and the names it needs. */
export interface PlanNode {
  /** The stage's name. */
  name: string;
  /** Names of the stages it needs (each a key of the graph). */
  needs: readonly string[];
}

/**
 * Orders stages so every stage comes after its needs, keeping declaration order where free:
 * a depth-first walk in declaration order that places each stage after its needs, visited in
 * the order listed.
 *
 * @param stages Stages by name, in declaration order.
 * @param onCycle Called with one cycle (first name repeated at the end) when there is one.
 * @returns The ordered stages, or undefined on a cycle.
 */
export function topologicalOrder<T extends PlanNode>(
  stages: ReadonlyMap<string, T>,
  onCycle: (cycle: string[]) => void,
): T[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const order: T[] = [];
  const stack: string[] = [];
  const visit = (name: string): boolean => {
    const s = state.get(name);
    if (s === "done") return true;
    if (s === "visiting") {
      onCycle([...stack.slice(stack.indexOf(name)), name]);
      return false;
    }
    state.set(name, "visiting");
    stack.push(name);
    const stage = stages.get(name)!;
    for (const need of stage.needs) {
      if (!visit(need)) return false;
    }
    stack.pop();
    state.set(name, "done");
    order.push(stage);
    return true;
  };
  for (const name of stages.keys()) {
    if (!visit(name)) return undefined;
  }
  return order;
}
