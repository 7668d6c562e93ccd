// Lambda: functions and their configuration, test events, Invoke, live environments, a
// latency chart with cold starts marked (from the REPORT lines), logs with live tail.
import { api, latest, on } from "./api.js";
import { LineChart, Timeline } from "./chart.js";
import { badge, clear, field, fmtAge, h, pretty } from "./dom.js";

const MAX_LOG_LINES = 2000;
const REPORT = /^REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms(?:.*\tInit Duration: ([\d.]+) ms)?/;

export async function mount(root, selected) {
  const { functions } = await api("functions");
  const heading = h("h1", {}, "Lambda functions");
  if (!functions.length) {
    root.append(heading, h("section", { class: "panel" }, h("p", {}, "No functions: the template defines none.")));
    return () => {};
  }
  const current = functions.find((f) => f.name === selected) || functions[0];
  const picker = h("ul", { class: "picker", "aria-label": "Functions" },
    functions.map((f) => h("li", {}, h("button", {
      type: "button", "aria-pressed": String(f === current), dataset: { fn: f.name },
      onclick: () => { location.hash = `#/lambda/${encodeURIComponent(f.name)}`; },
    }, f.name))));
  const detail = h("div", { class: "grid2" });
  root.append(heading, h("div", { class: "cols" },
    h("nav", { class: "panel", "aria-label": "Function list" }, picker), detail));
  const stops = await showFunction(detail, current);
  return () => stops.forEach((s) => s());
}

async function showFunction(root, fn) {
  const stops = [];
  root.append(configPanel(fn));
  const test = testPanel(fn);
  root.append(test.panel);
  const envs = environmentsPanel(fn);
  root.append(envs.panel);
  stops.push(envs.stop);
  const logs = logsPanel(fn);
  root.append(logs.latencyPanel, logs.panel);
  stops.push(logs.stop);
  await Promise.all([test.load(), envs.load(), logs.load()]);
  return stops;
}

function configPanel(fn) {
  const rows = [
    ["ARN", fn.arn], ["Runtime", fn.runtime], ["Handler", fn.handler],
    ["Memory", `${fn.memory_mb} MB`], ["Timeout", `${fn.timeout_s} s`],
    ["Ephemeral storage", `${fn.ephemeral_mb} MB`], ["Architecture", fn.architecture],
    ["Reserved concurrency", fn.reserved_concurrency ?? "unreserved"],
    ["Layers", fn.layers.join(", ") || "none"], ["VPC", fn.vpc ? "yes" : "no"],
    ["Routes", fn.routes.join(", ") || "none"],
  ];
  const env = Object.entries(fn.environment);
  return h("section", { class: "panel", "aria-labelledby": "cfg-h" },
    h("h2", { id: "cfg-h" }, `Configuration: ${fn.name}`),
    h("dl", { class: "config" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
    h("h3", {}, "Environment variables"),
    env.length
      ? h("table", { "aria-label": "Environment variables" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Key"), h("th", { scope: "col" }, "Value"))),
          h("tbody", {}, env.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v)))))
      : h("p", { class: "muted" }, "none"));
}

