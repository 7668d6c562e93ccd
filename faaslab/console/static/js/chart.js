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
