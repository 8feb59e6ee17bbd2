/**
 * Escaping for the pages: every string that came from a run (stage names, parameters, log
 * lines, metric names) passes through one of these before it reaches HTML.
 *
 * @module
 */

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for an HTML text node or a quoted attribute value.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * escapeHtml("<img src=x>"); // "&lt;img src=x&gt;"
 * ```
 *
 * @param value Any value; non-strings are formatted first (`undefined` becomes "").
 * @returns Text safe inside elements and quoted attributes.
 */
export function escapeHtml(value: unknown): string {
  const text = value === undefined || value === null
    ? ""
    : typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : JSON.stringify(value);
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/**
 * Serialises data for a `<script type="application/json">` block: `<`, `>`, `&` and the line
 * separators become `\u` escapes, so no string inside can close the element.
 *
 * @param data JSON-serialisable data.
 * @returns JSON text safe inside a script element.
 */
export function jsonForScript(data: unknown): string {
  return JSON.stringify(data).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Makes a script's source safe to inline in a `<script>` element (the report): a literal
 * `</script` inside a string or comment would end the element early.
 *
 * @param source JavaScript source.
 * @returns The source with `</script` written as `<\/script`.
 */
export function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, "<\\/$1");
}

/** Formats a number for tables: integers as is, others to 6 significant digits. */
export function formatNumber(v: unknown): string {
  if (typeof v !== "number") return v === undefined ? "" : String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? v.toExponential(4) : String(+v.toPrecision(6));
}

/** Durations print one way everywhere (the runner's formatter). */
export { formatSeconds } from "../runner/report.ts";
