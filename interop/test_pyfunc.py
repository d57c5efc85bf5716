"""python_function models served by mlgate's worker processes, against the real MLflow.

For three models saved with the real mlflow (an sklearn pipeline over a DataFrame, a custom
PythonModel with a params schema, and a model with a tensor signature forced through
python_function), every request of interop/models.py (valid and invalid) plus a few malformed
ones is sent to `mlgate models serve --flavor python_function` and to the real
`mlflow models serve --env-manager local`: status and error code must match, and predictions
must equal each other and `mlflow.pyfunc.load_model(...).predict` on the same input.
"""

import json
import math
import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(__file__))
import models  # noqa: E402
from conftest import Proc, free_port  # noqa: E402

KINDS = ["sklearn_pipeline", "custom_pyfunc", "tensor_sig"]

# Malformed requests every model must refuse the way MLflow does.
EXTRA = [
    models._req("not_json", "{nope", expect_ok=False),
    models._req("top_level_list", [[1, 2]], expect_ok=False),
    models._req("no_format_key", {"data": [[1]]}, expect_ok=False),
    models._req("two_format_keys", {"inputs": [1], "instances": [1]}, expect_ok=False),
]


def _venv_env():
    # mlgate's local env manager runs `python3` from PATH: make it this venv's.
    bindir = os.path.dirname(sys.executable)
    return {"PATH": bindir + os.pathsep + os.environ.get("PATH", ""), "MLFLOW_DISABLE_TELEMETRY": "true"}


@pytest.fixture(scope="module", params=KINDS)
def served(request, tmp_path_factory, mlgate_bin):
    kind = request.param
    base = tmp_path_factory.mktemp(kind)
    built = models.build(kind, str(base / "model"))
    env = _venv_env()
    p1, p2 = free_port(), free_port()
    procs = []
    try:
        procs.append(Proc([mlgate_bin, "models", "serve", "-m", built["model_dir"], "-p", str(p1),
                           "--flavor", "python_function", "--env-manager", "local", "--workers", "1"],
                          p1, env=env, cwd=str(base), timeout=240))
        procs.append(Proc([os.path.join(os.path.dirname(sys.executable), "mlflow"), "models", "serve",
                           "-m", built["model_dir"], "-p", str(p2), "--env-manager", "local", "--workers", "1"],
                          p2, env=env, cwd=str(base), ready_path="/ping", timeout=240))
    except Exception:
        for p in procs:
            p.stop()
        raise
    yield kind, built, procs[0], procs[1]
    for p in procs:
        p.stop()


def _post(url, req):
    body = req["body"]
    data = body if isinstance(body, str) else json.dumps(body)
    return requests.post(url + "/invocations", data=data.encode(),
                         headers={"Content-Type": req["content_type"]}, timeout=120)


def _close(a, b, path="$"):
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), f"{path}: {a!r} vs {b!r}"
        assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9), f"{path}: {a!r} vs {b!r}"
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: {a!r} vs {b!r}"
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: {a!r} vs {b!r}"
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


def _pyfunc_predict(model_dir, req):
    """mlflow.pyfunc.load_model(...).predict on the input MLflow's own parser makes of req."""
    import mlflow.pyfunc
    from mlflow.pyfunc import scoring_server
    from mlflow.utils.proto_json_utils import NumpyEncoder, _get_jsonable_obj

    model = mlflow.pyfunc.load_model(model_dir)
    schema = model.metadata.get_input_schema()
    if req["content_type"] == "text/csv":
        import io

        data, params = scoring_server.parse_csv_input(io.StringIO(req["body"]), schema), None
    else:
        parsed = scoring_server._parse_json_data(json.dumps(req["body"]), model.metadata, schema)
        data, params = parsed.data, parsed.params
    out = model.predict(data, params=params)
    return json.loads(json.dumps(_get_jsonable_obj(out, pandas_orient="records"), cls=NumpyEncoder))


def test_same_answers_as_mlflow(served):
    kind, built, mlgate, mlflow_srv = served
    checked = 0
    for req in built["requests"] + EXTRA:
        a, b = _post(mlgate.url, req), _post(mlflow_srv.url, req)
        where = f"{kind}/{req['name']}"
        assert a.status_code == b.status_code, f"{where}: mlgate {a.status_code} {a.text[:300]} / mlflow {b.status_code} {b.text[:300]}"
        if b.status_code == 200:
            assert req["expect_ok"], f"{where}: mlflow accepted a request marked invalid"
            got, want = a.json(), b.json()
            _close(got, want)
            _close(got["predictions"], _pyfunc_predict(built["model_dir"], req))
        else:
            assert not req["expect_ok"], f"{where}: mlflow refused a valid request: {b.text[:300]}"
            if b.headers.get("content-type", "").startswith("application/json"):
                assert a.json()["error_code"] == b.json()["error_code"], f"{where}: {a.text[:300]} / {b.text[:300]}"
        checked += 1
    assert checked >= 7


