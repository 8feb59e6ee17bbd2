/**
 * The web UI's server: `Deno.serve` over a runs folder, read-only. Pages are rendered here;
 * files are served only from inside the runs folder (see `safe_path.ts`); only GET and HEAD
 * are answered.
 *
 * Routes: `/` experiments, `/e/<experiment>` its runs, `/r/<experiment>/<n>` a run,
 * `/compare?runs=a,b,...` 2 to 5 runs, `/f/<experiment>/<n>/<path>` a run's file,
 * `/api/...` JSON (runs table, run state, pages of metrics and logs), `/assets/<name>`.
 *
 * @module
 */

import { basename, join } from "node:path";
import { escapeHtml as h } from "./html.ts";
import { type Assets, loadAssets } from "./assets.ts";
import {
  experimentRuns,
  findRun,
  listExperiments,
  PAGE_BYTES,
  parseMetricLines,
  readPage,
  runsTable,
  type UiRun,
} from "./data.ts";
import { resolveInside, safeSegments } from "./safe_path.ts";
import { htmlDocument, type PageLinks, type PageShell } from "./page.ts";
import { experimentPage, experimentsPage } from "./runs_page.ts";
import { progressText, runPage } from "./run_page.ts";
import { comparePage } from "./compare_page.ts";
import { shownStatus } from "./dag.ts";

/** Options of {@linkcode createHandler} and {@linkcode serveUi}. */
export interface UiOptions {
  /** The runs folder served. */
  runsDir: string;
  /**
   * Answer only requests addressed to a loopback name (`Host: 127.0.0.1`, `localhost`,
   * `[::1]`): a web page elsewhere cannot then reach the UI through DNS rebinding.
   * @default {false}
   */
  loopbackHostOnly?: boolean;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Whether an interface name is a loopback one. */
export function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname) || hostname.startsWith("127.");
}

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  // Scripts only from this server: an injected inline script or handler would not run.
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self' " +
    "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; " +
    "base-uri 'none'; form-action 'none'",
};

const FILE_TYPES: Record<string, string> = {
  png: "image/png",
  gif: "image/gif",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  svg: "image/svg+xml",
  json: "application/json; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  log: "text/plain; charset=utf-8",
  jsonl: "text/plain; charset=utf-8",
  yaml: "text/plain; charset=utf-8",
  yml: "text/plain; charset=utf-8",
  csv: "text/plain; charset=utf-8",
  tsv: "text/plain; charset=utf-8",
  md: "text/plain; charset=utf-8",
};

function respond(body: BodyInit | null, status: number, type: string, extra = {}): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": type, "cache-control": "no-cache", ...extra },
  });
}

function notFound(): Response {
  return respond("Not found\n", 404, "text/plain; charset=utf-8");
}

function json(data: unknown): Response {
  return respond(JSON.stringify(data), 200, "application/json; charset=utf-8");
}

const LINKS: PageLinks = {
  report: false,
  file: (run, path) =>
    `/f/${run.name.split("/").map(encodeURIComponent).join("/")}/${
      path.split("/").map(encodeURIComponent).join("/")
    }`,
  run: (run) => `/r/${run.name.split("/").map(encodeURIComponent).join("/")}`,
  experiment: (name) => `/e/${encodeURIComponent(name)}`,
  compare: (runs) => `/compare?runs=${runs.map((r) => encodeURIComponent(r.name)).join(",")}`,
};

const NAV = `<a class="brand" href="/">ditto</a><a href="/">experiments</a>`;

function page(shell: PageShell): Response {
  const assets = {
    styles: `<link rel="stylesheet" href="/assets/uplot.css">` +
      `<link rel="stylesheet" href="/assets/app.css">`,
    scripts: `<script src="/assets/uplot.js"></script><script src="/assets/app.js"></script>`,
  };
  return respond(htmlDocument(shell, assets, NAV), 200, "text/html; charset=utf-8");
}

/** A run named by URL segments `<experiment>/<n>`. */
function runOf(runsDir: string, segments: string[]): UiRun | undefined {
  if (segments.length < 2 || !/^\d+$/.test(segments[1])) return undefined;
  if (safeSegments(encodeURIComponent(segments[0])) === undefined) return undefined;
  return findRun(runsDir, segments[0], Number(segments[1]));
}

