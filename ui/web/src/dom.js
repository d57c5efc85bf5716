// Small DOM helpers: h() builds elements, text is always set as text.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k === 'class') el.className = v;
      else if (k === 'style') el.style.cssText = v;
      else if (k in el && k !== 'list' && k !== 'form') el[k] = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function fmtTime(ms) {
  if (!ms) return '';
  const d = new Date(Number(ms));
  return d.toISOString().replace('T', ' ').slice(0, 19);
}

export function fmtDuration(start, end) {
  if (!start || !end) return '';
  let s = Math.round((Number(end) - Number(start)) / 1000);
  if (s < 60) return s + 's';
  const m = Math.floor(s / 60);
  s %= 60;
  if (m < 60) return m + 'm ' + s + 's';
  return Math.floor(m / 60) + 'h ' + (m % 60) + 'm';
}

export function fmtNum(v) {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(4);
  return String(Math.round(v * 1e6) / 1e6);
}

export function errorBox(err) {
  return h('div', { class: 'error', role: 'alert' }, err && err.message ? err.message : String(err));
}

// tagMap turns MLflow's [{key, value}] into an object.
export function kv(list) {
  const m = {};
  for (const t of list || []) m[t.key] = t.value;
  return m;
}

export function enc(s) {
  return encodeURIComponent(s);
}
