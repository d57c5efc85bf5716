// The experiments list: search, create, rename, delete and restore.
import { h, clear, errorBox, fmtTime, enc } from './dom.js';
import * as api from './api.js';
import { session } from './session.js';

export async function experimentsPage(main) {
  let view = 'ACTIVE_ONLY';
  let text = '';
  const list = h('div', { class: 'list', 'aria-live': 'polite' });
  const msg = h('div');
  const search = h('input', { type: 'search', placeholder: 'Search experiments by name', 'aria-label': 'Search experiments',
    oninput: () => { text = search.value; load(); } });
  const viewSel = h('select', { 'aria-label': 'Which experiments', onchange: () => { view = viewSel.value; load(); } },
    h('option', { value: 'ACTIVE_ONLY' }, 'Active'), h('option', { value: 'DELETED_ONLY' }, 'Deleted'), h('option', { value: 'ALL' }, 'All'));
  const name = h('input', { type: 'text', placeholder: 'New experiment name', 'aria-label': 'New experiment name', required: true });
  const create = h('form', { class: 'inline editonly', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const r = await api.post('experiments/create', { name: name.value });
      location.hash = '#/experiments/' + r.experiment_id;
    } catch (err) { clear(msg).append(errorBox(err)); }
  } }, name, h('button', { type: 'submit' }, 'Create'));
  main.append(h('h1', null, 'Experiments'), h('div', { class: 'toolbar' }, search, viewSel, create), msg, list);

  let seq = 0;
  async function load() {
    const my = ++seq;
    const body = { max_results: 1000, view_type: view, order_by: ['last_update_time DESC'] };
    if (text.trim()) body.filter = "name ILIKE '%" + text.trim().replace(/'/g, "\\'") + "%'";
    try {
      const exps = [];
      let token = '';
      do {
        const r = await api.post('experiments/search', { ...body, page_token: token || undefined });
        exps.push(...(r.experiments || []));
        token = r.next_page_token;
      } while (token && exps.length < 5000);
      if (my !== seq) return;
      clear(msg);
      renderList(exps);
    } catch (err) {
      if (my === seq) clear(msg).append(errorBox(err));
    }
  }

  function renderList(exps) {
    clear(list);
    if (!exps.length) { list.append(h('p', { class: 'muted' }, 'No experiments.')); return; }
    const rows = exps.map((e) => {
      const deleted = e.lifecycle_stage === 'deleted';
      const actions = h('td', { class: 'actions editonly' });
      const rename = h('button', { type: 'button', onclick: () => {
        const input = h('input', { type: 'text', value: e.name, 'aria-label': 'New name for ' + e.name });
        const form = h('form', { class: 'inline', onsubmit: async (ev) => {
          ev.preventDefault();
          try { await api.post('experiments/update', { experiment_id: e.experiment_id, new_name: input.value }); load(); } catch (err) { clear(msg).append(errorBox(err)); }
        } }, input, h('button', { type: 'submit' }, 'Save'), h('button', { type: 'button', onclick: () => load() }, 'Cancel'));
        clear(actions).append(form);
        input.focus();
      } }, 'Rename');
      const toggle = h('button', { type: 'button', onclick: async () => {
        try { await api.post(deleted ? 'experiments/restore' : 'experiments/delete', { experiment_id: e.experiment_id }); load(); } catch (err) { clear(msg).append(errorBox(err)); }
      } }, deleted ? 'Restore' : 'Delete');
      actions.append(rename, ' ', toggle);
      return h('tr', null,
        h('td', null, h('a', { href: '#/experiments/' + enc(e.experiment_id) }, e.name)),
        h('td', null, e.experiment_id),
        h('td', null, fmtTime(e.creation_time)),
        h('td', null, fmtTime(e.last_update_time)),
        h('td', null, deleted ? 'deleted' : 'active'),
        session.canWrite ? actions : null);
    });
    list.append(h('table', { class: 'grid' },
      h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', null, 'ID'), h('th', null, 'Created'), h('th', null, 'Updated'), h('th', null, 'State'),
        session.canWrite ? h('th', null, h('span', { class: 'sr' }, 'Actions')) : null)),
      h('tbody', null, rows)));
  }
  await load();
}
