// The runs of an experiment: a lean table that renders only the rows in
// view, pages through the server with page_token, filters with MLflow's
// grammar (the server's message shown inline), orders by any column, nests
// child runs under their parent and selects runs to compare.
import { h, clear, errorBox, fmtTime, fmtDuration, fmtNum, kv, enc } from './dom.js';
import * as api from './api.js';
import { buildFilter, orderBy } from './filter.js';
import { metricValue } from './series.js';

const ROW = 30; // px, fixed so only the visible rows are rendered
const PAGE = 500;
const parentTag = 'mlflow.parentRunId';

const baseCols = [
  { kind: 'attributes', key: 'run_name', label: 'Run' },
  { kind: 'attributes', key: 'start_time', label: 'Created' },
  { kind: 'attributes', key: 'duration', label: 'Duration', noSort: true },
  { kind: 'attributes', key: 'status', label: 'Status' },
  { kind: 'attributes', key: 'user_id', label: 'User' },
];

function colID(c) { return c.kind + '.' + c.key; }

export async function runsPage(main, expID, query) {
  const exp = (await api.get('experiments/get', { experiment_id: expID })).experiment;
  const store = 'mlgate.columns.' + expID;
  let chosen = [];
  const saved = localStorage.getItem(store);
  try { chosen = JSON.parse(saved || '[]'); } catch { chosen = []; }
  const st = {
    filter: query.get('searchFilter') || '',
    order: { col: baseCols[1], asc: false },
    view: 'ACTIVE_ONLY',
    runs: [], token: '', loading: false, done: false, seq: 0,
    selected: new Set(), expanded: new Set(),
    keys: { metrics: new Set(), params: new Set(), tags: new Set() },
    rows: [],
  };

  const filterInput = h('input', { type: 'search', id: 'run-filter', value: st.filter, 'aria-describedby': 'filter-help filter-error',
    placeholder: "metrics.rmse < 1 and params.alpha = '0.5'", 'aria-label': 'Filter runs' });
  const filterForm = h('form', { class: 'inline grow', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    st.filter = filterInput.value;
    // Keep the filter in the URL (shareable) without a new history entry.
    const q = st.filter ? '?searchFilter=' + enc(st.filter) : '';
    history.replaceState(null, '', '#/experiments/' + enc(expID) + '/runs' + q);
    reload();
  } },
    filterInput, h('button', { type: 'submit' }, 'Search'));
  const filterErr = h('div', { id: 'filter-error', 'aria-live': 'assertive' });
  const viewSel = h('select', { 'aria-label': 'Which runs', onchange: () => { st.view = viewSel.value; reload(); } },
    h('option', { value: 'ACTIVE_ONLY' }, 'Active'), h('option', { value: 'DELETED_ONLY' }, 'Deleted'), h('option', { value: 'ALL' }, 'All'));
  const compareBtn = h('button', { type: 'button', disabled: true, onclick: () => {
    location.hash = '#/compare-runs?runs=' + enc(JSON.stringify([...st.selected])) + '&experiments=' + enc(JSON.stringify([expID]));
  } }, 'Compare');
  const colsBtn = h('button', { type: 'button', 'aria-expanded': 'false', 'aria-controls': 'col-picker', onclick: () => togglePicker() }, 'Columns');
  const picker = h('div', { id: 'col-picker', class: 'picker', hidden: true });
  const status = h('div', { class: 'muted', id: 'runs-status', 'aria-live': 'polite' });
  const moreBtn = h('button', { type: 'button', hidden: true, onclick: () => loadMore() }, 'Load more');

  const thead = h('thead');
  const tbody = h('tbody');
  const table = h('table', { class: 'grid runs', 'aria-rowcount': '0' }, thead, tbody);
  const scroller = h('div', { class: 'scroller', tabindex: '0', 'aria-label': 'Runs table' }, table);
  scroller.addEventListener('scroll', () => { paint(); if (scroller.scrollTop + scroller.clientHeight > scroller.scrollHeight - 8 * ROW) loadMore(); }, { passive: true });

  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/experiments' }, 'Experiments'), ' / '),
    h('h1', null, exp.name, h('span', { class: 'muted small' }, ' ID ' + exp.experiment_id)),
    h('div', { class: 'toolbar' }, filterForm, viewSel, colsBtn, compareBtn),
    h('p', { id: 'filter-help', class: 'muted small' }, 'Filter with MLflow\'s grammar, e.g. ', h('code', null, "metrics.rmse < 1 and params.alpha = '0.5'"), ', or type text to match run names.'),
    filterErr, picker, status, scroller, moreBtn);

  function cols() { return baseCols.concat(chosen); }

  function header() {
    clear(thead);
    const tr = h('tr', null, h('th', { class: 'sel' }, h('span', { class: 'sr' }, 'Select')));
    for (const c of cols()) {
      const sorted = colID(st.order.col) === colID(c);
      const label = c.label || c.kind.replace(/s$/, '') + ': ' + c.key;
      const th = h('th', { scope: 'col', 'aria-sort': sorted ? (st.order.asc ? 'ascending' : 'descending') : null, title: c.kind + '.' + c.key },
        c.noSort ? label : h('button', { type: 'button', class: 'sort', onclick: () => {
          st.order = { col: c, asc: sorted ? !st.order.asc : false };
          reload();
        } }, label, sorted ? (st.order.asc ? ' ▲' : ' ▼') : ''));
      if (chosen.includes(c)) {
        th.append(h('button', { type: 'button', class: 'x', 'aria-label': 'Remove column ' + c.key, onclick: () => setCols(chosen.filter((x) => x !== c)) }, '×'));
      }
      tr.append(th);
    }
    thead.append(tr);
  }

  function setCols(next) {
    chosen = next;
    localStorage.setItem(store, JSON.stringify(chosen.map((c) => ({ kind: c.kind, key: c.key }))));
    header();
    layout();
  }

  function togglePicker() {
    picker.hidden = !picker.hidden;
    colsBtn.setAttribute('aria-expanded', String(!picker.hidden));
    if (picker.hidden) return;
    clear(picker);
    const search = h('input', { type: 'search', placeholder: 'Find a metric, param or tag key', 'aria-label': 'Find a column' });
    const list = h('ul', { class: 'keys' });
    const fill = () => {
      clear(list);
      const q = search.value.toLowerCase();
      let shown = 0;
      let total = 0;
      for (const kind of ['metrics', 'params', 'tags']) {
        for (const key of [...st.keys[kind]].sort()) {
          if (q && !key.toLowerCase().includes(q)) continue;
          total++;
          if (shown >= 200) continue;
          shown++;
          const on = chosen.some((c) => c.kind === kind && c.key === key);
          const id = 'col-' + kind + '-' + shown;
          list.append(h('li', null, h('input', { type: 'checkbox', id, checked: on, onchange: (e) => {
            if (e.target.checked) setCols(chosen.concat([{ kind, key }]));
            else setCols(chosen.filter((c) => !(c.kind === kind && c.key === key)));
          } }), h('label', { htmlFor: id }, h('span', { class: 'kind' }, kind.replace(/s$/, '')), ' ', key)));
        }
      }
      if (total > shown) list.append(h('li', { class: 'muted' }, (total - shown) + ' more: narrow the search'));
    };
    search.addEventListener('input', fill);
    picker.append(search, list);
    fill();
    search.focus();
  }

  function noteKeys(runs) {
    for (const r of runs) {
      for (const m of r.data.metrics || []) st.keys.metrics.add(m.key);
      for (const p of r.data.params || []) st.keys.params.add(p.key);
      for (const t of r.data.tags || []) if (!t.key.startsWith('mlflow.')) st.keys.tags.add(t.key);
    }
  }

  // layout orders the loaded runs with children under expanded parents.
  function layout() {
    const byID = new Map(st.runs.map((r) => [r.info.run_id, r]));
    const kids = new Map();
    const top = [];
    for (const r of st.runs) {
      const p = r._tags[parentTag];
      if (p && byID.has(p)) {
        if (!kids.has(p)) kids.set(p, []);
        kids.get(p).push(r);
      } else top.push(r);
    }
    const rows = [];
    const walk = (r, depth) => {
      rows.push({ run: r, depth, kids: (kids.get(r.info.run_id) || []).length });
      if (st.expanded.has(r.info.run_id)) for (const k of kids.get(r.info.run_id) || []) walk(k, depth + 1);
    };
    for (const r of top) walk(r, 0);
    st.rows = rows;
    table.setAttribute('aria-rowcount', String(rows.length + 1));
    paint(true);
  }

  let painted = '';
  function paint(force) {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - 10);
    const count = Math.ceil((scroller.clientHeight || 600) / ROW) + 20;
    const last = Math.min(st.rows.length, first + count);
    const keyNow = first + ':' + last;
    if (!force && keyNow === painted) return;
    painted = keyNow;
    const cs = cols();
    const frag = document.createDocumentFragment();
    frag.append(h('tr', { class: 'spacer', style: 'height:' + first * ROW + 'px' }));
    for (let i = first; i < last; i++) frag.append(rowEl(st.rows[i], cs, i));
    frag.append(h('tr', { class: 'spacer', style: 'height:' + (st.rows.length - last) * ROW + 'px' }));
    clear(tbody).append(frag);
  }

  function rowEl(row, cs, i) {
    const r = row.run;
    const id = r.info.run_id;
    const tr = h('tr', { 'aria-rowindex': String(i + 2), 'data-run-id': id });
    tr.append(h('td', { class: 'sel' }, h('input', { type: 'checkbox', checked: st.selected.has(id), 'aria-label': 'Select ' + (r.info.run_name || id),
      onchange: (e) => { if (e.target.checked) st.selected.add(id); else st.selected.delete(id); selection(); } })));
    for (const c of cs) tr.append(h('td', null, cell(row, c)));
    return tr;
  }

  function cell(row, c) {
    const r = row.run;
    const info = r.info;
    if (c.kind === 'attributes') {
      switch (c.key) {
        case 'run_name': {
          const link = h('a', { href: '#/experiments/' + enc(info.experiment_id) + '/runs/' + enc(info.run_id) }, info.run_name || info.run_id);
          const out = [h('span', { class: 'indent', style: 'width:' + row.depth * 16 + 'px' })];
          if (row.kids) {
            const open = st.expanded.has(info.run_id);
            out.push(h('button', { type: 'button', class: 'twist', 'aria-expanded': String(open), 'aria-label': (open ? 'Collapse ' : 'Expand ') + row.kids + ' child runs',
              onclick: () => { if (open) st.expanded.delete(info.run_id); else st.expanded.add(info.run_id); layout(); } }, open ? '▾' : '▸', ' ' + row.kids));
          }
          out.push(link);
          return out;
        }
        case 'start_time': return fmtTime(info.start_time);
        case 'duration': return fmtDuration(info.start_time, info.end_time);
        case 'status': return h('span', { class: 'status ' + String(info.status).toLowerCase() }, info.status);
        case 'user_id': return info.user_id || '';
        default: return info[c.key] == null ? '' : String(info[c.key]);
      }
    }
    if (c.kind === 'metrics') {
      const v = r._metrics[c.key];
      return v == null ? '' : fmtNum(metricValue(v));
    }
    if (c.kind === 'params') return r._params[c.key] ?? '';
    return r._tags[c.key] ?? '';
  }

  function selection() {
    compareBtn.disabled = st.selected.size < 1;
    compareBtn.textContent = st.selected.size ? 'Compare ' + st.selected.size : 'Compare';
  }

  async function loadMore() {
    if (st.loading || st.done) return;
    st.loading = true;
    const my = st.seq;
    const body = {
      experiment_ids: [expID], max_results: PAGE, run_view_type: st.view,
      order_by: [orderBy(st.order.col, st.order.asc)],
    };
    const f = buildFilter(st.filter);
    if (f) body.filter = f;
    if (st.token) body.page_token = st.token;
    try {
      const res = await api.post('runs/search', body);
      if (my !== st.seq) return;
      clear(filterErr);
      const runs = res.runs || [];
      for (const r of runs) {
        r.data = r.data || {};
        r._tags = kv(r.data.tags);
        r._params = kv(r.data.params);
        r._metrics = kv(r.data.metrics);
      }
      st.runs.push(...runs);
      noteKeys(runs);
      if (saved == null && !chosen.length && !st.defaulted) {
        // First visit: show a few metrics and params of the first page.
        st.defaulted = true;
        const pick = (kind) => [...st.keys[kind]].sort().slice(0, 4).map((key) => ({ kind, key }));
        chosen = pick('metrics').concat(pick('params'));
        header();
      }
      st.token = res.next_page_token || '';
      st.done = !st.token;
      status.textContent = st.runs.length + (st.done ? ' runs' : '+ runs (scroll for more)');
      moreBtn.hidden = st.done;
      layout();
    } catch (err) {
      if (my !== st.seq) return;
      clear(filterErr).append(errorBox(err));
      status.textContent = '';
      st.done = true;
      moreBtn.hidden = true;
      layout();
    } finally {
      if (my === st.seq) st.loading = false;
    }
  }

  function reload() {
    st.seq++;
    st.runs = []; st.token = ''; st.done = false; st.loading = false;
    scroller.scrollTop = 0;
    header();
    return loadMore();
  }

  // Columns saved for this experiment are kept as plain {kind, key}.
  chosen = chosen.filter((c) => c && c.kind && c.key);
  header();
  await loadMore();
}
