// A run: status and times, description, params, latest metrics, editable
// tags and the artifact browser with previews and downloads.
import { h, clear, errorBox, fmtTime, fmtDuration, fmtNum, kv, enc } from './dom.js';
import * as api from './api.js';
import { session } from './session.js';
import { metricValue } from './series.js';
import { preview } from './preview.js';

const noteTag = 'mlflow.note.content';

export async function runPage(main, expID, runID, _query, artifactPath) {
  const run = (await api.get('runs/get', { run_id: runID })).run;
  const info = run.info;
  const exp = expID || info.experiment_id;
  const tags = kv(run.data.tags);
  const msg = h('div', { 'aria-live': 'assertive' });
  const fail = (err) => clear(msg).append(errorBox(err));

  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/experiments' }, 'Experiments'), ' / ',
      h('a', { href: '#/experiments/' + enc(exp) }, 'Experiment ' + exp), ' / '),
    h('h1', null, info.run_name || info.run_id),
    msg,
    h('dl', { class: 'facts' },
      fact('Run ID', h('code', null, info.run_id)), fact('Status', h('span', { class: 'status ' + String(info.status).toLowerCase() }, info.status)),
      fact('Started', fmtTime(info.start_time)), fact('Ended', fmtTime(info.end_time)), fact('Duration', fmtDuration(info.start_time, info.end_time)),
      fact('User', info.user_id || ''), fact('Lifecycle', info.lifecycle_stage),
      tags['mlflow.parentRunId'] ? fact('Parent run', h('a', { href: '#/experiments/' + enc(exp) + '/runs/' + enc(tags['mlflow.parentRunId']) }, tags['mlflow.parentRunId'])) : null,
      fact('Artifacts', h('code', null, info.artifact_uri || ''))));

  // Description (MLflow keeps it in the mlflow.note.content tag).
  const desc = h('section', { 'aria-labelledby': 'h-desc' }, h('h2', { id: 'h-desc' }, 'Description'));
  const showDesc = () => {
    clear(desc).append(h('h2', { id: 'h-desc' }, 'Description'), h('div', { class: 'note' }, tags[noteTag] || h('span', { class: 'muted' }, 'None')));
    if (session.canWrite) desc.append(h('button', { type: 'button', class: 'editonly', onclick: editDesc }, 'Edit description'));
  };
  const editDesc = () => {
    const ta = h('textarea', { rows: 5, 'aria-label': 'Description', value: tags[noteTag] || '' });
    clear(desc).append(h('h2', { id: 'h-desc' }, 'Description'), h('form', { onsubmit: async (e) => {
      e.preventDefault();
      try { await api.post('runs/set-tag', { run_id: runID, key: noteTag, value: ta.value }); tags[noteTag] = ta.value; showDesc(); } catch (err) { fail(err); }
    } }, ta, h('div', null, h('button', { type: 'submit' }, 'Save'), ' ', h('button', { type: 'button', onclick: showDesc }, 'Cancel'))));
    ta.focus();
  };
  showDesc();
  main.append(desc);

  // Params.
  const params = (run.data.params || []).slice().sort((a, b) => a.key.localeCompare(b.key));
  main.append(h('section', { 'aria-labelledby': 'h-params' }, h('h2', { id: 'h-params' }, 'Parameters (' + params.length + ')'),
    kvTable(params.map((p) => [p.key, p.value]), 'Parameter')));

  // Metrics: latest values, each linking to its chart.
  const metrics = (run.data.metrics || []).slice().sort((a, b) => a.key.localeCompare(b.key));
  main.append(h('section', { 'aria-labelledby': 'h-metrics' }, h('h2', { id: 'h-metrics' }, 'Metrics (' + metrics.length + ')'),
    kvTable(metrics.map((m) => [h('a', { href: '#/metric/' + enc(m.key) + '?runs=' + enc(JSON.stringify([runID])) + '&experiments=' + enc(JSON.stringify([exp])) }, m.key),
      fmtNum(metricValue(m.value)), 'step ' + (m.step || 0)]), 'Metric', ['Latest', 'Step'])));

  // Tags.
  const tagSec = h('section', { 'aria-labelledby': 'h-tags' });
  const showTags = () => {
    const rows = Object.keys(tags).filter((k) => !k.startsWith('mlflow.')).sort();
    const table = h('table', { class: 'grid kv' }, h('thead', null, h('tr', null, h('th', null, 'Tag'), h('th', null, 'Value'), session.canWrite ? h('th', null, h('span', { class: 'sr' }, 'Actions')) : null)),
      h('tbody', null, rows.map((k) => h('tr', { 'data-tag': k }, h('td', null, k), h('td', null, tags[k]),
        session.canWrite ? h('td', { class: 'editonly' }, h('button', { type: 'button', 'aria-label': 'Delete tag ' + k, onclick: async () => {
          try { await api.post('runs/delete-tag', { run_id: runID, key: k }); delete tags[k]; showTags(); } catch (err) { fail(err); }
        } }, 'Delete')) : null))));
    clear(tagSec).append(h('h2', { id: 'h-tags' }, 'Tags'), rows.length ? table : h('p', { class: 'muted' }, 'No tags.'));
    if (session.canWrite) {
      const k = h('input', { type: 'text', id: 'tag-key', required: true });
      const v = h('input', { type: 'text', id: 'tag-value' });
      tagSec.append(h('form', { class: 'inline editonly', id: 'tag-form', onsubmit: async (e) => {
        e.preventDefault();
        try { await api.post('runs/set-tag', { run_id: runID, key: k.value, value: v.value }); tags[k.value] = v.value; showTags(); } catch (err) { fail(err); }
      } }, h('label', { htmlFor: 'tag-key' }, 'Key'), k, h('label', { htmlFor: 'tag-value' }, 'Value'), v, h('button', { type: 'submit' }, 'Set tag')));
    }
  };
  showTags();
  main.append(tagSec);

  // Artifacts.
  const tree = h('ul', { class: 'tree', role: 'tree', 'aria-label': 'Artifacts' });
  const pane = h('div', { class: 'pane', 'aria-live': 'polite' });
  main.append(h('section', { 'aria-labelledby': 'h-art' }, h('h2', { id: 'h-art' }, 'Artifacts'), h('div', { class: 'artifacts' }, tree, pane)));
  const open = async (path) => {
    clear(pane).append(h('p', { class: 'muted' }, 'Loading ' + path + '…'));
    try {
      clear(pane).append(await preview(api.artifactURL(runID, path), path, api.artifactURL(runID, path)));
    } catch (err) { clear(pane).append(errorBox(err)); }
  };
  const list = async (path, ul) => {
    try {
      const r = await api.get('artifacts/list', { run_id: runID, path: path || undefined });
      const files = r.files || [];
      if (!files.length && !path) ul.append(h('li', { class: 'muted' }, 'No artifacts.'));
      for (const f of files) {
        const name = f.path.split('/').pop();
        if (f.is_dir) {
          const sub = h('ul', { role: 'group', hidden: true });
          let loaded = false;
          const mark = h('span', { 'aria-hidden': 'true' }, '▸ ');
          const btn = h('button', { type: 'button', class: 'dir', 'aria-expanded': 'false', onclick: async () => {
            sub.hidden = !sub.hidden;
            mark.textContent = sub.hidden ? '▸ ' : '▾ ';
            btn.setAttribute('aria-expanded', String(!sub.hidden));
            if (!loaded) { loaded = true; await list(f.path, sub); }
          } }, mark, name + '/');
          ul.append(h('li', { role: 'treeitem' }, btn, sub));
        } else {
          ul.append(h('li', { role: 'treeitem' }, h('button', { type: 'button', class: 'file', onclick: () => open(f.path) }, name),
            f.file_size != null ? h('span', { class: 'muted small' }, ' ' + f.file_size + ' B') : null));
        }
      }
      if (artifactPath && !path) open(artifactPath);
    } catch (err) { ul.append(h('li', null, errorBox(err))); }
  };
  await list('', tree);
}

function fact(k, v) {
  return [h('dt', null, k), h('dd', null, v)];
}

export function kvTable(rows, first, rest = ['Value']) {
  if (!rows.length) return h('p', { class: 'muted' }, 'None.');
  return h('table', { class: 'grid kv' }, h('thead', null, h('tr', null, h('th', null, first), rest.map((r) => h('th', null, r)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))));
}
