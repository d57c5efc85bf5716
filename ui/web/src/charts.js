// Metric charts (uPlot): one metric of one or several runs overlaid, x by
// step, time or relative time, smoothing, log scale, values on hover; and
// the comparison of runs (params side by side, every metric charted).
import uPlot from 'uplot';
import { h, clear, errorBox, fmtNum, kv, enc } from './dom.js';
import * as api from './api.js';
import { downsample, smooth, toSeries, align, metricValue, stepWindow, mergeWindow, pointsPerRun } from './series.js';

const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];
// MAX_POINTS bounds what one series draws; longer ones are downsampled.
export const MAX_POINTS = 4000;

// runIDs reads runs=["a","b"] (MLflow's form) or runs=a,b.
export function runIDs(query) {
  const raw = query.get('runs') || '';
  try {
    const v = JSON.parse(raw);
    if (Array.isArray(v)) return v.map(String);
  } catch { /* comma form */ }
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

// drawChart renders series [{label, points}] into el with the options
// {x: 'step'|'time'|'relative', smoothing, log, title}, and optionally
// xRange [min, max] (the zoom to keep) and onZoom(min, max, full) called
// when the user zooms (full: back to the whole series).
export function drawChart(el, series, o) {
  clear(el);
  let drawn = 0;
  let source = 0;
  const prepared = series.map((s) => {
    const full = toSeries(s.points, o.x);
    source += full.x.length;
    const d = downsample(full.x, full.y, MAX_POINTS);
    drawn += d.x.length;
    return { x: d.x, y: smooth(d.y, o.smoothing) };
  });
  el.dataset.points = String(drawn);
  el.dataset.sourcePoints = String(source);
  if (!source) { el.append(h('p', { class: 'muted' }, 'No values.')); return null; }
  const data = align(prepared);
  const xs = data[0];
  el.dataset.xMin = String(xs[0]);
  el.dataset.xMax = String(xs[xs.length - 1]);
  if (o.log) for (let i = 1; i < data.length; i++) data[i] = data[i].map((v) => (v != null && v > 0 ? v : null));
  const width = Math.max(280, Math.min(el.clientWidth || 800, 1400));
  const opts = {
    title: o.title,
    width,
    height: o.height || 320,
    scales: { x: { time: o.x === 'time' }, y: { distr: o.log ? 3 : 1 } },
    axes: [{ label: o.x === 'step' ? 'step' : o.x === 'time' ? '' : 'seconds' }, { values: (_u, ticks) => ticks.map((t) => (t == null ? '' : fmtNum(t))) }],
    series: [{ label: o.x }].concat(series.map((s, i) => ({
      label: s.label, stroke: palette[i % palette.length], width: 1.5, spanGaps: true,
      points: { show: series.length <= 20 && prepared[i].x.length < 60 },
      value: (_u, v) => (v == null ? '–' : fmtNum(v)),
    }))),
    // A legend row per series is what makes 200 overlaid runs slow: past
    // 20 series the legend is off (the run names are in the tables above).
    legend: { show: series.length <= 20, live: true },
  };
  let live = false;
  if (o.onZoom) {
    opts.hooks = { setScale: [(u, key) => {
      if (!live || key !== 'x') return;
      const { min, max } = u.scales.x;
      o.onZoom(min, max, min <= xs[0] && max >= xs[xs.length - 1]);
    }] };
  }
  const plot = new uPlot(opts, data, el);
  if (o.xRange) plot.setScale('x', { min: o.xRange[0], max: o.xRange[1] });
  live = true;
  el.uplot = plot; // what is drawn, for the browser tests
  el.dataset.drawn = 'true';
  return plot;
}

function controls(state, redraw) {
  const x = h('select', { id: 'x-axis', onchange: () => { state.x = x.value; redraw(); } },
    h('option', { value: 'step' }, 'Step'), h('option', { value: 'time' }, 'Time'), h('option', { value: 'relative' }, 'Relative time'));
  x.value = state.x;
  const sm = h('input', { type: 'range', id: 'smoothing', min: 0, max: 0.99, step: 0.01, value: state.smoothing, oninput: () => { state.smoothing = Number(sm.value); redraw(); } });
  const log = h('input', { type: 'checkbox', id: 'log-scale', checked: state.log, onchange: () => { state.log = log.checked; redraw(); } });
  return h('div', { class: 'toolbar' }, h('label', { htmlFor: 'x-axis' }, 'X axis'), x, h('label', { htmlFor: 'smoothing' }, 'Smoothing'), sm,
    h('label', null, log, ' Log scale'));
}

// metricPage is #/metric/<key>?runs=[...]. The chart first draws what
// get-history-bulk-interval samples of each run (at most 2,500 points, the
// first and last step kept); a zoom asks again for the steps in view, so
// the detail is exact once the window holds 2,500 rows or fewer.
export async function metricPage(main, key, query) {
  const ids = runIDs(query);
  const state = { x: query.get('x_axis') || 'step', smoothing: 0, log: false };
  const box = h('div', { class: 'chart', id: 'metric-chart' });
  const msg = h('div');
  main.append(h('h1', null, key), h('p', { class: 'muted' }, ids.length + ' run' + (ids.length === 1 ? '' : 's')), msg);
  const runs = await Promise.all([
    Promise.all(ids.map((id) => api.get('runs/get', { run_id: id }).then((x) => x.run).catch(() => null))),
    api.sampledHistory(ids, key),
  ]).then(([infos, sampled]) => ids.map((id, i) => {
    const points = sampled.get(id) || [];
    return { id, label: (infos[i] && infos[i].info.run_name) || id, overview: points, points, run: infos[i] };
  })).catch((err) => { msg.append(errorBox(err)); return []; });
  const links = h('ul', { class: 'inline-list' }, runs.filter((r) => r.run).map((r) => h('li', null, h('a', { href: '#/experiments/' + enc(r.run.info.experiment_id) + '/runs/' + enc(r.run.info.run_id) }, r.label))));
  let zoom = null;
  let axis = state.x;
  let seq = 0;
  let timer = 0;
  const overview = () => { seq++; zoom = null; delete box.dataset.window; for (const r of runs) r.points = r.overview; };
  const refine = async (x0, x1, my) => {
    let win = null;
    for (const r of runs) {
      const w = stepWindow(r.overview, state.x, x0, x1);
      if (w) win = win ? [Math.min(win[0], w[0]), Math.max(win[1], w[1])] : w;
    }
    if (!win) return;
    const got = await api.sampledHistory(ids, key, api.SAMPLED_MAX, win);
    if (my !== seq) return;
    for (const r of runs) r.points = mergeWindow(r.overview, got.get(r.id) || [], win);
    box.dataset.window = win[0] + '-' + win[1];
    redraw();
  };
  // uPlot reports scale changes after the fact, the initial range and the
  // kept zoom of a redraw included: only a change of view counts.
  const onZoom = (x0, x1, full) => {
    if (full ? zoom === null : zoom && zoom[0] === x0 && zoom[1] === x1) return;
    clearTimeout(timer);
    if (full) { overview(); redraw(); return; }
    zoom = [x0, x1];
    const my = ++seq;
    timer = setTimeout(() => refine(x0, x1, my).catch((err) => msg.append(errorBox(err))), 150);
  };
  const redraw = () => {
    if (state.x !== axis) { axis = state.x; overview(); }
    drawChart(box, runs, { ...state, title: key, xRange: zoom, onZoom });
  };
  main.append(controls(state, redraw), box, links);
  redraw();
}

// getRuns fetches runs in the order of ids: with the experiments known
// (MLflow's compare links carry them), one search per 100 ids, side by
// side; any run not found that way (or without experiments) by runs/get,
// 16 at a time.
async function getRuns(ids, experiments) {
  const byID = new Map();
  if (experiments.length) {
    const searches = [];
    for (let i = 0; i < ids.length; i += 100) {
      const chunk = ids.slice(i, i + 100);
      searches.push(api.post('runs/search', { experiment_ids: experiments, max_results: 1000, run_view_type: 'ALL',
        filter: 'attributes.run_id IN (' + chunk.map((x) => "'" + x.replace(/'/g, '') + "'").join(',') + ')' })
        .catch(() => ({}))); // fall back to runs/get below
    }
    for (const r of await Promise.all(searches)) {
      for (const run of r.runs || []) byID.set(run.info.run_id, run);
    }
  }
  const missing = ids.filter((id) => !byID.has(id));
  let next = 0;
  const worker = async () => {
    while (next < missing.length) {
      const id = missing[next++];
      byID.set(id, (await api.get('runs/get', { run_id: id })).run);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, missing.length) }, worker));
  return ids.map((id) => byID.get(id));
}

// comparePage is #/compare-runs?runs=[...]: params side by side (rows
// that differ marked), then one chart per metric with every run overlaid,
// drawn as it scrolls into view.
export async function comparePage(main, query) {
  const ids = runIDs(query);
  main.append(h('h1', null, 'Compare ' + ids.length + ' runs'));
  if (!ids.length) { main.append(h('p', null, 'No runs selected.')); return; }
  let experiments = [];
  try { experiments = JSON.parse(query.get('experiments') || '[]').map(String); } catch { experiments = []; }
  const runs = await getRuns(ids, experiments);
  const name = (r) => r.info.run_name || r.info.run_id;
  const pmaps = runs.map((r) => kv(r.data.params));
  const pkeys = [...new Set(runs.flatMap((r) => (r.data.params || []).map((p) => p.key)))].sort();
  const onlyDiff = h('input', { type: 'checkbox', id: 'only-diff', onchange: () => fillParams() });
  const ptable = h('div', { class: 'scroll-x' });
  const shownRuns = runs.slice(0, 50);
  const fillParams = () => {
    const keys = pkeys.filter((k) => !onlyDiff.checked || new Set(pmaps.map((m) => m[k])).size > 1);
    clear(ptable).append(h('table', { class: 'grid compare' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Param'), shownRuns.map((r) => h('th', { scope: 'col' },
        h('a', { href: '#/experiments/' + enc(r.info.experiment_id) + '/runs/' + enc(r.info.run_id) }, name(r)))))),
      h('tbody', null, keys.map((k) => {
        const differs = new Set(pmaps.map((m) => m[k])).size > 1;
        return h('tr', { class: differs ? 'differs' : '' }, h('th', { scope: 'row' }, k), shownRuns.map((_r, i) => h('td', null, pmaps[i][k] ?? '')));
      }))));
  };
  fillParams();
  main.append(h('section', null, h('h2', null, 'Parameters'), runs.length > shownRuns.length ? h('p', { class: 'muted' }, 'Showing the first 50 runs side by side.') : null,
    h('label', null, onlyDiff, ' Only rows that differ'), ptable));

  const mkeys = [...new Set(runs.flatMap((r) => (r.data.metrics || []).map((m) => m.key)))].sort();
  const mmaps = runs.map((r) => kv(r.data.metrics));
  main.append(h('section', null, h('h2', null, 'Latest metrics'), h('div', { class: 'scroll-x' }, h('table', { class: 'grid compare' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Metric'), shownRuns.map((r) => h('th', { scope: 'col' }, name(r))))),
    h('tbody', null, mkeys.map((k) => h('tr', null, h('th', { scope: 'row' }, k),
      shownRuns.map((_r, i) => h('td', null, mmaps[i][k] == null ? '' : fmtNum(metricValue(mmaps[i][k])))))))))));
  const state = { x: 'step', smoothing: 0, log: false };
  const grid = h('div', { class: 'charts' });
  const boxes = [];
  const redraw = () => { for (const b of boxes) if (b.series) drawChart(b.el, b.series, { ...state, title: b.key, height: 240 }); };
  main.append(h('section', null, h('h2', null, 'Metrics (' + mkeys.length + ')'), controls(state, redraw), grid));
  // Each chart asks the server for as many points per run as it has pixel
  // columns, about 20,000 in all when many runs share it (at least 100 per
  // run): 100 per run for 200 runs. Its 100-run calls run side by side and
  // each chart draws when its own answers are in.
  const load = async (b) => {
    try {
      const perRun = pointsPerRun(ids.length, b.el.clientWidth);
      b.el.dataset.perRun = String(perRun);
      const got = await api.sampledHistory(ids, b.key, perRun);
      b.series = runs.map((r) => ({ label: name(r), points: got.get(r.info.run_id) || [], id: r.info.run_id })).filter((s) => s.points.length);
      drawChart(b.el, b.series, { ...state, title: b.key, height: 240 });
    } catch (err) { clear(b.el).append(errorBox(err)); }
  };
  const io = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) continue;
      io.unobserve(e.target);
      const b = boxes.find((x) => x.el === e.target);
      if (b) load(b);
    }
  }, { rootMargin: '300px' });
  for (const key of mkeys) {
    const el = h('div', { class: 'chart small', 'data-metric': key, 'aria-label': 'Chart of ' + key }, h('p', { class: 'muted' }, key));
    boxes.push({ key, el });
    grid.append(el);
    io.observe(el);
  }
}
