// The serving dashboard: the runs `mlgate models serve --log-experiment`
// writes (traffic, errors and latency per model version over time) and the
// rollouts recorded on registered models (tag mlgate.rollout).
import { h, clear, errorBox, fmtTime, kv, enc } from './dom.js';
import * as api from './api.js';
import { drawChart } from './charts.js';

const source = 'mlgate models serve';
const figures = [
  ['requests', 'Requests per interval'],
  ['errors_5xx', 'Server errors (5xx)'],
  ['errors_4xx', 'Client errors (4xx)'],
  ['latency_p50_ms', 'Latency p50 (ms)'],
  ['latency_p99_ms', 'Latency p99 (ms)'],
];

// versionKeys groups a run's metric keys "version.V.NAME" by figure name.
export function versionKeys(keys) {
  const out = {};
  for (const k of keys) {
    const m = k.match(/^version\.([^.]+)\.(.+)$/);
    if (m) (out[m[2]] ||= []).push({ version: m[1], key: k });
  }
  return out;
}

export async function servingPage(main) {
  main.append(h('h1', null, 'Serving'));
  const msg = h('div');
  main.append(msg);
  let exps = [];
  try {
    exps = (await api.post('experiments/search', { max_results: 1000 })).experiments || [];
  } catch (err) { msg.append(errorBox(err)); return; }
  let runs = [];
  for (let i = 0; i < exps.length && i < 1000; i += 100) {
    const r = await api.post('runs/search', { experiment_ids: exps.slice(i, i + 100).map((e) => e.experiment_id), max_results: 50,
      filter: "tags.`mlflow.source.name` = '" + source + "'", order_by: ['attributes.start_time DESC'] });
    runs = runs.concat(r.runs || []);
  }
  const rollouts = h('section', null, h('h2', null, 'Rollouts'));
  main.append(rollouts);
  try {
    const models = (await api.get('registered-models/search', { max_results: 1000 })).registered_models || [];
    const active = models.filter((m) => kv(m.tags)['mlgate.rollout']);
    if (!active.length) rollouts.append(h('p', { class: 'muted' }, 'No rollouts recorded.'));
    for (const m of active) {
      let st = {};
      try { st = JSON.parse(kv(m.tags)['mlgate.rollout']); } catch { /* shown raw */ }
      rollouts.append(h('div', { class: 'card' }, h('h3', null, h('a', { href: '#/models/' + enc(m.name) }, m.name)),
        h('dl', { class: 'facts' }, Object.entries(st).filter(([, v]) => typeof v !== 'object').map(([k, v]) => [h('dt', null, k), h('dd', null, String(v))]))));
    }
  } catch (err) { rollouts.append(errorBox(err)); }

  const sec = h('section', null, h('h2', null, 'Serving runs (' + runs.length + ')'));
  main.append(sec);
  if (!runs.length) { sec.append(h('p', { class: 'muted' }, 'No serving runs: start one with ', h('code', null, 'mlgate models serve --log-experiment NAME'), '.')); return; }
  for (const r of runs.slice(0, 20)) {
    const tags = kv(r.data.tags);
    const card = h('div', { class: 'card' }, h('h3', null, h('a', { href: '#/experiments/' + enc(r.info.experiment_id) + '/runs/' + enc(r.info.run_id) }, r.info.run_name || r.info.run_id),
      ' ', h('span', { class: 'status ' + String(r.info.status).toLowerCase() }, r.info.status)),
    h('p', { class: 'muted small' }, (tags['mlgate.model_uri'] || '') + ' · started ' + fmtTime(r.info.start_time) + (tags['mlgate.address'] ? ' · ' + tags['mlgate.address'] : '')));
    const grid = h('div', { class: 'charts' });
    card.append(grid);
    sec.append(card);
    const groups = versionKeys((r.data.metrics || []).map((m) => m.key));
    for (const [fig, title] of figures) {
      const keys = groups[fig] || [];
      const plain = (r.data.metrics || []).find((m) => m.key === fig);
      if (!keys.length && !plain) continue;
      const el = h('div', { class: 'chart small', 'data-figure': fig });
      grid.append(el);
      try {
        const list = keys.length ? keys : [{ version: 'all', key: fig }];
        const series = await Promise.all(list.map(async (k) => ({ label: 'v' + k.version, points: await api.metricHistory(r.info.run_id, k.key) })));
        drawChart(el, series, { x: 'time', smoothing: 0, log: false, title, height: 200 });
      } catch (err) { clear(el).append(errorBox(err)); }
    }
  }
}
