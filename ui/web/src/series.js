// Series helpers for the charts: downsampling large series to what a chart
// can show, smoothing and the x axis choices.

// downsample keeps at most about n points of (xs, ys) by min/max per
// bucket: each bucket of consecutive points contributes its first, lowest,
// highest and last point (in x order), so spikes survive. xs must be
// sorted. Series of n points or fewer come back unchanged.
export function downsample(xs, ys, n) {
  const len = xs.length;
  if (len <= n || n < 4) return { x: xs, y: ys };
  const buckets = Math.max(1, Math.floor(n / 4));
  const size = len / buckets;
  const ox = [];
  const oy = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size);
    const end = Math.min(len, Math.floor((b + 1) * size));
    if (end <= start) continue;
    let lo = start;
    let hi = start;
    for (let i = start; i < end; i++) {
      const v = ys[i];
      if (v < ys[lo] || Number.isNaN(ys[lo])) lo = i;
      if (v > ys[hi] || Number.isNaN(ys[hi])) hi = i;
    }
    const picks = [start, lo, hi, end - 1].sort((a, b2) => a - b2);
    let last = -1;
    for (const i of picks) {
      if (i === last) continue;
      ox.push(xs[i]);
      oy.push(ys[i]);
      last = i;
    }
  }
  return { x: ox, y: oy };
}

// smooth applies an exponential moving average with weight w in [0, 1)
// (0 = none), debiased like TensorBoard's so the start is not pulled to 0.
export function smooth(ys, w) {
  if (!w) return ys;
  const out = new Array(ys.length);
  let acc = 0;
  let n = 0;
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    if (v == null || !Number.isFinite(v)) { out[i] = v; continue; }
    acc = acc * w + (1 - w) * v;
    n++;
    out[i] = acc / (1 - Math.pow(w, n));
  }
  return out;
}

// xValues maps metric points to the chosen x axis: 'step', 'time' (seconds
// since the epoch) or 'relative' (seconds since the first point).
export function xValues(points, mode) {
  if (mode === 'step') return points.map((p) => Number(p.step || 0));
  const t0 = points.length ? Number(points[0].timestamp) : 0;
  if (mode === 'relative') return points.map((p) => (Number(p.timestamp) - t0) / 1000);
  return points.map((p) => Number(p.timestamp) / 1000);
}

// sortPoints orders a copy of metric points by the x axis of mode.
function sortPoints(points, mode) {
  return points.slice().sort(mode === 'step'
    ? (a, b) => Number(a.step || 0) - Number(b.step || 0) || Number(a.timestamp) - Number(b.timestamp)
    : (a, b) => Number(a.timestamp) - Number(b.timestamp));
}

// toSeries orders metric points by the x axis and returns the arrays.
export function toSeries(points, mode) {
  const ps = sortPoints(points, mode);
  return { x: xValues(ps, mode), y: ps.map((p) => metricValue(p.value)) };
}

// metricValue reads MLflow's JSON value (a number, or "NaN"/"Infinity").
export function metricValue(v) {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return Number(v);
}

// mergeX joins several series on the union of their x values (uPlot's
// aligned data), null where a series has no point.
export function align(series) {
  const set = new Set();
  for (const s of series) for (const x of s.x) set.add(x);
  const xs = Float64Array.from(set).sort();
  const idx = new Map();
  xs.forEach((x, i) => idx.set(x, i));
  const data = [xs];
  for (const s of series) {
    const ys = new Array(xs.length).fill(null);
    for (let i = 0; i < s.x.length; i++) ys[idx.get(s.x[i])] = s.y[i];
    data.push(ys);
  }
  return data;
}

// stepWindow is the step range to fetch again when a chart of the sampled
// points (each {step, timestamp}) is zoomed to [x0, x1] on axis mode: from
// the last sampled point before the range to the first one after it, so
// every logged row drawn inside the range lies in the window. null when
// no point is sampled (nothing to refine).
export function stepWindow(points, mode, x0, x1) {
  const ordered = sortPoints(points, mode);
  const xs = xValues(ordered, mode);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < ordered.length; i++) {
    const s = Number(ordered[i].step || 0);
    const inside = xs[i] >= x0 && xs[i] <= x1;
    const before = xs[i] < x0 && (i + 1 >= ordered.length || xs[i + 1] > x0);
    const after = xs[i] > x1 && (i === 0 || xs[i - 1] < x1);
    if (inside || before || after) { lo = Math.min(lo, s); hi = Math.max(hi, s); }
  }
  return lo === Infinity ? null : [lo, hi];
}

// mergeWindow returns the sampled overview with its points inside the
// step window [lo, hi] replaced by the window's points (read at a finer
// sampling, exact when the window holds no more rows than were asked).
export function mergeWindow(overview, windowPoints, win) {
  const [lo, hi] = win;
  const out = overview.filter((p) => { const s = Number(p.step || 0); return s < lo || s > hi; });
  for (const p of windowPoints) out.push(p);
  return out.sort((a, b) => Number(a.step || 0) - Number(b.step || 0) || Number(a.timestamp) - Number(b.timestamp));
}

// pointsPerRun is how many sampled points per run a chart of width px
// overlaying runs series asks get-history-bulk-interval for: no more than
// the chart has pixel columns, about 20,000 points in all when many runs
// share it, never fewer than 100 per run nor more than MLflow's 2,500.
export function pointsPerRun(runs, width) {
  const budget = Math.floor(20000 / Math.max(1, runs));
  return Math.max(100, Math.min(2500, Math.round(width) || 800, budget));
}
