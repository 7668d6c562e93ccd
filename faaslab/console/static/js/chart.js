// A hand-written canvas line chart. Why not a library: the console ships without a build
// step or CDN, and what it needs is small — one series over time, a few markers, and
// staying smooth at 10,000+ points. Points are decimated to the canvas's pixel columns:
// each column draws its min and max (and the line through them), so the cost of a redraw
// is the width in pixels, not the number of points, and no spike is lost.
export class LineChart {
  constructor(canvas, { label = "", unit = "", color = "#0972d3", min = 0, markerColor = "#ec7211", markerLabel = "marked" } = {}) {
    this.canvas = canvas;
    this.markerLabel = markerLabel;
    this.label = label;
    this.unit = unit;
    this.color = color;
    this.markerColor = markerColor;
    this.fixedMin = min;
    this.points = [];   // [t, v], t ascending
    this.markers = [];  // [t, v]: drawn as dots (cold starts)
    this.pending = false;
    canvas.setAttribute("role", "img");
    this.resizeObserver = new ResizeObserver(() => this.draw());
    this.resizeObserver.observe(canvas);
  }

  set(points, markers = []) {
    this.points = points;
    this.markers = markers;
    this.schedule();
  }

  add(points, markers = []) {
    for (const p of points) this.points.push(p);
    for (const m of markers) this.markers.push(m);
    this.schedule();
  }

  schedule() {  // one redraw per animation frame, however many updates arrive
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  describe() {
    const n = this.points.length;
    if (!n) return `${this.label}: no data yet`;
    const last = this.points[n - 1][1];
    const marked = this.markers.length ? `, ${this.markers.length} ${this.markerLabel}` : "";
    return `${this.label}: ${n} points, latest ${fmt(last)} ${this.unit}${marked}`;
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * dpr));
    const hgt = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== hgt) { c.width = w; c.height = hgt; }
    const g = c.getContext("2d");
    g.clearRect(0, 0, w, hgt);
    c.setAttribute("aria-label", this.describe());
    const pts = this.points;
    const pad = { l: 44 * dpr, r: 8 * dpr, t: 8 * dpr, b: 18 * dpr };
    const pw = w - pad.l - pad.r, ph = hgt - pad.t - pad.b;
    g.font = `${11 * dpr}px system-ui, sans-serif`;
    g.fillStyle = "#5f6b7a";
    if (!pts.length) { g.fillText("no data yet", pad.l, pad.t + ph / 2); return; }
    const t0 = pts[0][0], t1 = Math.max(pts[pts.length - 1][0], t0 + 1);
    let lo = this.fixedMin ?? Infinity, hi = -Infinity;
    for (const [, v] of pts) { if (v < lo) lo = v; if (v > hi) hi = v; }
    for (const [, v] of this.markers) { if (v > hi) hi = v; }
    if (hi <= lo) hi = lo + 1;
    const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * pw;
    const y = (v) => pad.t + ph - ((v - lo) / (hi - lo)) * ph;
    // axes: min, max, time span
    g.strokeStyle = "#d5dbdb"; g.lineWidth = 1;
    g.beginPath(); g.moveTo(pad.l, pad.t); g.lineTo(pad.l, pad.t + ph); g.lineTo(pad.l + pw, pad.t + ph); g.stroke();
    g.fillText(fmt(hi), 2, pad.t + 10 * dpr);
    g.fillText(fmt(lo), 2, pad.t + ph);
    g.fillText(new Date(t0 * 1000).toLocaleTimeString(), pad.l, hgt - 4 * dpr);
    const end = new Date(t1 * 1000).toLocaleTimeString();
    g.fillText(end, pad.l + pw - g.measureText(end).width, hgt - 4 * dpr);
    // the series, one min/max pair per pixel column
    g.strokeStyle = this.color; g.lineWidth = 1.5 * dpr; g.beginPath();
    let col = -1, cmin = 0, cmax = 0, first = true;
    const flush = () => {
      if (col < 0) return;
      const px = pad.l + col;
      if (first) { g.moveTo(px, y(cmin)); first = false; } else g.lineTo(px, y(cmin));
      if (cmax !== cmin) g.lineTo(px, y(cmax));
    };
    for (const [t, v] of pts) {
      const c2 = Math.floor(x(t) - pad.l);
      if (c2 !== col) { flush(); col = c2; cmin = cmax = v; }
      else { if (v < cmin) cmin = v; if (v > cmax) cmax = v; }
    }
    flush();
    g.stroke();
    if (pts.length === 1) {  // (a lone point draws no line: a dot)
      g.fillStyle = this.color;
      g.beginPath(); g.arc(x(pts[0][0]), y(pts[0][1]), 2.5 * dpr, 0, Math.PI * 2); g.fill();
    }
    // markers (at most one per pixel column as well)
    g.fillStyle = this.markerColor;
    let lastCol = -1;
    for (const [t, v] of this.markers) {
      const px = Math.floor(x(t));
      if (px === lastCol) continue;
      lastCol = px;
      g.beginPath(); g.arc(px, y(v), 3.5 * dpr, 0, Math.PI * 2); g.fill();
    }
  }
}

