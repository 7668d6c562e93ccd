// RDS: clusters with live status, capacity / connections / CPU charts, events, cost; the
// Query Editor (ExecuteStatement through the Data API); create, modify, stop, start, delete.
import { api, on } from "./api.js";
import { LineChart } from "./chart.js";
import { badge, clear, field, fmtTime, h } from "./dom.js";

const CHARTS = [
  ["ServerlessDatabaseCapacity", "Capacity", "ACU", "#0972d3"],
  ["DatabaseConnections", "Connections", "", "#037f0c"],
  ["CPUUtilization", "CPU", "%", "#8d6605"],
];

export async function mount(root, selected) {
  const stops = [];
  let clusters = (await api("db")).clusters;
  let current = selected || (clusters[0] && clusters[0].DBClusterIdentifier) || "";
  const tbody = h("tbody", { id: "cluster-rows" });
  const detail = h("div", { class: "grid2", id: "cluster-detail" });
  const renderList = () => {
    clear(tbody, clusters.map((c) => h("tr", { dataset: { cluster: c.DBClusterIdentifier } },
      h("td", {}, h("button", {
        type: "button", "aria-pressed": String(c.DBClusterIdentifier === current),
        onclick: () => { location.hash = `#/rds/${encodeURIComponent(c.DBClusterIdentifier)}`; },
      }, c.DBClusterIdentifier)),
      h("td", {}, `${c.Engine} (${c.ServerlessVersion})`),
      h("td", { class: "status" }, badge(c.Status)),
      h("td", { class: "num" }, `${c.Capacity} ACU`),
      h("td", { class: "num" }, `${c.MinCapacity}–${c.MaxCapacity}`),
      h("td", { class: "num" }, c.Connections),
      h("td", {}, `127.0.0.1:${c.Port}`))));
    if (!clusters.length) tbody.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No clusters yet: create one below.")));
  };
  renderList();
  const listPanel = h("section", { class: "panel", "aria-labelledby": "cl-h" },
    h("h2", { id: "cl-h" }, "Clusters (live)"),
    h("table", { "aria-label": "Clusters" }, h("thead", {}, h("tr", {}, ["Identifier", "Engine", "Status", "Capacity", "Min–max", "Connections", "Endpoint"].map((c) => h("th", { scope: "col" }, c)))), tbody));
  const editor = queryEditor(clusters);
  root.append(h("h1", {}, "RDS"), listPanel, detail, editor.panel, createPanel());
  let view = null;
  const show = async () => {
    if (view) view.stop();
    detail.replaceChildren();
    const c = clusters.find((x) => x.DBClusterIdentifier === current);
    view = c ? await clusterView(detail, c) : null;
    if (c) editor.select(c.DBClusterIdentifier);
  };
  stops.push(on("clusters", (d) => {
    clusters = d.clusters;
    renderList();
    editor.setClusters(clusters);
    const c = clusters.find((x) => x.DBClusterIdentifier === current);
    if (view && c) view.update(c);
    else if (!view && c) show();
    else if (view && !c) {  // deleted (here or elsewhere)
      view.stop();
      view = null;
      clear(detail, h("section", { class: "panel wide", role: "status" }, h("h2", {}, `Cluster ${current}`), h("p", {}, "This cluster no longer exists.")));
    }
  }));
  await Promise.all([show(), editor.load()]);
  return () => { stops.forEach((s) => s()); if (view) view.stop(); };
}

