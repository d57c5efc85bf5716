// The model registry: models, a model's versions with stages, aliases and
// tags (editable) and source runs, a version's MLmodel and signature.
import { h, clear, errorBox, fmtTime, kv, enc } from './dom.js';
import * as api from './api.js';
import { session } from './session.js';
import { artifactText, modelArtifactURL } from './api.js';
import { kvTable } from './run.js';

const stages = ['None', 'Staging', 'Production', 'Archived'];

export async function modelsPage(main) {
  const list = h('div');
  const msg = h('div');
  const search = h('input', { type: 'search', 'aria-label': 'Search models', placeholder: 'Search models by name', oninput: () => load() });
  main.append(h('h1', null, 'Registered models'), h('div', { class: 'toolbar' }, search), msg, list);
  let seq = 0;
  async function load() {
    const my = ++seq;
    const q = search.value.trim();
    try {
      const models = [];
      let token = '';
      do {
        const r = await api.get('registered-models/search', { max_results: 1000, page_token: token, filter: q ? "name ILIKE '%" + q.replace(/'/g, "\\'") + "%'" : '' });
        models.push(...(r.registered_models || []));
        token = r.next_page_token;
      } while (token && models.length < 5000);
      if (my !== seq) return;
      clear(msg);
      clear(list).append(models.length ? h('table', { class: 'grid' },
        h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'Latest versions'), h('th', null, 'Aliases'), h('th', null, 'Updated'))),
        h('tbody', null, models.map((m) => h('tr', null,
          h('td', null, h('a', { href: '#/models/' + enc(m.name) }, m.name)),
          h('td', null, (m.latest_versions || []).map((v) => h('a', { class: 'pill', href: '#/models/' + enc(m.name) + '/versions/' + enc(v.version) }, 'v' + v.version + (v.current_stage && v.current_stage !== 'None' ? ' ' + v.current_stage : '')))),
          h('td', null, (m.aliases || []).map((a) => h('span', { class: 'pill' }, '@' + a.alias + ' → v' + a.version))),
          h('td', null, fmtTime(m.last_updated_timestamp)))))) : h('p', { class: 'muted' }, 'No registered models.'));
    } catch (err) { if (my === seq) clear(msg).append(errorBox(err)); }
  }
  await load();
}

function tagEditor(tags, set, remove, fail) {
  const sec = h('div');
  const show = () => {
    const keys = Object.keys(tags).sort();
    clear(sec).append(keys.length ? h('table', { class: 'grid kv' }, h('tbody', null, keys.map((k) => h('tr', { 'data-tag': k }, h('td', null, k), h('td', null, tags[k]),
      session.canWrite ? h('td', { class: 'editonly' }, h('button', { type: 'button', 'aria-label': 'Delete tag ' + k, onclick: async () => {
        try { await remove(k); delete tags[k]; show(); } catch (err) { fail(err); }
      } }, 'Delete')) : null)))) : h('p', { class: 'muted' }, 'No tags.'));
    if (session.canWrite) {
      const k = h('input', { type: 'text', 'aria-label': 'Tag key', required: true });
      const v = h('input', { type: 'text', 'aria-label': 'Tag value' });
      sec.append(h('form', { class: 'inline editonly', onsubmit: async (e) => {
        e.preventDefault();
        try { await set(k.value, v.value); tags[k.value] = v.value; show(); } catch (err) { fail(err); }
      } }, k, v, h('button', { type: 'submit' }, 'Set tag')));
    }
  };
  show();
  return sec;
}

