/**
 * `${...}` placeholders in experiment values: `${params.x}`, `${seed}`, `${deps.d}` and
 * `${stages.s.outs.o}`. Write `$${` for a literal `${` (for shell variables).
 *
 * In a `run:` command every value is shell-quoted where it needs it, parameters as well as
 * paths, so that a parameter is one word whatever it holds; `${raw:params.x}` puts a parameter
 * (or matrix) value in unquoted, for users who want the shell to split or interpret it.
 *
 * @module
 */

/** One piece of a template: literal text or a placeholder reference. */
export type TemplatePart = { text: string } | { ref: string; index: number };

const PLACEHOLDER = /\$(\$?)\{([^}]*)\}/g;

/**
 * Splits a template into literal text and placeholder references.
 *
 * @param template The text with placeholders.
 * @returns The parts, in order; `$${x}` yields the literal text `${x}`.
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const index = match.index!;
    if (index > last) parts.push({ text: template.slice(last, index) });
    if (match[1] === "$") parts.push({ text: `\${${match[2]}}` });
    else parts.push({ ref: match[2].trim(), index });
    last = index + match[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}

/**
 * Substitutes placeholders.
 *
 * @param parts A parsed template.
 * @param resolveRef Returns the replacement text of a reference.
 * @returns The resulting text.
 */
export function renderTemplate(
  parts: TemplatePart[],
  resolveRef: (ref: string) => string,
): string {
  return parts.map((p) => ("text" in p ? p.text : resolveRef(p.ref))).join("");
}

/** Quotes a text for POSIX sh when it contains anything beyond safe characters. */
export function shellQuote(text: string): string {
  if (/^[A-Za-z0-9_\/.,:@%+=-]+$/.test(text)) return text;
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

/** Formats a parameter value for text substitution: scalars as written, others as JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** The prefix of a `run:` placeholder whose value goes into the command unquoted. */
export const RAW = "raw:";

/**
 * Splits a placeholder of a `run:` command into its reference and whether it is raw.
 *
 * @param placeholder The text between `${` and `}`, such as `raw:params.flags`.
 * @returns The reference (`params.flags`) and whether it had the `raw:` prefix.
 */
export function splitRaw(placeholder: string): { ref: string; raw: boolean } {
  return placeholder.startsWith(RAW)
    ? { ref: placeholder.slice(RAW.length).trim(), raw: true }
    : { ref: placeholder, raw: false };
}

/**
 * The text of a parameter or matrix value in a `run:` command.
 *
 * @param value The value.
 * @param raw Whether the placeholder was `${raw:…}`.
 * @returns {@linkcode formatValue}'s text, shell-quoted unless raw.
 */
export function commandValue(value: unknown, raw: boolean): string {
  const text = formatValue(value);
  return raw ? text : shellQuote(text);
}