/** A run named `<experiment>/<n>` in a query. */
function runByName(runsDir: string, name: string): UiRun | undefined {
  const parts = name.split("/");
  if (parts.length !== 2 || parts.some((p) => p === "" || p === "." || p === "..")) {
    return undefined;
  }
  return runOf(runsDir, parts);
}

/** Live state of a run, polled by a running run's page. */
export function runState(run: UiRun) {
  const stages = run.record.stages.map((s) => ({
    name: s.name,
    status: s.status,
    shown: shownStatus(s, run.record.status),
    seconds: s.seconds,
    progress: progressText(s.progress),
  }));
  // Changes when the run or any stage changes status (not with the seconds ticking).
  const stamp = JSON.stringify([run.record.status, stages.map((s) => [s.name, s.shown])]);
  return { status: run.record.status, seconds: run.record.seconds, stages, stamp };
}

function serveFile(runsDir: string, segments: string[], head: boolean): Response {
  const run = runOf(runsDir, segments);
  if (!run || segments.length < 3) return notFound();
  // The real path (symlinks followed) must stay inside the runs folder.
  const path = resolveInside(runsDir, [segments[0], basename(run.dir), ...segments.slice(2)]);
  if (!path) return notFound();
  let file: Deno.FsFile;
  try {
    if (!Deno.statSync(path).isFile) return notFound();
    file = Deno.openSync(path, { read: true });
  } catch {
    return notFound();
  }
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  const type = FILE_TYPES[ext];
  const extra: Record<string, string> = {
    // A served file never runs scripts in the UI's origin (an SVG or HTML artifact).
    "content-security-policy":
      "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox",
  };
  if (!type) extra["content-disposition"] = "attachment";
  if (head) {
    file.close();
    return respond(null, 200, type ?? "application/octet-stream", extra);
  }
  return respond(file.readable, 200, type ?? "application/octet-stream", extra);
}

function intParam(url: URL, name: string, fallback: number): number {
  const n = Number(url.searchParams.get(name) ?? fallback);
  return Number.isFinite(n) ? Math.trunc(n) : fallback;
}

function route(runsDir: string, req: Request, assets: Assets): Response {
  const url = new URL(req.url);
  const segments = safeSegments(url.pathname);
  if (!segments) return notFound();
  const [top, ...rest] = segments;
  switch (top) {
    case undefined:
      return page(experimentsPage(runsDir, listExperiments(runsDir), LINKS));
    case "e": {
      if (rest.length !== 1 || rest[0].startsWith(".")) return notFound();
      const runs = experimentRuns(runsDir, rest[0]);
      if (runs.length === 0) return notFound();
      return page(experimentPage(runsTable(rest[0], runs), runs, LINKS));
    }
    case "r": {
      const run = rest.length === 2 ? runOf(runsDir, rest) : undefined;
      if (!run) return notFound();
      const live = run.record.status === "running"
        ? {
          url: `/api/state/${rest.map(encodeURIComponent).join("/")}`,
          stamp: runState(run).stamp,
        }
        : undefined;
      // The nearest earlier run (numbers may have gaps after `gc`), looking back a little.
      let previous: UiRun | undefined;
      for (let n = run.record.run - 1; n >= Math.max(1, run.record.run - 20) && !previous; n--) {
        previous = findRun(runsDir, rest[0], n);
      }
      return page(runPage(run, LINKS, { live }, previous));
    }
    case "compare": {
      const names = (url.searchParams.get("runs") ?? "").split(",").filter(Boolean);
      const runs = names.map((n) => runByName(runsDir, n));
      if (names.length < 2 || names.length > 5 || runs.some((r) => !r)) {
        return respond(
          `<!doctype html><p>Compare needs 2 to 5 existing runs, got ${h(names.join(", "))}</p>`,
          404,
          "text/html; charset=utf-8",
        );
      }
      return page(comparePage(runs as UiRun[], LINKS));
    }
    case "f":
      return serveFile(runsDir, rest, req.method === "HEAD");
    case "assets": {
      const name = rest.join("/") as keyof Assets;
      if (rest.length !== 1 || !Object.hasOwn(assets, name)) return notFound();
      const type = name.endsWith(".js")
        ? "text/javascript; charset=utf-8"
        : "text/css; charset=utf-8";
      return respond(assets[name], 200, type);
    }
    case "api":
      return api(runsDir, rest, url);
    default:
      return notFound();
  }
}

