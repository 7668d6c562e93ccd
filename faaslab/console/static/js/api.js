// The console's JSON API and its event stream. Every change carries the CSRF value the
// page got in its HTML (security.py); the session cookie goes with every request.
const CSRF = document.querySelector('meta[name="faaslab-csrf"]').content;
export const BASE = new URL("api/", document.baseURI.replace(/[^/]*$/, "")).pathname;

export class ApiError extends Error {
  constructor(status, body, errorType) {
    super(body && (body.message || body.Message) ? body.message || body.Message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
    // (AWS's error type: in the body, or in x-amzn-ErrorType as the Data API sends it)
    this.code = (body && (body.code || body.__type)) || errorType;
  }
}

export async function api(path, { method = "GET", json, body, raw = false } = {}) {
  const headers = {};
  if (method !== "GET" && method !== "HEAD") headers["X-Faaslab-Csrf"] = CSRF;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const resp = await fetch(BASE + path, { method, headers, body, credentials: "same-origin" });
  if (raw) return resp;
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (!resp.ok) throw new ApiError(resp.status, data, resp.headers.get("x-amzn-ErrorType"));
  return data;
}

// One EventSource for the whole page; pages subscribe to event names.
const listeners = new Map();
let source = null;
export const latest = {};  // the last data of each event name (a page opened later starts there)

export function connect(onStatus) {
  source = new EventSource(BASE + "events");
  source.onopen = () => onStatus("live");
  source.onerror = () => onStatus(source.readyState === 2 ? "disconnected" : "reconnecting…");
  for (const name of ["hello", "environments", "clusters", "rds-event", "metrics", "logs"]) {
    source.addEventListener(name, (e) => {
      const data = JSON.parse(e.data);
      latest[name] = data;
      for (const fn of listeners.get(name) || []) fn(data);
    });
  }
}

export function on(name, fn) {
  if (!listeners.has(name)) listeners.set(name, new Set());
  listeners.get(name).add(fn);
  return () => listeners.get(name).delete(fn);
}
