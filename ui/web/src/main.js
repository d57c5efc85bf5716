// mlgate web UI entry: a hash router over MLflow's URL scheme
// (#/experiments/<id>/runs/<run_id>, #/models/<name>/versions/<v>, ...).
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { h, clear, errorBox } from './dom.js';
import { currentUser } from './api.js';
import { session } from './session.js';
import { experimentsPage } from './experiments.js';
import { runsPage } from './runs.js';
import { runPage } from './run.js';
import { metricPage, comparePage } from './charts.js';
import { modelsPage, modelPage, versionPage } from './models.js';
import { servingPage } from './serving.js';


const routes = [
  [/^\/?$/, () => experimentsPage],
  [/^\/experiments\/?$/, () => experimentsPage],
  [/^\/experiments\/([^/]+)\/runs\/([^/]+)(?:\/artifacts\/?(.*))?$/, (m) => (el, q) => runPage(el, m[1], m[2], q, m[3] || '')],
  [/^\/experiments\/([^/]+)\/?(?:runs)?\/?$/, (m) => (el, q) => runsPage(el, m[1], q)],
  [/^\/experiments\/([^/]+)\/s$/, (m) => (el, q) => runsPage(el, m[1], q)],
  [/^\/runs\/([^/]+)$/, (m) => (el, q) => runPage(el, '', m[1], q, '')],
  [/^\/metric\/(.+)$/, (m) => (el, q) => metricPage(el, m[1], q)],
  [/^\/compare-runs\/?$/, () => comparePage],
  [/^\/models\/?$/, () => modelsPage],
  [/^\/models\/([^/]+)\/versions\/([^/]+)$/, (m) => (el, q) => versionPage(el, m[1], m[2], q)],
  [/^\/models\/([^/]+)\/?$/, (m) => (el, q) => modelPage(el, m[1], q)],
  [/^\/serving\/?$/, () => servingPage],
];

// parseHash splits location.hash into a decoded path and its query.
export function parseHash(hash) {
  let s = hash.replace(/^#/, '');
  let q = '';
  const i = s.indexOf('?');
  if (i >= 0) { q = s.slice(i + 1); s = s.slice(0, i); }
  const path = s.split('/').map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
  return { path: path.join('/'), segments: path, query: new URLSearchParams(q) };
}

let generation = 0;

async function render() {
  const main = document.getElementById('main');
  const { query } = parseHash(location.hash);
  const raw = location.hash.replace(/^#/, '').split('?')[0];
  // Match on the raw path so encoded slashes in names stay in one segment.
  const my = ++generation;
  for (const [re, make] of routes) {
    const m = raw.match(re);
    if (!m) continue;
    const dm = m.map((x) => (x == null ? x : safeDecode(x)));
    const page = make(dm);
    clear(main);
    const section = raw.split('/')[1] || 'experiments';
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.dataset.nav === section) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    try {
      await page(main, query, () => my !== generation);
    } catch (err) {
      if (my === generation) { clear(main); main.append(errorBox(err)); }
    }
    return;
  }
  clear(main);
  main.append(h('h1', null, 'Not found'), h('p', null, 'No page at ', h('code', null, '#' + raw), '. ', h('a', { href: '#/' }, 'Experiments')));
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

async function start() {
  // The skip link moves focus (an inline handler would need a looser CSP).
  document.querySelector('.skip')?.addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('main').focus();
  });
  try {
    const u = await currentUser();
    session.canWrite = !!u.can_write;
    session.username = u.username || '';
    document.body.classList.toggle('readonly', !session.canWrite);
    const el = document.getElementById('user');
    if (u.username) el.textContent = u.username + (session.canWrite ? '' : ' (read-only)');
  } catch {
    // Keep defaults: the API answers writes with its own errors.
  }
  window.addEventListener('hashchange', render);
  await render();
}

start();