function api(runsDir: string, segments: string[], url: URL): Response {
  const [kind, ...rest] = segments;
  if (kind === "experiments" && rest.length === 0) return json(listExperiments(runsDir));
  if (kind === "runs" && rest.length === 1 && !rest[0].startsWith(".")) {
    const runs = experimentRuns(runsDir, rest[0]);
    return runs.length === 0 ? notFound() : json(runsTable(rest[0], runs));
  }
  const run = runOf(runsDir, rest);
  if (!run) return notFound();
  if (kind === "state" && rest.length === 2) return json(runState(run));
  if (kind === "run" && rest.length === 2) return json({ dir: run.dir, ...run.record });
  if ((kind === "metrics" || kind === "log") && rest.length === 3) {
    const stage = rest[2];
    if (!run.record.stages.some((s) => s.name === stage)) return notFound();
    const file = kind === "metrics"
      ? join(run.dir, "metrics", `${stage}.jsonl`)
      : join(run.dir, "logs", `${stage}.log`);
    const limit = Math.max(1, Math.min(PAGE_BYTES, intParam(url, "limit", PAGE_BYTES)));
    const pageOf = readPage(file, intParam(url, "offset", 0), limit, kind === "metrics");
    if (!pageOf) {
      return kind === "metrics"
        ? json({ series: {}, offset: 0, next: 0, size: 0, rows: 0 })
        : notFound();
    }
    if (kind === "log") return json(pageOf);
    const rows = intParam(url, "rows", 0);
    const lines = pageOf.text.split("\n").filter((l) => l.trim()).length;
    const { text: _text, ...position } = pageOf;
    return json({ ...position, series: parseMetricLines(pageOf.text, rows), rows: rows + lines });
  }
  return notFound();
}

/**
 * Makes the request handler of the UI.
 *
 * @param options The runs folder.
 * @returns A handler for `Deno.serve`.
 */
export async function createHandler(
  options: UiOptions,
): Promise<(req: Request) => Response> {
  const assets = await loadAssets();
  return (req: Request) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return respond("Read-only\n", 405, "text/plain; charset=utf-8", { allow: "GET, HEAD" });
    }
    if (options.loopbackHostOnly && !isLoopback(new URL(req.url).hostname)) {
      return respond("Misdirected request\n", 421, "text/plain; charset=utf-8");
    }
    try {
      return route(options.runsDir, req, assets);
    } catch (error) {
      return respond(`Error: ${h((error as Error).message)}\n`, 500, "text/plain; charset=utf-8");
    }
  };
}

/** Options of {@linkcode serveUi}. */
export interface ServeUiOptions extends UiOptions {
  /** Port; 0 picks a free one. @default {8080} */
  port?: number;
  /** Interface to listen on. @default {"127.0.0.1"} */
  hostname?: string;
  /** Called once listening, with the URL. */
  onListen?: (url: string) => void;
  /** Stops the server. */
  signal?: AbortSignal;
}

/**
 * Serves the UI until the signal aborts.
 *
 * @param options Runs folder, port, host.
 * @returns The running server.
 */
export async function serveUi(options: ServeUiOptions): Promise<Deno.HttpServer<Deno.NetAddr>> {
  const hostname = options.hostname ?? "127.0.0.1";
  const handler = await createHandler({
    loopbackHostOnly: isLoopback(hostname),
    ...options,
  });
  return Deno.serve({
    port: options.port ?? 8080,
    hostname,
    signal: options.signal,
    onListen: (addr) => {
      const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
      options.onListen?.(`http://${host}:${addr.port}/`);
    },
  }, handler);
}