async function clusterView(root, cluster) {
  const id = cluster.DBClusterIdentifier;
  const base = `db/${encodeURIComponent(id)}`;
  const status = h("p", { id: "cluster-status", role: "status", "aria-live": "polite" });
  const facts = h("dl", { class: "config", id: "cluster-facts" });
  const message = h("p", { role: "status" });
  const act = (label, path, method, cls) => h("button", {
    type: "button", class: cls, onclick: async () => {
      if (method === "DELETE" && !confirm(`Delete cluster ${id} and its data?`)) return;
      try { await api(`${base}${path}`, { method }); message.textContent = `${label}: requested.`; message.className = "muted"; }
      catch (e) { message.textContent = e.message; message.className = "error"; }
    },
  }, label);
  const update = (c) => {
    clear(status, "Status: ", badge(c.Status), ` — ${c.Capacity} ACU, ${c.Connections} connection${c.Connections === 1 ? "" : "s"}`,
      c.Failure ? h("span", { class: "error" }, ` (${c.Failure})`) : "");
    clear(facts, [
      ["ARN", c.DBClusterArn], ["Engine", `${c.Engine} → ${c.LocalEngine}`],
      ["Endpoint", `127.0.0.1:${c.Port}`], ["Master user", c.MasterUsername],
      ["Database", c.DatabaseName ?? "—"],
      ["Capacity range", `${c.MinCapacity}–${c.MaxCapacity} ACU`],
      ["Auto-pause", c.AutoPause ? `after ${c.SecondsUntilAutoPause} s idle` : "off"],
      ["Data API", c.HttpEndpointEnabled ? "enabled" : "disabled"],
      ["Created", new Date(c.ClusterCreateTime * 1000).toLocaleString()],
    ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
    modify.show(c);
  };
  const modify = modifyForm(cluster, base);
  update(cluster);
  const charts = {};
  const figures = CHARTS.map(([metric, label, unit, color]) => {
    const canvas = h("canvas", { class: "chart", id: `chart-${metric}` });
    charts[metric] = new LineChart(canvas, { label, unit, color });
    return h("figure", {}, h("figcaption", {}, `${label}${unit ? ` (${unit})` : ""}`), canvas);
  });
  const eventRows = h("tbody", { id: "event-rows" });
  const addEvents = (events) => {
    for (const e of events) {
      eventRows.prepend(h("tr", {}, h("td", { class: "nowrap" }, fmtTime(e.Date)), h("td", { class: "nowrap" }, e.EventId), h("td", {}, e.Message)));
    }
  };
  const cost = h("dl", { class: "config", id: "cluster-cost" });
  const loadCost = async () => {
    try {
      const b = await api(`${base}/cost`);
      clear(cost, [
        ["Compute", `$${b.compute_cost.toFixed(4)} (${(b.billed_acu_seconds / 3600).toFixed(4)} ACU-hours at $${b.price_per_acu_hour}/ACU-hour)`],
        ["Storage", `$${b.storage_cost.toFixed(6)} (${(b.storage_bytes / 2 ** 20).toFixed(1)} MB)`],
        ["Total so far", `$${b.total_cost.toFixed(4)}`],
      ].map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    } catch (e) { clear(cost, h("dd", { class: "error" }, e.message)); }
  };
  root.append(
    h("section", { class: "panel", "aria-labelledby": "cd-h" },
      h("h2", { id: "cd-h" }, `Cluster ${id}`), status, facts,
      h("div", { class: "row" }, act("Stop", "/stop", "POST"), act("Start", "/start", "POST"), act("Delete", "", "DELETE", "danger")),
      message, h("h3", { id: "mc-h" }, "Modify"), modify.form,
      h("h3", {}, "Cost so far (emulated time)"), cost),
    h("section", { class: "panel", "aria-labelledby": "mon-h" }, h("h2", { id: "mon-h" }, "Monitoring"), figures),
    h("section", { class: "panel wide", "aria-labelledby": "ev-h" }, h("h2", { id: "ev-h" }, "Events"),
      h("table", { "aria-label": "Events" }, h("thead", {}, h("tr", {}, ["Time", "Event", "Message"].map((c) => h("th", { scope: "col" }, c)))), eventRows)));
  const [metrics, events] = await Promise.all([api(`${base}/metrics?since=0`), api(`${base}/events`)]);
  for (const [metric] of CHARTS) charts[metric].set(metrics.metrics[metric] || []);
  addEvents(events.events);
  let lastEvent = events.events.length ? events.events[events.events.length - 1].Id : 0;
  loadCost();  // (not awaited: the bill walks the data directory; the page is usable first)
  // (each bill walks the data directory: none while the page is hidden)
  const costTimer = setInterval(() => { if (!document.hidden) loadCost(); }, 5000);
  const stops = [
    on("metrics", (d) => {
      if (d.cluster !== id) return;
      for (const [metric] of CHARTS) if (d.metrics[metric]) charts[metric].add(d.metrics[metric]);
    }),
    on("rds-event", (d) => {
      if (d.cluster !== id) return;
      const fresh = d.events.filter((e) => e.Id > lastEvent);
      if (fresh.length) { lastEvent = fresh[fresh.length - 1].Id; addEvents(fresh); }
    }),
  ];
  return { update, stop: () => { stops.forEach((s) => s()); clearInterval(costTimer); } };
}

// ModifyDBCluster's settings (PATCH db/ID, as `faaslab db modify`), prefilled with the
// cluster's; a change made elsewhere refills it unless it is being edited.
function modifyForm(cluster, base) {
  const v1 = cluster.ServerlessVersion === "v1";
  const inputs = {
    min_capacity: h("input", { type: "number", step: "0.5", min: 0, required: true }),
    max_capacity: h("input", { type: "number", step: "0.5", min: 0.5, required: true }),
    auto_pause_seconds: h("input", { type: "number", step: "1", min: 0 }),
    auto_pause: v1 ? h("input", { type: "checkbox" }) : null,
    enable_http_endpoint: h("input", { type: "checkbox" }),
    master_password: h("input", { type: "password", minlength: 8, autocomplete: "new-password" }),
  };
  const labels = {
    min_capacity: "Min capacity (ACU)", max_capacity: "Max capacity (ACU)",
    auto_pause_seconds: "Auto-pause after (s)", auto_pause: "Auto-pause",
    enable_http_endpoint: "Data API", master_password: "New master password (optional)",
  };
  const current = (c) => ({
    min_capacity: c.MinCapacity, max_capacity: c.MaxCapacity, auto_pause_seconds: c.SecondsUntilAutoPause,
    auto_pause: c.AutoPause, enable_http_endpoint: c.HttpEndpointEnabled, master_password: "",
  });
  let editing = false;
  const fill = (c) => {
    for (const [k, v] of Object.entries(current(c))) {
      const el = inputs[k];
      if (!el) continue;
      if (el.type === "checkbox") el.checked = Boolean(v);
      else el.value = v ?? "";
    }
  };
  const message = h("p", { role: "status", id: "modify-status" });
  const submit = h("button", { type: "submit", class: "primary" }, "Modify cluster");
  const form = h("form", { id: "modify-cluster", "aria-labelledby": "mc-h", oninput: () => { editing = true; } },
    h("div", { class: "row" }, Object.entries(inputs).filter(([, el]) => el).map(([k, el]) => h("div", {}, field(labels[k], el)))),
    v1 ? null : h("p", { class: "muted" }, "Serverless v2 pauses only when its min capacity is 0."),
    h("div", { class: "row" }, submit), message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {};
    for (const [k, el] of Object.entries(inputs)) {
      if (!el) continue;
      if (el.type === "checkbox") body[k] = el.checked;
      else if (el.value !== "") body[k] = el.type === "number" ? Number(el.value) : el.value;
    }
    submit.disabled = true;
    message.className = "muted";
    message.textContent = "Modifying…";
    try {
      const c = await api(base, { method: "PATCH", json: body });
      editing = false;
      fill(c);
      message.textContent = `Modified: ${c.MinCapacity}–${c.MaxCapacity} ACU, Data API ${c.HttpEndpointEnabled ? "enabled" : "disabled"}.`;
    } catch (err) { message.className = "error"; message.textContent = err.message; }
    finally { submit.disabled = false; }
  });
  fill(cluster);
  return { form, show: (c) => { if (!editing) fill(c); } };
}

function queryEditor(initial) {
  const clusterSelect = h("select", { id: "qe-cluster" });
  const secretSelect = h("select", { id: "qe-secret" });
  const database = h("input", { type: "text", id: "qe-database", placeholder: "(the cluster's default)" });
  const sql = h("textarea", { id: "qe-sql", rows: 5, spellcheck: false }, "SELECT 1");
  const run = h("button", { type: "button", class: "primary", id: "qe-run" }, "Run");
  const status = h("p", { id: "qe-status", role: "status" });
  const results = h("div", { id: "qe-results" });
  let clusters = initial;
  const setClusters = (list) => {
    const keep = clusterSelect.value;
    clusters = list;
    clear(clusterSelect, list.map((c) => h("option", { value: c.DBClusterArn }, c.DBClusterIdentifier)));
    if (keep) clusterSelect.value = keep;
  };
  setClusters(initial);
  const select = (identifier) => {
    const c = clusters.find((x) => x.DBClusterIdentifier === identifier);
    if (c) clusterSelect.value = c.DBClusterArn;
  };
  const load = async () => {
    const { secrets } = await api("secrets");
    clear(secretSelect, secrets.map((s) => h("option", { value: s.arn }, s.name)));
  };
  async function execute() {
    run.disabled = true;
    status.className = "";
    status.textContent = "Running…";
    results.replaceChildren();
    try {
      const r = await api("query", { method: "POST", json: {
        resourceArn: clusterSelect.value, secretArn: secretSelect.value,
        database: database.value || undefined, sql: sql.value } });
      status.className = "s-ok";
      if (r.columnMetadata && r.records) {
        status.textContent = `${r.records.length} row${r.records.length === 1 ? "" : "s"}`;
        results.append(h("table", { id: "qe-table", "aria-label": "Query results" },
          h("thead", {}, h("tr", {}, r.columnMetadata.map((c) => h("th", { scope: "col" }, c.label || c.name)))),
          h("tbody", {}, r.records.map((row) => h("tr", {}, row.map((f) => h("td", {}, fieldValue(f))))))));
      } else {
        status.textContent = `${r.numberOfRecordsUpdated} record${r.numberOfRecordsUpdated === 1 ? "" : "s"} updated`;
      }
    } catch (e) {
      status.className = "error";
      status.textContent = `${e.code || "Error"}: ${e.message}`;
    } finally { run.disabled = false; }
  }
  run.addEventListener("click", execute);
  sql.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); execute(); }
  });
  const panel = h("section", { class: "panel", "aria-labelledby": "qe-h" },
    h("h2", { id: "qe-h" }, "Query Editor"),
    h("p", { class: "muted" }, "Runs SQL through the Data API (ExecuteStatement) with the credentials of a Secrets Manager secret."),
    h("div", { class: "row" }, h("div", {}, field("Cluster", clusterSelect)), h("div", {}, field("Secret", secretSelect)),
      h("div", {}, field("Database", database))),
    field("SQL (Ctrl+Enter runs)", sql), h("div", { class: "row" }, run), status, results);
  return { panel, load, setClusters, select };
}

