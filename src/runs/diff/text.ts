/**
 * The terminal rendering of a {@linkcode RunDiff}: one section per group, only non-empty
 * sections.
 *
 * @module
 */

import type { ContentHash } from "../../runner/hash.ts";
import type { MetricSide, RunDiff, RunSide } from "./compute.ts";

function show(value: unknown): string {
  if (value === undefined) return "(absent)";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The first 12 characters of a hash, or `-`. */
export function short(hash: string | null | undefined): string {
  return hash ? hash.slice(0, 12) : "-";
}

/** Formats a byte count (B, KiB, MiB, GiB). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** A number for people: integers as they are, others to 6 significant digits. */
export function num(v: number | undefined | null): string {
  if (v === undefined || v === null) return "-";
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? v.toExponential(4) : v.toPrecision(6);
}

/**
 * Formats a diff for people: one section per group, only non-empty sections.
 *
 * @param diff The diff.
 * @returns Text lines.
 */
export function formatDiff(diff: RunDiff): string {
  const label = (s: RunSide) =>
    `${s.run}${s.status === "succeeded" ? "" : ` (${s.status})`}${
      s.resumedFrom ? ` (resumed ${s.resumedFrom})` : ""
    }`;
  const lines: string[] = [`diff ${label(diff.a)} -> ${label(diff.b)}`];
  const section = (title: string, rows: string[]) => {
    if (rows.length === 0) return;
    lines.push("", title);
    for (const r of rows) lines.push(`  ${r}`);
  };
  const mark = (c: { changed: boolean }) => c.changed ? "" : "  (same)";
  const pw = Math.max(8, ...diff.params.map((p) => p.path.length));
  section(
    "parameters",
    diff.params.map((p) => `${p.path.padEnd(pw)}  ${show(p.a)} -> ${show(p.b)}${mark(p)}`),
  );
  if (diff.seed.changed) section("seed", [`${show(diff.seed.a)} -> ${show(diff.seed.b)}`]);
  const code: string[] = [];
  for (const c of diff.code) {
    code.push(`${c.stage}${c.changed ? "" : "  (same)"}`);
    if (c.command) code.push(`  command  ${show(c.command.a)}`, `        -> ${show(c.command.b)}`);
    for (const f of c.files) code.push(`  ${f.path}  ${short(f.a)} -> ${short(f.b)}${mark(f)}`);
    for (const p of c.packages) code.push(`  ${show(p.a)} -> ${show(p.b)}${mark(p)}`);
  }
  section("code", code);
  section("git", diff.git.map((g) => `${g.path.padEnd(8)} ${show(g.a)} -> ${show(g.b)}${mark(g)}`));
  const ew = Math.max(8, ...diff.environment.map((e) => e.path.length));
  section(
    "environment",
    diff.environment.map((e) => `${e.path.padEnd(ew)}  ${show(e.a)} -> ${show(e.b)}${mark(e)}`),
  );
  const sw = Math.max(6, ...diff.stages.map((s) => s.stage.length));
  section(
    "stages",
    diff.stages.map((s) =>
      `${s.stage.padEnd(sw)}  key ${short(s.a?.key)} -> ${short(s.b?.key)}${
        s.keyChanged ? "" : " (same key)"
      }  ${s.a?.status ?? "(absent)"} -> ${s.b?.status ?? "(absent)"}${
        // Why the key changed: B's reason for running (as the JSON's `b.reason`).
        s.keyChanged && s.b?.reason && s.b.reason !== "cached" ? `  why: ${s.b.reason}` : ""}`
    ),
  );
  const mw = Math.max(6, ...diff.metrics.map((m) => `${m.stage}.${m.metric}`.length));
  section(
    "metrics (final, best; curve over steps)",
    diff.metrics.map((m) => {
      const side = (s?: MetricSide) =>
        s ? `${num(s.final)} (best ${num(s.best)}) ${s.spark}` : "(absent)";
      const delta = m.delta === null ? "" : `  delta ${m.delta >= 0 ? "+" : ""}${num(m.delta)}`;
      return `${`${m.stage}.${m.metric}`.padEnd(mw)}  ${side(m.a)} -> ${side(m.b)}${delta}`;
    }),
  );
  const arts: string[] = [];
  for (const x of diff.artifacts) {
    const side = (c?: ContentHash) => c ? `${short(c.hash)} ${formatBytes(c.bytes)}` : "(absent)";
    arts.push(`${x.stage}.${x.output}  ${side(x.a)} -> ${side(x.b)}${mark(x)}`);
    for (const f of x.files.slice(0, 20)) {
      arts.push(
        `  ${f.path}  ${f.a ? formatBytes(f.a.bytes) : "(absent)"} -> ${
          f.b ? formatBytes(f.b.bytes) : "(absent)"
        }`,
      );
    }
    if (x.files.length > 20) arts.push(`  ... ${x.files.length - 20} more files differ`);
  }
  section("artifacts", arts);
  if (diff.identical) lines.push("", "no differences");
  return lines.join("\n");
}
