// Artifact previews by file type: text, JSON, YAML and MLmodel, images,
// CSV as a table; anything else is offered for download.
import { h } from './dom.js';
import { artifactText } from './api.js';

const images = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
const texts = /(\.(txt|log|md|py|json|ya?ml|toml|cfg|ini|sh|r|sql|html|xml|csv|tsv)|MLmodel|requirements\.txt|conda\.yaml|python_env\.yaml)$/i;

export async function preview(url, path, download) {
  const name = path.split('/').pop();
  const head = h('div', { class: 'pane-head' }, h('strong', null, path), ' ', h('a', { href: download, download: name }, 'Download'));
  if (images.test(name)) return h('div', null, head, h('img', { src: url, alt: path, class: 'preview-img' }));
  if (!texts.test(name)) return h('div', null, head, h('p', { class: 'muted' }, 'No preview for this file type.'));
  const { text, truncated } = await artifactText(url);
  const note = truncated ? h('p', { class: 'muted' }, 'Showing the first 1 MiB.') : null;
  if (/\.(csv|tsv)$/i.test(name)) return h('div', null, head, note, csvTable(text, /\.tsv$/i.test(name) ? '\t' : ','));
  let body = text;
  if (/\.json$/i.test(name)) {
    try { body = JSON.stringify(JSON.parse(text), null, 2); } catch { /* show as is */ }
  }
  return h('div', null, head, note, h('pre', { class: 'code', tabindex: '0' }, body));
}

// parseCSV reads RFC 4180 CSV (quoted fields, doubled quotes, newlines in
// quotes), at most maxRows rows.
export function parseCSV(text, sep = ',', maxRows = 1000) {
  const rows = [];
  let row = [];
  let f = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"') {
        if (text[i + 1] === '"') { f += '"'; i++; } else q = false;
      } else f += c;
    } else if (c === '"') q = true;
    else if (c === sep) { row.push(f); f = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(f); f = ''; rows.push(row); row = [];
      if (rows.length >= maxRows) return rows;
    } else f += c;
  }
  if (f !== '' || row.length) { row.push(f); rows.push(row); }
  return rows;
}

function csvTable(text, sep) {
  const rows = parseCSV(text, sep);
  if (!rows.length) return h('p', { class: 'muted' }, 'Empty.');
  const [head, ...body] = rows;
  return h('div', { class: 'scroll-x' }, h('table', { class: 'grid csv' },
    h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, body.map((r) => h('tr', null, r.map((c) => h('td', null, c)))))));
}