function fieldValue(f) {
  if (f.isNull) return "NULL";
  const [kind, v] = Object.entries(f)[0] || ["", ""];
  if (kind === "arrayValue" || kind === "blobValue") return JSON.stringify(v);
  return String(v);
}

function createPanel() {
  const inputs = {
    identifier: h("input", { type: "text", required: true, pattern: "[a-zA-Z][a-zA-Z0-9-]{0,62}" }),
    engine: h("select", {}, h("option", { value: "postgresql" }, "Aurora PostgreSQL"), h("option", { value: "mysql" }, "Aurora MySQL")),
    version: h("select", {}, h("option", { value: "v2" }, "Serverless v2"), h("option", { value: "v1" }, "Serverless v1")),
    master_username: h("input", { type: "text", required: true, value: "admin1" }),
    master_password: h("input", { type: "password", required: true, minlength: 8 }),
    database_name: h("input", { type: "text" }),
    min_capacity: h("input", { type: "number", step: "0.5", min: 0 }),
    max_capacity: h("input", { type: "number", step: "0.5", min: 0.5 }),
    auto_pause_seconds: h("input", { type: "number", step: "1", min: 0 }),
  };
  const labels = {
    identifier: "Identifier", engine: "Engine", version: "Version", master_username: "Master username",
    master_password: "Master password", database_name: "Database name (optional)",
    min_capacity: "Min capacity (ACU)", max_capacity: "Max capacity (ACU)", auto_pause_seconds: "Auto-pause after (s)",
  };
  const message = h("p", { role: "status" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create cluster");
  const form = h("form", { id: "create-cluster" },
    h("div", { class: "row" }, Object.entries(inputs).map(([k, el]) => h("div", {}, field(labels[k], el)))),
    h("div", { class: "row" }, submit), message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = {};
    for (const [k, el] of Object.entries(inputs)) {
      if (el.value === "") continue;
      body[k] = el.type === "number" ? Number(el.value) : el.value;
    }
    submit.disabled = true;
    message.className = "muted";
    message.textContent = "Creating… (starting the engine)";
    try {
      const c = await api("db", { method: "POST", json: body });
      message.textContent = `Created ${c.DBClusterIdentifier}.`;
      location.hash = `#/rds/${encodeURIComponent(c.DBClusterIdentifier)}`;
    } catch (err) { message.className = "error"; message.textContent = err.message; }
    finally { submit.disabled = false; }
  });
  return h("section", { class: "panel", "aria-labelledby": "cc-h" }, h("h2", { id: "cc-h" }, "Create a cluster"), form);
}