def test_predictions_are_stable_under_concurrency(served):
    """Concurrent requests through the worker keep their own answers."""
    from concurrent.futures import ThreadPoolExecutor

    kind, built, mlgate, _ = served
    ok = [r for r in built["requests"] if r["expect_ok"] and r["content_type"] == "application/json"]
    want = {r["name"]: _post(mlgate.url, r).json() for r in ok}
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda r: (r["name"], _post(mlgate.url, r)), ok * 8))
    for name, resp in results:
        assert resp.status_code == 200, f"{kind}/{name}: {resp.text[:300]}"
        assert resp.json() == want[name]


def _children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] not in "ZX":
            kids.append(int(d))
    return kids


def test_killed_worker_request_is_retried_crash_gives_503_then_recovers(tmp_path, mlgate_bin, start_proc):
    """SIGKILL the worker mid-request through the real HTTP path: the request is sent again to the
    replacement and answered; a model that kills its worker twice gets 503 with the reason; then
    SIGTERM leaves no worker."""
    import signal
    import threading

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "flavors", "pyfunc", "testdata"))
    import fault_models

    fault_models.main(str(tmp_path))
    port = free_port()
    srv = start_proc([mlgate_bin, "models", "serve", "-m", str(tmp_path / "sleepy"), "-p", str(port),
                      "--workers", "1", "--timeout", "120"], port=port, env=_venv_env(), timeout=240)
    workers = _children(srv.p.pid)
    assert len(workers) == 1, workers
    body = {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}}
    res = {}

    def slow():
        res["r"] = requests.post(srv.url + "/invocations", json={**body, "params": {"sleep": 3.0}}, timeout=120)

    th = threading.Thread(target=slow)
    th.start()
    import time

    time.sleep(1.0)
    os.kill(workers[0], signal.SIGKILL)
    th.join(120)
    r = res["r"]
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": [{"y": 2.0}]}
    new = _children(srv.p.pid)
    assert len(new) == 1 and new != workers
    crash = requests.post(srv.url + "/invocations", json={**body, "params": {"crash": True}}, timeout=180)
    assert crash.status_code == 503, crash.text
    assert crash.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert "exit status 9" in crash.json()["message"]
    ok = requests.post(srv.url + "/invocations", json=body, timeout=180)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"predictions": [{"y": 2.0}]}
    retries = [line for line in requests.get(srv.url + "/metrics", timeout=10).text.splitlines()
               if line.startswith("mlgate_worker_retries_total")]
    assert retries and float(retries[0].split()[-1]) == 2, retries
    new = _children(srv.p.pid)
    srv.stop()
    assert srv.p.returncode is not None
    for pid in new:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] in "ZX"


def test_batched_requests_get_their_own_answers(tmp_path, mlgate_bin, start_proc):
    """With dynamic batching on, concurrent requests of 1-3 rows each (merged into worker batches)
    get exactly the answer MLflow's scoring server gives each alone; a bad one fails alone."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    import mlflow.pyfunc
    from mlflow.pyfunc import scoring_server

    built = models.build("sklearn_pipeline", str(tmp_path / "model"))
    port = free_port()
    srv = start_proc([mlgate_bin, "models", "serve", "-m", built["model_dir"], "-p", str(port), "--workers", "2",
                      "--max-batch-size", "64", "--max-batch-delay", "20ms"], port=port, env=_venv_env(), timeout=240)
    rng = random.Random(7)
    reqs = []
    for _ in range(48):
        rows = [[round(rng.uniform(-2, 2), 3), round(rng.uniform(-2, 2), 3), rng.choice(["red", "blue", "green", "purple"])]
                for _ in range(rng.randint(1, 3))]
        reqs.append({"dataframe_split": {"columns": ["x1", "x2", "color"], "data": rows}})
    bad = {"dataframe_split": {"columns": ["x1", "x2"], "data": [[0.1, 0.2]]}}
    model = mlflow.pyfunc.load_model(built["model_dir"])
    schema = model.metadata.get_input_schema()
    want = [json.loads(scoring_server.invocations(json.dumps(r), "application/json", model, schema).response) for r in reqs]

    def post(body):
        return requests.post(srv.url + "/invocations", json=body, timeout=120)

    with ThreadPoolExecutor(16) as ex:
        got = list(ex.map(post, reqs[:24] + [bad] + reqs[24:]))
    bad_resp = got.pop(24)
    assert bad_resp.status_code == 400, bad_resp.text
    assert bad_resp.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    for i, (r, w) in enumerate(zip(got, want)):
        assert r.status_code == 200, f"request {i}: {r.text[:300]}"
        assert r.json() == w, f"request {i}: {r.json()} != {w}"
