// The ditto UI in the browser: sortable and filterable tables, metric charts (uPlot), paging
// of long logs and live updates of a running run. Plain script, no build step; every string
// from a run reaches the page through textContent, never innerHTML.
"use strict";

(() => {
  const dataEl = document.getElementById("ditto-data");
  const DATA = dataEl ? JSON.parse(dataEl.textContent || "{}") : {};
  const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"];

  // --- tables: click a header to sort, type in the filter box to keep matching rows --------
  function cellValue(row, index) {
    const cell = row.cells[index];
    if (!cell) return "";
    const v = cell.getAttribute("data-v");
    return v === null ? cell.textContent.trim() : v;
  }

  function sortBy(table, index, th) {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    for (const h of table.tHead.rows[0].cells) h.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    rows.sort((a, b) => {
      const x = cellValue(a, index);
      const y = cellValue(b, index);
      const nx = Number(x);
      const ny = Number(y);
      if (x === "" && y !== "") return 1;
      if (y === "" && x !== "") return -1;
      if (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny)) return (nx - ny) * dir;
      return x.localeCompare(y) * dir;
    });
    for (const r of rows) body.appendChild(r);
    refresh(table);
  }

  for (const table of document.querySelectorAll("table.sortable")) {
    const head = table.tHead && table.tHead.rows[0];
    if (!head) continue;
    Array.from(head.cells).forEach((th, i) => {
      th.tabIndex = 0;
      th.addEventListener("click", () => sortBy(table, i, th));
      th.addEventListener("keydown", (e) => {
        if (e.key === "Enter") sortBy(table, i, th);
      });
    });
  }

  // A long table shows its first rows (matching the filter) until "show all" is pressed:
  // 1,000 rows stay cheap to lay out.
  const showAll = document.getElementById("show-all");
  let all = !showAll;
  const first = showAll ? Number(showAll.getAttribute("data-first")) : Infinity;

  function refresh(table) {
    const input = document.querySelector(`input.filter[data-table="${table.id}"]`);
    // Space-separated words; all must appear in the row's text (case-insensitive).
    const words = input ? input.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
    let matching = 0;
    for (const row of table.tBodies[0].rows) {
      const text = words.length === 0 ? "" : row.textContent.toLowerCase();
      const keep = words.every((w) => text.includes(w));
      if (keep) matching++;
      row.hidden = !keep || (!all && matching > first);
    }
    const count = input && document.getElementById(input.getAttribute("data-count"));
    if (count) count.textContent = String(matching);
    if (showAll) showAll.hidden = all || matching <= first;
  }

  for (const input of document.querySelectorAll("input.filter")) {
    const table = document.getElementById(input.getAttribute("data-table"));
    if (table) input.addEventListener("input", () => refresh(table));
  }
  if (showAll) {
    showAll.addEventListener("click", () => {
      all = true;
      refresh(document.getElementById(showAll.getAttribute("data-table")));
    });
  }

  // --- compare: tick 2 to 5 runs, then open the compare page -------------------------------
  const compareButton = document.getElementById("compare");
  if (compareButton) {
    const boxes = () => Array.from(document.querySelectorAll("input.pick:checked"));
    const update = () => {
      const n = boxes().length;
      compareButton.disabled = n < 2 || n > 5;
      compareButton.textContent = `Compare ${n} runs`;
    };
    document.addEventListener("change", (e) => {
      if (e.target.classList && e.target.classList.contains("pick")) update();
    });
    compareButton.addEventListener("click", () => {
      const runs = boxes().map((b) => b.value);
      location.href = "/compare?runs=" + runs.map(encodeURIComponent).join(",");
    });
    update();
  }

  // --- metrics: embedded (report) or fetched page by page (server) -------------------------
  function merge(into, series) {
    for (const [name, points] of Object.entries(series)) {
      (into[name] = into[name] || []).push(...points);
    }
  }

  async function fetchSeries(run, stage, state) {
    const base = "/";
    for (let guard = 0; guard < 10000; guard++) {
      const url = `${base}api/metrics/${run.split("/").map(encodeURIComponent).join("/")}/` +
        `${encodeURIComponent(stage)}?offset=${state.next}&rows=${state.rows}`;
      const res = await fetch(url);
      if (!res.ok) return;
      const page = await res.json();
      merge(state.series, page.series);
      state.rows = page.rows;
      if (page.next <= state.next) return;
      state.next = page.next;
      if (page.next >= page.size) return;
    }
  }

  const seriesState = new Map();
  async function getSeries(run, stage) {
    const key = `${run}|${stage}`;
    if (DATA.series && DATA.series[key]) return DATA.series[key];
    let state = seriesState.get(key);
    if (!state) {
      state = { series: {}, next: 0, rows: 0 };
      seriesState.set(key, state);
    }
    await fetchSeries(run, stage, state);
    return state.series;
  }

  function drawChart(host, title, list, metrics) {
    const xs = Array.from(new Set(list.flatMap((s) => s.points.map((p) => p[0]))))
      .sort((a, b) => a - b);
    if (xs.length === 0) return;
    const index = new Map(xs.map((x, i) => [x, i]));
    const ys = list.map((s) => {
      const column = new Array(xs.length).fill(null);
      for (const [x, y] of s.points) column[index.get(x)] = y;
      return column;
    });
    const values = ys.flat().filter((v) => v !== null);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const box = document.createElement("figure");
    box.className = "chart";
    box.setAttribute("data-metrics", metrics.join(","));
    const caption = document.createElement("figcaption");
    caption.textContent = title;
    box.appendChild(caption);
    const canLog = lo > 0;
    let log = canLog && hi / lo > 100;
    let plot;
    const make = () => {
      if (plot) plot.destroy();
      plot = new uPlot(
        {
          width: Math.min(460, Math.max(300, host.clientWidth / 2 - 24)),
          height: 200,
          scales: { x: { time: false }, y: { distr: log ? 3 : 1 } },
          legend: { show: list.length > 1 },
          series: [
            { label: "step" },
            ...list.map((s, i) => ({
              label: s.label,
              stroke: COLORS[i % COLORS.length],
              width: 1.5,
              spanGaps: true,
              points: { show: xs.length <= 40, size: 5 },
            })),
          ],
        },
        [xs, ...ys],
        box,
      );
    };
    if (canLog) {
      const label = document.createElement("label");
      label.className = "log";
      const check = document.createElement("input");
      check.type = "checkbox";
      check.checked = log;
      check.addEventListener("change", () => {
        log = check.checked;
        make();
      });
      label.append(check, " log scale");
      caption.appendChild(label);
    }
    host.appendChild(box);
    make();
  }

  async function drawCharts(host) {
    host.textContent = "";
    const runs = (host.getAttribute("data-runs") || "").split(",").filter(Boolean);
    const stage = host.getAttribute("data-stage");
    const all = [];
    for (const run of runs) all.push(await getSeries(run, stage));
    // Compare names the metrics that differ; a run page draws them all.
    const only = host.getAttribute("data-metrics");
    const metrics = only
      ? JSON.parse(only)
      : Array.from(new Set(all.flatMap((s) => Object.keys(s)))).sort();
    const curves = (metric) => all[0][metric] && all[0][metric].length >= 2;
    if (runs.length === 1) {
      // One run: metrics sharing a prefix (fitness_mean, fitness_max, ...) share a chart.
      const groups = new Map();
      for (const metric of metrics.filter(curves)) {
        const prefix = metric.includes("_") ? metric.slice(0, metric.indexOf("_")) : metric;
        groups.set(prefix, [...(groups.get(prefix) || []), metric]);
      }
      for (const [prefix, names] of groups) {
        const title = names.length > 1 ? `${prefix}_*` : names[0];
        drawChart(host, title, names.map((m) => ({ label: m, points: all[0][m] })), names);
      }
    } else {
      for (const metric of metrics) {
        const list = runs.map((run, i) => ({ label: run, points: all[i][metric] || [] }))
          .filter((s) => s.points.length > 0);
        // A single value is a final metric, already in the table: no curve to draw.
        if (list.length === 0 || list.every((s) => s.points.length < 2)) continue;
        drawChart(host, `${stage}.${metric}`, list, [metric]);
      }
    }
    host.setAttribute("data-drawn", String(host.querySelectorAll("figure.chart").length));
  }

  async function drawAll() {
    for (const host of document.querySelectorAll("div.charts")) await drawCharts(host);
    document.body.setAttribute("data-charts", "drawn");
  }

  // --- logs: the tail is on the page; "earlier" fetches the page before it ------------------
  for (const button of document.querySelectorAll("button.earlier")) {
    button.addEventListener("click", async () => {
      const pre = document.getElementById(button.getAttribute("data-log"));
      const offset = Number(pre.getAttribute("data-offset"));
      const start = Math.max(0, offset - 65536);
      const url = `${button.getAttribute("data-url")}?offset=${start}&limit=${offset - start}`;
      const res = await fetch(url);
      if (!res.ok) return;
      const page = await res.json();
      pre.textContent = page.text + pre.textContent;
      pre.setAttribute("data-offset", String(page.offset));
      if (page.offset === 0) button.remove();
    });
  }

  // --- live: a running run polls its state; when the run or a stage changes status (a stage
  // that finished brings its artifacts, curves and log) the page reloads, keeping its scroll -
  function watch(live) {
    const tick = async () => {
      let state;
      try {
        const res = await fetch(live.url, { cache: "no-store" });
        state = await res.json();
      } catch {
        setTimeout(tick, 4000);
        return;
      }
      if (state.status !== "running" || state.stamp !== live.stamp) {
        location.reload();
        return;
      }
      // A running stage's progress changes in place (the server formats it).
      for (const s of state.stages) {
        const el = document.querySelector(`[data-stage-progress="${CSS.escape(s.name)}"]`);
        if (el && el.textContent !== s.progress) el.textContent = s.progress;
      }
      setTimeout(tick, 2000);
    };
    setTimeout(tick, 2000);
  }

  drawAll().then(() => {
    if (DATA.live) watch(DATA.live);
  });
})();