function fmt(v) {
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2).replace(/\.?0+$/, "") || "0";
}

// A timeline of invocations per environment: one row per environment (log stream), a
// tick per invocation, orange for a cold start, blue for warm reuse. Hand-written for the
// same reasons as LineChart; ticks are drawn at most once per pixel column per row.
export class Timeline {
  constructor(canvas, { maxRows = 12 } = {}) {
    this.canvas = canvas;
    this.maxRows = maxRows;
    this.rows = new Map();  // stream -> [[t, cold]], in arrival order
    this.pending = false;
    canvas.setAttribute("role", "img");
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  add(stream, t, cold) {
    if (!this.rows.has(stream)) this.rows.set(stream, []);
    this.rows.get(stream).push([t, cold]);
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  describe() {
    let n = 0, cold = 0;
    for (const ticks of this.rows.values()) for (const [, c] of ticks) { n += 1; if (c) cold += 1; }
    return `Invocations by environment: ${this.rows.size} environment(s), ${n} invocation(s), ${cold} cold start(s)`;
  }

  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * dpr)), hgt = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== hgt) { c.width = w; c.height = hgt; }
    const g = c.getContext("2d");
    g.clearRect(0, 0, w, hgt);
    c.setAttribute("aria-label", this.describe());
    g.font = `${11 * dpr}px system-ui, sans-serif`;
    g.fillStyle = "#5f6b7a";
    const rows = [...this.rows.entries()].slice(-this.maxRows);
    if (!rows.length) { g.fillText("no invocations yet", 8 * dpr, hgt / 2); return; }
    let t0 = Infinity, t1 = -Infinity;
    for (const [, ticks] of rows) for (const [t] of ticks) { if (t < t0) t0 = t; if (t > t1) t1 = t; }
    t1 = Math.max(t1, t0 + 1);
    const left = 70 * dpr, right = 8 * dpr, top = 4 * dpr, bottom = 16 * dpr;
    const rowH = (hgt - top - bottom) / rows.length;
    const x = (t) => left + ((t - t0) / (t1 - t0)) * (w - left - right);
    rows.forEach(([stream, ticks], i) => {
      const y = top + i * rowH + rowH / 2;
      g.fillStyle = "#5f6b7a";
      g.fillText(stream.slice(-8), 2 * dpr, y + 4 * dpr);
      g.strokeStyle = "#d5dbdb"; g.lineWidth = 1;
      g.beginPath(); g.moveTo(left, y); g.lineTo(w - right, y); g.stroke();
      const seen = new Set();
      for (const [t, cold] of ticks) {
        const px = Math.floor(x(t));
        const key = px * 2 + (cold ? 1 : 0);
        if (seen.has(key)) continue;
        seen.add(key);
        g.fillStyle = cold ? "#ec7211" : "#0972d3";
        g.fillRect(px - dpr, y - Math.min(rowH / 2 - dpr, 7 * dpr), 2 * dpr, Math.min(rowH - 2 * dpr, 14 * dpr));
      }
    });
    g.fillStyle = "#5f6b7a";
    g.fillText(new Date(t0 * 1000).toLocaleTimeString(), left, hgt - 3 * dpr);
    const end = new Date(t1 * 1000).toLocaleTimeString();
    g.fillText(end, w - right - g.measureText(end).width, hgt - 3 * dpr);
  }
}