function testPanel(fn) {
  const base = `functions/${encodeURIComponent(fn.name)}/test-events`;
  const saved = h("select", { id: "saved-events" }, h("option", { value: "" }, "(new event)"));
  const name = h("input", { type: "text", id: "event-name", value: "test", maxlength: 25, pattern: "[A-Za-z0-9._-]{1,25}" });
  const editor = h("textarea", { id: "event-json", rows: 8, spellcheck: false }, '{\n  "key": "value"\n}');
  const message = h("p", { role: "status", class: "muted" });
  const out = {
    status: h("p", { id: "invoke-status", role: "status" }),
    payload: h("pre", { id: "invoke-response", tabindex: 0, "aria-label": "Response" }),
    report: h("pre", { id: "invoke-report", tabindex: 0, "aria-label": "REPORT line" }),
    tail: h("pre", { id: "invoke-log", tabindex: 0, "aria-label": "Log tail" }),
  };
  const result = h("div", { id: "invoke-result", hidden: true },
    out.status, h("h3", {}, "Response"), out.payload, h("h3", {}, "REPORT"), out.report,
    h("h3", {}, "Log output (tail)"), out.tail);
  let events = {};

  async function load() {
    events = (await api(base)).events;
    clear(saved, h("option", { value: "" }, "(new event)"),
      Object.keys(events).map((n) => h("option", { value: n }, n)));
  }
  saved.addEventListener("change", () => {
    if (saved.value) { name.value = saved.value; editor.value = events[saved.value]; }
  });
  async function save() {
    try {
      await api(`${base}/${encodeURIComponent(name.value)}`, { method: "PUT", body: editor.value });
      message.textContent = `Saved "${name.value}".`;
      message.className = "muted";
      const keep = name.value;
      await load();
      saved.value = keep;
    } catch (e) { message.textContent = e.message; message.className = "error"; }
  }
  async function remove() {
    if (!saved.value) return;
    try {
      await api(`${base}/${encodeURIComponent(saved.value)}`, { method: "DELETE" });
      message.textContent = `Deleted "${saved.value}".`;
      await load();
    } catch (e) { message.textContent = e.message; message.className = "error"; }
  }
  const invokeButton = h("button", { type: "button", class: "primary", id: "invoke" }, "Invoke");
  async function invoke() {
    invokeButton.disabled = true;
    out.status.textContent = "Invoking…";
    out.status.className = "";
    try {
      const r = await api(`functions/${encodeURIComponent(fn.name)}/invoke`, { method: "POST", body: editor.value });
      result.hidden = false;
      out.status.replaceChildren(r.function_error
        ? h("span", { class: "error" }, `Failed: ${r.function_error}`)
        : h("span", { class: "s-ok" }, "Succeeded"), ` — request ${r.request_id}, ${r.round_trip_ms} ms round trip`);
      out.payload.textContent = pretty(r.payload);
      out.report.textContent = r.report || "(no REPORT line)";
      out.tail.textContent = r.log_tail;
    } catch (e) {
      result.hidden = false;
      out.status.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
      out.payload.textContent = out.report.textContent = out.tail.textContent = "";
    } finally { invokeButton.disabled = false; }
  }
  invokeButton.addEventListener("click", invoke);
  editor.addEventListener("keydown", (e) => {  // Ctrl/Cmd-Enter invokes, as in editors
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); invoke(); }
  });
  const panel = h("section", { class: "panel", "aria-labelledby": "test-h" },
    h("h2", { id: "test-h" }, "Test"),
    h("div", { class: "row" }, h("div", {}, field("Saved events", saved)), h("div", {}, field("Event name", name))),
    field("Event JSON (Ctrl+Enter invokes)", editor),
    h("div", { class: "row" }, invokeButton,
      h("button", { type: "button", onclick: save }, "Save"),
      h("button", { type: "button", class: "danger", onclick: remove }, "Delete")),
    message, result);
  return { panel, load };
}

function environmentsPanel(fn) {
  const body = h("tbody", { id: "env-rows" });
  const summary = h("p", { class: "muted", role: "status" });
  let snapshot = { environments: [], t: Date.now() / 1000 };
  const render = () => {
    const envs = snapshot.environments.filter((e) => e.function === fn.name);
    const elapsed = Date.now() / 1000 - snapshot.t;
    summary.textContent = `${envs.length} environment${envs.length === 1 ? "" : "s"}`;
    clear(body, envs.map((e) => h("tr", { dataset: { env: e.id } },
      h("td", { title: e.id }, e.id.slice(-8)), h("td", {}, badge(e.state)),
      h("td", { class: "num" }, fmtAge(e.age_s + elapsed)),
      h("td", { class: "num" }, e.state === "busy" ? "—" : fmtAge(e.idle_s + elapsed)),
      h("td", { class: "num" }, e.uses),
      h("td", { class: "num" }, `${e.memory_mb ?? "?"} / ${e.memory_limit_mb} MB`))));
  };
  const update = (data) => { snapshot = data; render(); };
  const stops = [on("environments", update), on("hello", update)];
  const ticker = setInterval(render, 1000);
  const panel = h("section", { class: "panel", "aria-labelledby": "env-h" },
    h("h2", { id: "env-h" }, "Environments (live)"), summary,
    h("table", { "aria-label": "Environments" }, h("thead", {}, h("tr", {}, ["Id", "State", "Age", "Idle", "Uses", "Memory"].map((c) =>
      h("th", { scope: "col", class: ["Age", "Idle", "Uses", "Memory"].includes(c) ? "num" : "" }, c)))), body));
  return {
    panel,
    load: async () => { update(latest.environments || await api("environments")); },
    stop: () => { stops.forEach((s) => s()); clearInterval(ticker); },
  };
}

