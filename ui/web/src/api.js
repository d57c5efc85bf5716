// The server's REST API, called with relative URLs so the UI works behind
// a path prefix. Errors carry the server's MLflow message.

const base = 'ajax-api/2.0/mlflow/';

export class APIError extends Error {
  constructor(status, code, message) {
    super(message || code || 'HTTP ' + status);
    this.status = status;
    this.code = code;
  }
}

async function request(url, init) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body = {};
  if (text) {
    try { body = JSON.parse(text); } catch { body = { message: text }; }
  }
  if (!res.ok) throw new APIError(res.status, body.error_code, body.message);
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v == null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) q.append(k, x);
    else q.append(k, v);
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

export function get(path, params) {
  return request(base + path + query(params), { headers: { Accept: 'application/json' } });
}

export function post(path, body) {
  return request(base + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body || {}),
  });
}

export function patch(path, body) {
  return request(base + path, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {}),
  });
}

export function del(path, body) {
  return request(base + path, {
    method: 'DELETE',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {}),
  });
}

export function currentUser() {
  return request('ajax-api/2.0/mlgate/users/current');
}

export function artifactURL(runID, path) {
  return 'get-artifact' + query({ path, run_uuid: runID });
}

export function modelArtifactURL(name, version, path) {
  return 'model-versions/get-artifact' + query({ path, name, version });
}

export async function artifactText(url, limit = 1 << 20) {
  const res = await fetch(url);
  if (!res.ok) {
    let msg = 'HTTP ' + res.status;
    try { msg = (await res.json()).message || msg; } catch { /* not JSON */ }
    throw new APIError(res.status, '', msg);
  }
  const buf = await res.arrayBuffer();
  const truncated = buf.byteLength > limit;
  return { text: new TextDecoder().decode(truncated ? buf.slice(0, limit) : buf), truncated };
}

// SAMPLED_MAX is the most points per run MLflow's get-history-bulk-interval
// answers (its MAX_RESULTS_PER_RUN).
export const SAMPLED_MAX = 2500;

// sampledHistory asks the server for at most maxResults points per run of
// key (get-history-bulk-interval: evenly spaced rows, the first and last
// kept), 100 runs a call as MLflow allows, within [window[0], window[1]]
// steps when a window is given. It answers a Map run id -> points.
export async function sampledHistory(runIDs, key, maxResults = SAMPLED_MAX, window = null) {
  const out = new Map(runIDs.map((id) => [id, []]));
  const calls = [];
  for (let i = 0; i < runIDs.length; i += 100) {
    const q = { run_ids: runIDs.slice(i, i + 100), metric_key: key, max_results: maxResults };
    if (window) { q.start_step = window[0]; q.end_step = window[1]; }
    calls.push(get('metrics/get-history-bulk-interval', q));
  }
  for (const r of await Promise.all(calls)) {
    for (const m of r.metrics || []) out.get(m.run_id)?.push(m);
  }
  return out;
}

// metricHistory fetches every point of a run's metric.
export async function metricHistory(runID, key) {
  const out = [];
  let token = '';
  do {
    const r = await get('metrics/get-history', { run_id: runID, metric_key: key, max_results: 100000, page_token: token });
    for (const m of r.metrics || []) out.push(m);
    token = r.next_page_token || '';
  } while (token);
  return out;
}
