/**
 * Example TypeScript stage: reads numbers, makes `passes` noisy passes over them (seeded RNG),
 * logs a metric per pass, checkpoints after each pass and writes a JSON summary.
 *
 * @module
 */

import { defineStage } from "../../src/runner/stage.ts";

/** Parameters of the stage. */
export interface StatsParams {
  /** Passes over the data. */
  passes: number;
  /** Standard deviation of the noise added per pass. */
  noise: number;
  /** Milliseconds to wait per pass (to watch progress and interruption). */
  delay_ms: number;
}

export default defineStage<StatsParams>({
  description: "Mean of the input rows with seeded noise, one metric per pass",
  params: {
    passes: { type: "integer", default: 3, min: 1, description: "passes over the data" },
    noise: { type: "number", default: 0.1, min: 0, description: "noise std per pass" },
    delay_ms: { type: "integer", default: 0, min: 0, description: "wait per pass (ms)" },
  },
  inputs: { rows: { description: "a text file with one number per line" } },
  outputs: ["summary.json"],
  async run(ctx) {
    const rows = (await Deno.readTextFile(ctx.inputs.rows)).trim().split("\n").map(Number);
    const mean = rows.reduce((a, b) => a + b, 0) / rows.length;
    const state = await ctx.checkpoints.load<{ pass: number; estimates: number[] }>("state") ??
      { pass: 0, estimates: [] };
    const resumedFrom = state.pass;
    if (state.pass > 0) ctx.log(`resuming from checkpoint at pass ${state.pass}`);
    ctx.progress.total(ctx.params.passes, "passes");
    ctx.progress.advance(state.pass);
    for (let pass = state.pass; pass < ctx.params.passes; pass++) {
      if (ctx.signal.aborted) return;
      if (ctx.params.delay_ms > 0) await new Promise((r) => setTimeout(r, ctx.params.delay_ms));
      // Draws are replayed so a resumed run gives the same numbers as an uninterrupted one.
      const rng = ctx.rng.fork(`pass:${pass}`);
      const estimate = mean + ctx.params.noise * rng.normal();
      state.estimates.push(estimate);
      state.pass = pass + 1;
      ctx.metrics.log(pass, { estimate });
      await ctx.checkpoints.save("state", state);
      ctx.progress.advance(1);
    }
    ctx.report({ rows: rows.length, resumed_from_pass: resumedFrom });
    await Deno.writeTextFile(
      ctx.output("summary.json"),
      JSON.stringify({ mean, estimates: state.estimates }, null, 2) + "\n",
    );
  },
});