function logsPanel(fn) {
  const canvas = h("canvas", { class: "chart", id: "latency-chart" });
  const chart = new LineChart(canvas, { label: "Duration", unit: "ms", markerColor: "#ec7211", markerLabel: "cold start(s)" });
  const lanes = h("canvas", { class: "chart", id: "env-timeline" });
  const timeline = new Timeline(lanes);
  const latencyPanel = h("section", { class: "panel", "aria-labelledby": "lat-h" },
    h("h2", { id: "lat-h" }, "Invocations"),
    h("figure", {}, canvas, h("figcaption", {}, "Duration (ms) per invocation, from the REPORT lines; orange dots: cold starts (Init Duration).")),
    h("figure", {}, lanes, h("figcaption", {}, "Invocations per environment: orange, a cold start; blue, warm reuse.")));
  const filter = h("input", { type: "search", id: "log-filter", placeholder: 'ERROR  "a phrase"  ?any  -exclude' });
  const pre = h("pre", { class: "logs", id: "log-lines", tabindex: 0, "aria-label": "Log lines" });
  const count = h("span", { class: "muted", role: "status", id: "log-count" });
  const path = `functions/${encodeURIComponent(fn.name)}/logs`;
  // The charts see every REPORT line (live events, unfiltered); the log view shows what
  // the filter pattern matches, filtered by the server with CloudWatch's term patterns.
  let chartOffset = 0, records = [], offset = 0, pattern = "", loading = null, again = false;

  const chartIngest = (recs) => {
    const points = [], cold = [];
    for (const r of recs) {
      const m = REPORT.exec(r.m);
      if (!m) continue;
      points.push([r.t / 1000, parseFloat(m[2])]);
      if (m[3]) cold.push([r.t / 1000, parseFloat(m[2])]);
      timeline.add(r.s, r.t / 1000, Boolean(m[3]));
    }
    chart.add(points, cold);
  };
  const render = () => {
    const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = records.map((r) => `${new Date(r.t).toISOString().slice(11, 23)} ${r.s.slice(-8)} ${r.m}`).join("\n");
    count.textContent = `${records.length} line${records.length === 1 ? "" : "s"}${pattern ? ` matching ${pattern}` : ""}`;
    if (stick) pre.scrollTop = pre.scrollHeight;
  };
  const fetchMore = async () => {  // one request at a time; a change meanwhile asks again
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do {
        again = false;
        const asked = pattern;
        try {
          const r = await api(`${path}?offset=${offset}&filter=${encodeURIComponent(asked)}`);
          if (asked !== pattern) { again = true; continue; }
          offset = r.offset;
          records.push(...r.records);
          if (records.length > MAX_LOG_LINES) records = records.slice(-MAX_LOG_LINES);
          render();
        } catch (e) { count.textContent = e.message; count.className = "error"; return; }
        count.className = "muted";
      } while (again);
    })();
    try { await loading; } finally { loading = null; }
  };
  const load = async () => {
    await fetchMore();
    chartOffset = offset;
    chartIngest(records);
  };
  const stop = on("logs", (ev) => {
    if (ev.function !== fn.name) return;
    if (ev.to > chartOffset) { chartIngest(ev.from >= chartOffset ? ev.records : []); chartOffset = ev.to; }
    if (ev.to <= offset) return;
    if (!pattern && ev.from === offset) { offset = ev.to; records.push(...ev.records); render(); } else fetchMore();
  });
  let debounce = null;
  filter.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      pattern = filter.value.trim(); records = []; offset = 0;
      // the old pattern's lines go at once: never shown under the new pattern's name
      pre.textContent = ""; count.textContent = `filtering for ${pattern}…`;
      fetchMore();
    }, 250);
  });
  const panel = h("section", { class: "panel", "aria-labelledby": "logs-h" },
    h("h2", { id: "logs-h" }, "Logs (live tail)"),
    h("div", { class: "row" }, h("div", {}, field("Filter pattern", filter)), count), pre);
  return { panel, latencyPanel, load, stop: () => { stop(); clearTimeout(debounce); } };
}