export async function modelPage(main, name) {
  const m = (await api.get('registered-models/get', { name })).registered_model;
  const msg = h('div', { 'aria-live': 'assertive' });
  const fail = (err) => clear(msg).append(errorBox(err));
  const versions = [];
  let token = '';
  do {
    const r = await api.get('model-versions/search', { filter: "name='" + name.replace(/'/g, "\\'") + "'", max_results: 1000, page_token: token, order_by: ['version_number DESC'] });
    versions.push(...(r.model_versions || []));
    token = r.next_page_token;
  } while (token);
  const aliasOf = {};
  for (const a of m.aliases || []) (aliasOf[a.version] ||= []).push(a.alias);
  main.append(h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/models' }, 'Models'), ' / '), h('h1', null, m.name), msg,
    m.description ? h('div', { class: 'note' }, m.description) : null);
  const rollout = kv(m.tags)['mlgate.rollout'];
  if (rollout) main.append(h('section', null, h('h2', null, 'Rollout'), rolloutView(rollout)));
  const rows = versions.map((v) => {
    const stageSel = h('select', { 'aria-label': 'Stage of version ' + v.version, onchange: async () => {
      try { await api.post('model-versions/transition-stage', { name, version: v.version, stage: stageSel.value, archive_existing_versions: false }); } catch (err) { fail(err); stageSel.value = v.current_stage || 'None'; }
    } }, stages.map((s) => h('option', { value: s, selected: (v.current_stage || 'None') === s }, s)));
    return h('tr', null,
      h('td', null, h('a', { href: '#/models/' + enc(name) + '/versions/' + enc(v.version) }, 'Version ' + v.version)),
      h('td', null, session.canWrite ? stageSel : v.current_stage || 'None'),
      h('td', null, (aliasOf[v.version] || []).map((a) => h('span', { class: 'pill' }, '@' + a))),
      h('td', null, v.status),
      h('td', null, v.run_id ? h('a', { href: '#/runs/' + enc(v.run_id) }, v.run_id.slice(0, 12)) : ''),
      h('td', null, fmtTime(v.creation_timestamp)));
  });
  main.append(h('section', null, h('h2', null, 'Versions (' + versions.length + ')'), h('table', { class: 'grid' },
    h('thead', null, h('tr', null, ['Version', 'Stage', 'Aliases', 'Status', 'Source run', 'Created'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', null, rows))));
  if (session.canWrite) {
    const alias = h('input', { type: 'text', id: 'alias-name', required: true });
    const ver = h('input', { type: 'text', id: 'alias-version', required: true, size: 6 });
    main.append(h('section', { class: 'editonly' }, h('h2', null, 'Aliases'), h('form', { class: 'inline', onsubmit: async (e) => {
      e.preventDefault();
      try { await api.post('registered-models/alias', { name, alias: alias.value, version: ver.value }); location.reload(); } catch (err) { fail(err); }
    } }, h('label', { htmlFor: 'alias-name' }, 'Alias'), alias, h('label', { htmlFor: 'alias-version' }, 'Version'), ver, h('button', { type: 'submit' }, 'Set alias')),
    (m.aliases || []).map((a) => h('button', { type: 'button', onclick: async () => {
      try { await api.del('registered-models/alias', { name, alias: a.alias }); location.reload(); } catch (err) { fail(err); }
    } }, 'Remove @' + a.alias))));
  }
  main.append(h('section', null, h('h2', null, 'Tags'), tagEditor(kv(m.tags),
    (key, value) => api.post('registered-models/set-tag', { name, key, value }),
    (key) => api.del('registered-models/delete-tag', { name, key }), fail)));
}

function rolloutView(raw) {
  let st;
  try { st = JSON.parse(raw); } catch { return h('pre', { class: 'code' }, raw); }
  const rows = Object.entries(st).filter(([, v]) => typeof v !== 'object').map(([k, v]) => [k, String(v)]);
  return h('div', null, kvTable(rows, 'Field'), h('details', null, h('summary', null, 'Full state'), h('pre', { class: 'code' }, JSON.stringify(st, null, 2))));
}

// signature reads the inputs/outputs JSON strings of an MLmodel file.
export function signature(mlmodel) {
  const out = {};
  const m = mlmodel.match(/^signature:\n((?:[ \t]+.*\n?)*)/m);
  if (!m) return out;
  for (const line of m[1].split('\n')) {
    const f = line.match(/^\s+(inputs|outputs|params):\s*'(.*)'\s*$/);
    if (f) {
      try { out[f[1]] = JSON.parse(f[2].replace(/''/g, "'")); } catch { out[f[1]] = f[2]; }
    }
  }
  return out;
}

export async function versionPage(main, name, version) {
  const v = (await api.get('model-versions/get', { name, version })).model_version;
  const msg = h('div', { 'aria-live': 'assertive' });
  const fail = (err) => clear(msg).append(errorBox(err));
  main.append(h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/models' }, 'Models'), ' / ', h('a', { href: '#/models/' + enc(name) }, name), ' / '),
    h('h1', null, name + ' version ' + v.version), msg,
    h('dl', { class: 'facts' }, [['Stage', v.current_stage || 'None'], ['Status', v.status], ['Aliases', (v.aliases || []).map((a) => '@' + a).join(' ')],
      ['Source', h('code', null, v.source || '')], ['Source run', v.run_id ? h('a', { href: '#/runs/' + enc(v.run_id) }, v.run_id) : ''],
      ['Created', fmtTime(v.creation_timestamp)], ['Updated', fmtTime(v.last_updated_timestamp)]].map(([k, x]) => [h('dt', null, k), h('dd', null, x)])),
    v.description ? h('div', { class: 'note' }, v.description) : null);
  const mlm = h('section', null, h('h2', null, 'MLmodel'));
  main.append(mlm);
  try {
    const { text } = await artifactText(modelArtifactURL(name, version, 'MLmodel'));
    const sig = signature(text);
    const sigTable = (list) => Array.isArray(list) ? kvTable(list.map((c) => [c.name ?? '(unnamed)', c.type + (c.tensor_spec ? ' ' + JSON.stringify(c.tensor_spec) : ''), c.required === false ? 'optional' : '']), 'Name', ['Type', '']) : h('pre', null, String(list));
    if (sig.inputs) mlm.append(h('h3', null, 'Signature inputs'), sigTable(sig.inputs));
    if (sig.outputs) mlm.append(h('h3', null, 'Signature outputs'), sigTable(sig.outputs));
    mlm.append(h('pre', { class: 'code', tabindex: '0' }, text));
  } catch (err) { mlm.append(errorBox(err)); }
  main.append(h('section', null, h('h2', null, 'Tags'), tagEditor(kv(v.tags),
    (key, value) => api.post('model-versions/set-tag', { name, version, key, value }),
    (key) => api.del('model-versions/delete-tag', { name, version, key }), fail)));
}
