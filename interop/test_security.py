"""MLflow's server protections, compared request by request with a real
`mlflow server` started with the same settings: the security middleware
(Host validation against DNS rebinding, the CORS allow-list, cross-origin
state changes refused, preflights, security headers, a POST without a JSON
Content-Type refused) and strict request decoding (exact field names, one
spelling per field, bodies that are not UTF-8). mlflow gets the settings as
flags, mlgate as MLFLOW_SERVER_* variables."""

import json

import pytest
import requests

from conftest import MLFLOW, Proc, free_port

A = "/api/2.0/mlflow"
HOSTS = "127.0.0.1:*,localhost:*,mlflow.example.com,*.corp:*"
ORIGINS = "https://app.example.com,https://*.trusted.io"


@pytest.fixture(scope="module")
def servers(mlgate_bin, tmp_path_factory):
    g, f = tmp_path_factory.mktemp("sec-mlgate"), tmp_path_factory.mktemp("sec-mlflow")
    gp, fp = free_port(), free_port()
    mlgate = Proc([mlgate_bin, "server", "--backend-store-uri", f"sqlite:///{g}/mlgate.db",
                   "--artifacts-destination", str(g / "artifacts"), "--port", str(gp)], gp, cwd=str(g),
                  env={"MLFLOW_SERVER_ALLOWED_HOSTS": HOSTS, "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS": ORIGINS,
                       "MLFLOW_SERVER_X_FRAME_OPTIONS": "DENY"})
    try:
        mlflow = Proc([MLFLOW, "server", "--backend-store-uri", f"sqlite:///{f}/mlflow.db",
                       "--artifacts-destination", str(f / "artifacts"), "--host", "127.0.0.1", "--port", str(fp),
                       "--workers", "1", "--allowed-hosts", HOSTS, "--cors-allowed-origins", ORIGINS,
                       "--x-frame-options", "DENY"], fp, cwd=str(f), timeout=240,
                      env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    except Exception:
        mlgate.stop()
        raise
    yield {"mlgate": mlgate, "mlflow": mlflow}
    mlgate.stop()
    mlflow.stop()


J = {"Content-Type": "application/json"}
CREATE = A + "/experiments/create"
SEARCH = A + "/experiments/search?max_results=1"

# (method, path, headers, body). A body holding NAME gets a fresh
# experiment name per server and case.
SECURITY = [
    ("GET", "/health", {"Host": "evil.example"}, None),
    ("GET", "/version", {"Host": "evil.example"}, None),
    ("GET", SEARCH, {"Host": "evil.example"}, None),
    ("GET", "/nonexistent", {"Host": "evil.example"}, None),
    ("GET", SEARCH, {"Host": "localhost"}, None),
    ("GET", SEARCH, {"Host": "localhost:8080"}, None),
    ("GET", SEARCH, {"Host": "LOCALHOST:8080"}, None),
    ("GET", SEARCH, {"Host": "127.0.0.2:5000"}, None),
    ("GET", SEARCH, {"Host": "192.168.1.9:5000"}, None),  # a default, replaced by --allowed-hosts
    ("GET", SEARCH, {"Host": "mlflow.example.com"}, None),
    ("GET", SEARCH, {"Host": "mlflow.example.com:443"}, None),
    ("GET", SEARCH, {"Host": "a.corp:8080"}, None),
    ("GET", SEARCH, {"Host": "a.corp"}, None),
    ("POST", CREATE, {"Host": "evil.example", "Origin": "http://evil.example", **J}, "NAME"),
    ("POST", CREATE, {"Origin": "http://evil.example", **J}, "NAME"),
    ("POST", "/ajax-api/2.0/mlflow/experiments/create", {"Origin": "http://evil.example", **J}, "NAME"),
    ("DELETE", A + "/experiments/delete", {"Origin": "http://evil.example"}, None),
    ("POST", CREATE, {"Origin": "null", **J}, "NAME"),
    ("GET", SEARCH, {"Origin": "http://evil.example"}, None),
    ("POST", CREATE, {"Origin": "http://localhost:3000", **J}, "NAME"),
    ("POST", CREATE, {"Origin": "https://localhost:3000", **J}, "NAME"),
    ("POST", CREATE, {"Origin": "http://127.0.0.1:1", **J}, "NAME"),
    ("POST", "/ajax-api/2.0/mlflow/experiments/create", {"Origin": "http://127.0.0.1:1", **J}, "NAME"),
    ("POST", CREATE, {"Origin": "https://app.example.com", **J}, "NAME"),
    ("POST", CREATE, {"Origin": "https://x.trusted.io", **J}, "NAME"),
    ("POST", CREATE, {"Origin": "https://app.example.com.evil", **J}, "NAME"),
    ("POST", CREATE, {"Host": "mlflow.example.com", "Origin": "https://app.example.com", **J}, "NAME"),
    ("GET", SEARCH, {"Origin": "https://app.example.com"}, None),
    ("GET", SEARCH, {"Origin": "http://localhost:3000"}, None),
    # a POST that needs no CORS preflight: no Content-Type, or not JSON
    ("POST", CREATE, {}, "NAME"),
    ("POST", CREATE, {"Content-Type": "text/plain"}, "NAME"),
    ("POST", CREATE, {"Content-Type": "application/x-www-form-urlencoded"}, "NAME"),
    ("POST", A + "/runs/log-metric", {}, "{}"),
    ("POST", A + "/registered-models/create", {"Content-Type": "text/plain"}, '{"name": "m"}'),
    ("POST", CREATE, {"Content-Type": "application/json; charset=utf-8"}, "NAME"),
    # preflights and OPTIONS
    ("OPTIONS", CREATE, {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
                         "Access-Control-Request-Headers": "content-type"}, None),
    ("OPTIONS", CREATE, {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
                         "Access-Control-Request-Headers": "content-type,x-foo"}, None),
    ("OPTIONS", CREATE, {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, None),
    ("OPTIONS", CREATE, {"Host": "evil.example", "Origin": "http://localhost:3000",
                         "Access-Control-Request-Method": "POST"}, None),
    ("OPTIONS", "/health", {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"}, None),
    ("OPTIONS", CREATE, {}, None),
    ("OPTIONS", CREATE, {"Origin": "http://localhost:3000"}, None),
]

# The headers compared on every answer (present or not, and their value).
COMPARED = ["X-Content-Type-Options", "X-Frame-Options", "Access-Control-Allow-Origin",
            "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
            "Access-Control-Max-Age"]


def _send(server, method, path, headers, body, tag):
    h = {"Host": f"127.0.0.1:{server.port}"}
    h.update(headers)
    if body == "NAME":
        body = json.dumps({"name": f"sec-{tag}"})
    r = requests.request(method, server.url + path, headers=h, data=body.encode() if body else None)
    out = {"status": r.status_code}
    if r.headers.get("Content-Type", "").startswith("application/json"):
        j = r.json()
        out["error_code"] = j.get("error_code") if isinstance(j, dict) else None
        if isinstance(j, dict) and "message" in j:
            out["message"] = j["message"]
    elif r.status_code >= 400:
        out["text"] = r.text
    if r.status_code != 403 or "Invalid Host" not in r.text:
        for k in COMPARED:
            out[k] = r.headers.get(k)
    return out


@pytest.mark.parametrize("i", range(len(SECURITY)),
                         ids=[f"{m} {p} {json.dumps(h)[:70]}" for m, p, h, _ in SECURITY])
def test_security_same_answer(servers, i):
    method, path, headers, body = SECURITY[i]
    got = _send(servers["mlgate"], method, path, headers, body, i)
    want = _send(servers["mlflow"], method, path, headers, body, i)
    if not headers.get("Origin") or (method == "OPTIONS" and not headers.get("Access-Control-Request-Method")):
        # Flask-CORS adds CORS headers of its own to MLflow's Flask answers
        # (an allow-origin naming the first listed origin even without an
        # Origin); mlgate answers as MLflow's outer CORS layer does.
        for k in COMPARED[2:]:
            got.pop(k, None), want.pop(k, None)
    assert got == want


def test_same_origin_ui_request(servers):
    """mlgate lets a page it serves post to its API from an allowed host (an
    Origin naming the Host); mlflow refuses it unless the origin is listed
    too. Everything else about the origin rule is MLflow's."""
    s = servers["mlgate"]
    r = requests.post(s.url + CREATE, headers={"Host": "mlflow.example.com", "Origin": "http://mlflow.example.com", **J},
                      data=json.dumps({"name": "sec-same-origin"}))
    assert r.status_code == 200, r.text
    r = requests.post(s.url + CREATE, headers={"Host": "mlflow.example.com", "Origin": "http://other.example.com", **J},
                      data=json.dumps({"name": "sec-other-origin"}))
    assert (r.status_code, r.text) == (403, "Cross-origin request blocked")


# Malformed requests: (path, body bytes). RUN and EXP stand for a run and
# an experiment made on each server first.
MALFORMED = [
    (A + "/runs/log-metric", b'{"RUN_ID": "RUN", "key": "m1", "value": 1, "timestamp": 1}'),
    (A + "/runs/log-metric", b'{"run_id": "RUN", "KEY": "m2", "value": 1, "timestamp": 1}'),
    (A + "/runs/log-metric", b'{"runId": "RUN", "key": "m3", "value": 1, "timestamp": 1}'),
    (A + "/runs/log-metric", b'{"run_id": "RUN", "runId": "RUN", "key": "m4", "value": 1, "timestamp": 1}'),
    (A + "/runs/log-metric", b'{"run_id": "RUN", "runId": "other", "key": "m5", "value": 1, "timestamp": 1}'),
    (A + "/runs/set-tag", b'{"run_id": "RUN", "runId": "RUN", "key": "t1", "value": "v"}'),
    (A + "/runs/log-parameter", b'{"run_id": "RUN", "runId": "x", "key": "p1", "value": "v"}'),
    (A + "/runs/log-batch", b'{"run_id": "RUN", "runId": "RUN", "params": [{"key": "p2", "value": "v"}]}'),
    (A + "/runs/update", b'{"run_id": "RUN", "runId": "RUN", "run_name": "renamed"}'),
    (A + "/experiments/update", b'{"experiment_id": "EXP", "experimentId": "EXP", "new_name": "renamed"}'),
    (A + "/runs/search", b'{"experiment_ids": ["EXP"], "max_results": 1, "maxResults": 2}'),
    (A + "/runs/set-tag", b'{"run_id": "RUN", "key": "t2\xff", "value": "v"}'),
    (A + "/runs/set-tag", b'{"run_id": "RUN", "key": "t3", "value": "v\xff"}'),
    (A + "/runs/set-tag", b'{"run_id": "RUN", "key": "t4", "value": "v\xc3"}'),
    (A + "/runs/log-parameter", b'{"run_id": "RUN", "key": "p3\xff", "value": "v"}'),
    (A + "/experiments/create", b'{"name": "bad\xff"}'),
    (A + "/registered-models/create", b'{"name": "bad\xff"}'),
    (A + "/runs/log-metric", b'{"run_id": "RUN", "key": "m6", "value": "abc", "timestamp": 1}'),
]

# Refused by mlgate where MLflow answers 200 and stores something else
# (a 0 for an out-of-range number, U+FFFD or nothing for a lone surrogate)
# or fails with 500: garbage is refused, 400 INVALID_PARAMETER_VALUE.
STRICTER = [
    (A + "/runs/log-metric", b'{"run_id": "RUN", "key": "s1", "value": NaN, "timestamp": 1}'),
    (A + "/runs/log-metric", b'{"run_id": "RUN", "key": "s2", "value": 1e400, "timestamp": 1}'),
    (A + "/runs/log-metric", b'{"run_id": "RUN", "key": "s3", "value": 1, "timestamp": 1e400}'),
    (A + "/runs/log-metric", b'{"run_id": "RUN", "key": "s4", "value": 1, "timestamp": 100000000000000000000000000000}'),
    (A + "/runs/log-metric", b'{"run_id": "RUN", "key": "s5", "value": 1, "timestamp": 1, "step": 9223372036854775808}'),
    (A + "/runs/log-batch", b'{"run_id": "RUN", "metrics": [{"key": "s6", "value": 1, "timestamp": 1, "step": 99999999999999999999}]}'),
    (A + "/runs/set-tag", b'{"run_id": "RUN", "key": "s7", "value": "v\\ud800"}'),
]


@pytest.fixture(scope="module")
def runs(servers):
    ids = {}
    for name, s in servers.items():
        e = requests.post(s.url + CREATE, json={"name": "sec-decoding"}).json()["experiment_id"]
        r = requests.post(s.url + A + "/runs/create", json={"experiment_id": e}).json()["run"]["info"]["run_id"]
        ids[name] = (e, r)
    return ids


def _post(server, ids, path, body):
    body = body.replace(b'"RUN"', json.dumps(ids[1]).encode()).replace(b'"EXP"', json.dumps(ids[0]).encode())
    r = requests.post(server.url + path, data=body, headers=J)
    j = r.json()
    return r.status_code, j.get("error_code"), j.get("message", "").replace(ids[1], "RUN").replace(ids[0], "EXP")


def _stored(server, ids):
    run = requests.get(server.url + A + "/runs/get", params={"run_id": ids[1]}).json()["run"]
    d = run["data"]
    exp = requests.get(server.url + A + "/experiments/get", params={"experiment_id": ids[0]}).json()
    names = [e["name"] for e in requests.post(server.url + A + "/experiments/search", json={"max_results": 1000}).json()["experiments"]]
    models = requests.get(server.url + A + "/registered-models/search").json().get("registered_models", [])
    return {
        "metrics": sorted(m["key"] for m in d.get("metrics", [])),
        "params": sorted(p["key"] for p in d.get("params", [])),
        "tags": sorted(t["key"] for t in d.get("tags", []) if not t["key"].startswith("mlflow.")),
        "run_name": run["info"]["run_name"] == "renamed",
        "experiment": exp["experiment"]["name"],
        "bad_names": [n for n in names + [m["name"] for m in models] if n.startswith("bad")],
    }


def test_malformed_same_answer_nothing_stored(servers, runs):
    diffs = []
    for path, body in MALFORMED:
        got = _post(servers["mlgate"], runs["mlgate"], path, body)
        want = _post(servers["mlflow"], runs["mlflow"], path, body)
        if got != want:
            diffs.append((path, body, got, want))
    assert diffs == []
    for path, body in STRICTER:
        status, code, _ = _post(servers["mlgate"], runs["mlgate"], path, body)
        assert (status, code) == (400, "INVALID_PARAMETER_VALUE"), (path, body)
    got, want = _stored(servers["mlgate"], runs["mlgate"]), _stored(servers["mlflow"], runs["mlflow"])
    assert got == {"metrics": [], "params": [], "tags": [], "run_name": False, "experiment": "sec-decoding",
                   "bad_names": []}
    assert got == want


def test_metric_history_of_unknown_run_same(servers):
    for s in servers.values():
        for run_id in ("0" * 32, "nope"):
            r = requests.get(s.url + A + "/metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
            assert (r.status_code, r.json()) == (200, {}), s.url
    import mlflow
    for s in servers.values():
        assert mlflow.MlflowClient(s.url).get_metric_history("0" * 32, "m") == []
