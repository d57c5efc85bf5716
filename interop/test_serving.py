"""Differential tests of `mlgate models serve` against the real
`mlflow models serve --env-manager local`: the same requests, valid and
invalid, get the same status codes and the same JSON (numbers within float
tolerance; for errors the same error_code). Plus mlgate's own production
behaviour: drain on SIGTERM under load, and a full queue answering 503 at
once and recovering."""

import concurrent.futures
import json
import math
import os
import signal
import sys
import threading
import time

import pytest
import requests

sys.path.insert(0, os.path.dirname(__file__))
from conftest import Proc, free_port  # noqa: E402
import models  # noqa: E402

# ONNX models (served in-process) and python_function models (served by
# worker processes through the same parsing, schema and error path).
KINDS = ["linear", "multi_input", "tensor_sig", "iris_rf", "types", "custom_pyfunc", "sklearn_pipeline"]
MLFLOW = os.path.join(os.path.dirname(sys.executable), "mlflow")

# Requests every model gets on top of its own (all invalid in the same way).
GENERIC = [
    {"name": "malformed_json", "content_type": "application/json", "raw": '{"inputs": [1,'},
    {"name": "top_level_list", "content_type": "application/json", "body": [1, 2]},
    {"name": "scalar_body", "content_type": "application/json", "body": 3},
    {"name": "two_format_keys", "content_type": "application/json", "body": {"inputs": [1], "instances": [1]}},
    {"name": "legacy_columns_data", "content_type": "application/json", "body": {"columns": ["a"], "data": [[1]]}},
    {"name": "split_not_dict", "content_type": "application/json", "body": {"dataframe_split": [[1, 2]]}},
    {"name": "split_extra_key", "content_type": "application/json", "body": {"dataframe_split": {"data": [[1]], "bogus": 1}}},
    {"name": "records_not_list", "content_type": "application/json", "body": {"dataframe_records": {"a": 1}}},
    {"name": "unsupported_content_type", "content_type": "text/plain", "raw": "hello"},
    {"name": "bad_charset", "content_type": "application/json; charset=latin-1", "raw": "{}"},
    {"name": "unknown_ctype_param", "content_type": "application/json; format=pandas-split", "raw": "{}"},
    # what curl -d sends when no content type is given
    {"name": "form_content_type", "content_type": "application/x-www-form-urlencoded", "raw": "{}"},
]

# A valid body for the `types` model (models.py's example).
TYPES_OK = {n: [[1, 2], [3, 4]] for n in ["f16", "f32", "f64", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"]}
TYPES_OK.update({"b": [[True, False], [False, True]], "s": [["a", "bc"], ["", "d"]]})

IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _j(name, body):
    return {"name": name, "content_type": "application/json", "body": body}


# Per-model requests beyond models.py's own: casts, optional forms, errors.
EXTRA = {
    "linear": [
        _j("ints_in_float_frame", {"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1, 2, 3]]}}),
        _j("inputs_list", {"inputs": [[1.0, 2.0, 3.0]]}),
        _j("extra_column", {"dataframe_split": {"columns": ["x1", "x2", "x3", "x4"], "data": [[1.0, 2.0, 3.0, 4.0]]}}),
    ],
    "multi_input": [
        _j("records", {"dataframe_records": [{"a": 1.0, "b": 2.0}, {"b": 0.5, "a": -1}]}),
        _j("instances_records", {"instances": [{"a": 1.0, "b": 2.0}]}),
        {"name": "csv", "content_type": "text/csv", "body": "a,b\n1.0,2.0\n3,4\n"},
    ],
    "tensor_sig": [
        _j("instances_named", {"instances": [{"x": [[0.0, 1.0], [2.0, 3.0]]}]}),
        _j("ints_cast_to_float32", {"inputs": {"x": [[[0, 1, 2], [3, 4, 5]]]}}),
        _j("split_list_column", {"dataframe_split": {"columns": ["x"], "data": [[[[0.0, 1.0], [2.0, 3.0]]]]}}),
        _j("ragged", {"inputs": {"x": [[[0.0, 1.0], [2.0]]]}}),
        _j("missing_named_input", {"inputs": {"y": [[[0.0, 1.0], [2.0, 3.0]]]}}),
    ],
    "iris_rf": [
        {"name": "csv", "content_type": "text/csv", "body": ",".join(IRIS) + "\n5.1,3.5,1.4,0.2\n6.3,3.3,6.0,2.5\n"},
        _j("instances_records", {"instances": [dict(zip(IRIS, [5.1, 3.5, 1.4, 0.2]))]}),
        _j("inputs_columns", {"inputs": {k: [v] for k, v in zip(IRIS, [6.3, 3.3, 6.0, 2.5])}}),
        _j("ints_and_strings_cast", {"dataframe_split": {"columns": IRIS, "data": [[5, "3.5", 1, 0]]}}),
        _j("extra_column_dropped", {"dataframe_records": [dict(zip(IRIS + ["junk"], [5.1, 3.5, 1.4, 0.2, "x"]))]}),
        _j("uncastable", {"dataframe_split": {"columns": IRIS, "data": [["abc", 3.5, 1.4, 0.2]]}}),
        _j("split_index", {"dataframe_split": {"columns": IRIS, "index": [7], "data": [[5.1, 3.5, 1.4, 0.2]]}}),
    ],
    "custom_pyfunc": [
        _j("int_param_for_double", {"dataframe_split": {"columns": ["x"], "data": [[2.0]]}, "params": {"scale": 3}}),
        _j("unknown_param_ignored", {"inputs": {"x": [1.0, 2.0]}, "params": {"nope": 1}}),
        _j("records_ints", {"dataframe_records": [{"x": 1}, {"x": 2}]}),
    ],
    "sklearn_pipeline": [
        _j("inputs_columns", {"inputs": {"x1": [0.1], "x2": [0.2], "color": ["red"]}}),
        _j("uncastable", {"dataframe_split": {"columns": ["x1", "x2", "color"], "data": [["a", 0.2, "red"]]}}),
    ],
    "types": [
        _j("int8_out_of_range", {"inputs": {"i8": [[1000, 1]]}}),
        _j("missing_inputs", {"inputs": {"f32": [[1.0, 2.0]]}}),
        _j("bools_from_ints", {"inputs": {**TYPES_OK, "b": [[1, 0], [0, 1]]}}),
        _j("wrong_shape", {"inputs": {**TYPES_OK, "f64": [[1.0, 2.0, 3.0]]}}),
    ],
}


def close(a, b, path="$"):
    """Asserts JSON values equal, numbers within float tolerance."""
    if isinstance(a, bool) or isinstance(b, bool):
        assert a == b, f"{path}: {a!r} != {b!r}"
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and math.isnan(a):
            assert isinstance(b, float) and math.isnan(b), f"{path}: {a!r} != {b!r}"
        else:
            assert math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6), f"{path}: {a!r} != {b!r}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            close(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("serving-models")
    out = {}
    for kind in KINDS:
        out[kind] = models.build(kind, str(d / kind))
    return out


def _start(args, cwd, timeout=400):
    # mlflow runs `uvicorn` from PATH: put the venv's bin first
    env = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    return Proc(args, port=int(args[args.index("-p") + 1]), cwd=cwd, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def servers(built, mlgate_bin, tmp_path_factory):
    """One real mlflow and one mlgate scoring server per model."""
    logs = str(tmp_path_factory.mktemp("serving-logs"))
    started = []

    def start(args):
        p = _start(args, logs)
        started.append(p)
        return p

    try:
        # start everything at once: mlflow's start-up is mostly waiting
        with concurrent.futures.ThreadPoolExecutor(2 * len(KINDS)) as ex:
            futs = {}
            for kind in KINDS:
                mdir = built[kind]["model_dir"]
                futs[kind] = (
                    ex.submit(start, [MLFLOW, "models", "serve", "-m", mdir, "--env-manager", "local",
                                      "-h", "127.0.0.1", "-p", str(free_port())]),
                    ex.submit(start, [mlgate_bin, "models", "serve", "-m", mdir, "-h", "127.0.0.1", "-p", str(free_port())]),
                )
            procs = {kind: (a.result(), b.result()) for kind, (a, b) in futs.items()}
        yield procs
    finally:
        for p in started:
            p.stop()


def _send(url, req):
    if "raw" in req:
        data = req["raw"].encode()
    elif req["content_type"].startswith("text/csv"):
        data = req["body"].encode()
    else:
        data = json.dumps(req["body"]).encode()
    return requests.post(url + "/invocations", data=data, headers={"Content-Type": req["content_type"]}, timeout=60)


@pytest.mark.parametrize("kind", KINDS)
def test_same_answers_as_mlflow(kind, built, servers):
    ref, ours = servers[kind]
    reqs = list(built[kind]["requests"]) + EXTRA.get(kind, []) + GENERIC
    failures = []
    for req in reqs:
        a, b = _send(ref.url, req), _send(ours.url, req)
        try:
            assert a.status_code == b.status_code, f"status mlflow {a.status_code} mlgate {b.status_code}: {a.text[:300]} | {b.text[:300]}"
            ref_ct, ours_ct = a.headers.get("content-type", ""), b.headers.get("content-type", "")
            assert ref_ct == ours_ct, f"content type mlflow {ref_ct!r} mlgate {ours_ct!r}: {b.text[:300]}"
            if a.status_code == 200:
                close(a.json(), b.json())
            elif ref_ct.startswith("text/plain"):
                # an unsupported content type: mlflow answers plain text
                assert a.text == b.text, f"plain body mlflow {a.text[:300]!r} mlgate {b.text[:300]!r}"
            else:
                ref_json, ours_json = a.json(), b.json()
                assert "error_code" in ours_json and "message" in ours_json, b.text
                assert ref_json["error_code"] == ours_json["error_code"], f"{ref_json['error_code']} != {ours_json['error_code']}: {ref_json['message'][:300]} | {ours_json['message'][:300]}"
                # mlflow 3.x adds error_class and sqlstate to every error
                for k in ("error_class", "sqlstate"):
                    assert ref_json.get(k) == ours_json.get(k), f"{k}: mlflow {ref_json.get(k)!r} mlgate {ours_json.get(k)!r}: {ref_json['message'][:200]} | {ours_json['message'][:200]}"
            if "expect_ok" in req:
                assert (b.status_code == 200) == req["expect_ok"], f"expect_ok={req['expect_ok']} but {b.status_code}"
        except AssertionError as e:
            failures.append(f"{req['name']}: {e}")
    assert not failures, "\n".join(failures)


def test_health_version_and_v2(servers):
    _, ours = servers["tensor_sig"]
    assert requests.get(ours.url + "/ping").status_code == 200
    assert requests.get(ours.url + "/version").text.startswith("3.")
    assert requests.get(ours.url + "/v2/health/ready").json() == {"ready": True}
    meta = requests.get(ours.url + "/v2/models/model").json()
    assert meta["name"] == "model" and meta["inputs"], meta
    m = requests.get(ours.url + "/metrics").text
    assert "mlgate_serve_requests_total" in m and "go_goroutines" in m


# Wrong methods, unknown paths and trailing slashes: the real server
# answers them with FastAPI's {"detail": ...} and an Allow header, or
# Starlette's 307 to the path without its slashes.
PROTOCOL = [("GET", "/nope"), ("POST", "/nope"), ("GET", "/invocations"), ("PUT", "/invocations"),
            ("POST", "/ping"), ("DELETE", "/health"), ("POST", "/version"), ("HEAD", "/ping"),
            ("OPTIONS", "/invocations"), ("GET", "/PING"), ("GET", "//ping"), ("GET", "/ping/"),
            ("GET", "/version//"), ("POST", "/invocations/?a=1"), ("POST", "/ping/"), ("GET", "/invocations/x")]


def test_unknown_path_wrong_method_and_slashes_same_as_mlflow(servers):
    ref, ours = servers["linear"]
    for method, path in PROTOCOL:
        answers = []
        for srv in (ref, ours):
            r = requests.request(method, srv.url + path, timeout=30, allow_redirects=False,
                                 headers={"Content-Type": "application/json"}, data="{}" if method == "POST" else None)
            loc = r.headers.get("location", "").replace(srv.url, "<base>")
            answers.append((r.status_code, r.headers.get("content-type"), r.headers.get("allow"), loc, r.text))
        assert answers[1] == answers[0], f"{method} {path}: mlflow {answers[0]} mlgate {answers[1]}"


class _Slow:
    """Builds a python_function model that sleeps for its "sleep" column's
    first value (no input example: loading and warm-up stay fast)."""

    @staticmethod
    def build(outdir):
        import mlflow.pyfunc

        class Slow(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                import time as _t
                _t.sleep(float(model_input["sleep"].iloc[0]))
                return model_input

        mlflow.pyfunc.save_model(outdir, python_model=Slow(), pip_requirements=models._pins("cloudpickle", "numpy", "pandas"))
        return outdir


def test_request_timeout_same_as_mlflow(mlgate_bin, tmp_path):
    """MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT: mlflow answers 504 with a
    plain-text body labelled application/json; mlgate answers the same."""
    mdir = _Slow.build(str(tmp_path / "slow"))
    env = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
           "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT": "1"}
    procs = []
    try:
        for args in ([MLFLOW, "models", "serve", "-m", mdir, "--env-manager", "local", "-h", "127.0.0.1"],
                     [mlgate_bin, "models", "serve", "-m", mdir, "-h", "127.0.0.1"]):
            port = free_port()
            procs.append(Proc(args + ["-p", str(port)], port=port, cwd=str(tmp_path), env=env, timeout=400))
        ref, ours = procs

        def ask(url, secs):
            return requests.post(url + "/invocations", json={"dataframe_split": {"columns": ["sleep"], "data": [[secs]]}}, timeout=30)

        for secs, status in ((0, 200), (3, 504)):
            t0 = time.time()
            a = ask(ref.url, secs)
            t1 = time.time()
            b = ask(ours.url, secs)
            t2 = time.time()
            body = (lambda r: r.json()) if status == 200 else (lambda r: r.text)
            want = (a.status_code, a.headers.get("content-type"), body(a))
            got = (b.status_code, b.headers.get("content-type"), body(b))
            assert a.status_code == status and got == want, f"sleep {secs}: mlflow {want} mlgate {got}"
            if status == 504:
                assert want[2] == "Request processing time exceeded limit"
                assert t2 - t1 < 2.5, f"mlgate took {t2 - t1:.1f}s to time out after 1s (mlflow {t1 - t0:.1f}s)"
    finally:
        for p in procs:
            p.stop()


def test_body_over_the_limit_answers_413(built, mlgate_bin, start_proc):
    """mlflow has no body limit; mlgate's answers 413 in MLflow's error format
    and keeps serving."""
    port = free_port()
    p = start_proc([mlgate_bin, "models", "serve", "-m", built["linear"]["model_dir"], "-p", str(port),
                    "--max-body-bytes", "1000"], port=port)
    big = json.dumps({"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0]] * 200}})
    r = requests.post(p.url + "/invocations", data=big, headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413 and r.headers["content-type"] == "application/json", r.text
    assert r.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED" and "1000 bytes" in r.json()["message"], r.text
    ok = json.dumps({"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0]]}})
    assert requests.post(p.url + "/invocations", data=ok, headers={"Content-Type": "application/json"}, timeout=30).status_code == 200


def _binary_infer(url, tensors, binary_output=True):
    """Posts an Open Inference Protocol request with every tensor in binary
    form and splits the answer: (status, header JSON, {name: bytes})."""
    import numpy as np

    head = {"inputs": [], "parameters": {"binary_data_output": binary_output}}
    tail = b""
    for name, arr in tensors.items():
        raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        head["inputs"].append({"name": name, "datatype": {"float32": "FP32", "int64": "INT64"}[arr.dtype.name],
                               "shape": list(arr.shape), "parameters": {"binary_data_size": len(raw)}})
        tail += raw
    hb = json.dumps(head).encode()
    r = requests.post(url, data=hb + tail, timeout=30, headers={
        "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(hb))})
    n = int(r.headers.get("Inference-Header-Content-Length", len(r.content)))
    meta = json.loads(r.content[:n])
    outs, off = {}, n
    for o in meta.get("outputs", []):
        size = o.get("parameters", {}).get("binary_data_size")
        if size is not None:
            outs[o["name"]] = r.content[off:off + size]
            off += size
    assert off == len(r.content), f"{len(r.content) - off} unaccounted binary bytes"
    return r, meta, outs


def test_oip_binary_tensors_through_onnx(servers):
    """The binary tensor extension against a real ONNX model: the same
    numbers as numpy computes, and as the JSON form of the same request."""
    import numpy as np

    _, ours = servers["tensor_sig"]
    url = ours.url + "/v2/models/model/infer"
    x = (np.arange(8, dtype=np.float32).reshape(1, 2, 4) - 3.5) / 3
    r, meta, outs = _binary_infer(url, {"x": x})
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream", r.text[:300]
    shapes = {o["name"]: o["shape"] for o in meta["outputs"]}
    assert shapes == {"rowsum": [1, 2], "scaled": [1, 2, 4]}, meta
    rowsum = np.frombuffer(outs["rowsum"], dtype="<f4").reshape(1, 2)
    scaled = np.frombuffer(outs["scaled"], dtype="<f4").reshape(1, 2, 4)
    np.testing.assert_allclose(rowsum, x.sum(axis=2), rtol=1e-6)
    np.testing.assert_allclose(scaled, 3 * x, rtol=1e-6)
    j = requests.post(url, json={"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2, 4], "data": x.reshape(-1).tolist()}]}, timeout=30)
    assert j.status_code == 200 and "Inference-Header-Content-Length" not in j.headers
    jd = {o["name"]: o["data"] for o in j.json()["outputs"]}
    np.testing.assert_allclose(np.array(jd["scaled"], dtype=np.float32), scaled.reshape(-1), rtol=1e-6)
    # binary input, JSON output
    r, meta, outs = _binary_infer(url, {"x": x}, binary_output=False)
    assert r.status_code == 200 and not outs and r.headers["content-type"].startswith("application/json")
    # a size that does not match the shape is a 400 in OIP form
    hb = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 2, 4], "parameters": {"binary_data_size": 16}}]}).encode()
    bad = requests.post(url, data=hb + b"\0" * 16, timeout=30, headers={"Inference-Header-Content-Length": str(len(hb))})
    assert bad.status_code == 400 and "does not match" in bad.json()["error"], bad.text
    assert "binary_tensor_data" in requests.get(ours.url + "/v2", timeout=30).json()["extensions"]


def test_oip_with_tritonclient(servers, built):
    """NVIDIA's tritonclient (binary tensors by default both ways) against
    mlgate: health, metadata, and inference for every datatype, in binary
    and JSON form. Needs tritonclient[http] in interop/requirements.txt."""
    import numpy as np
    import tritonclient.http as th

    c = th.InferenceServerClient(servers["tensor_sig"][1].url.removeprefix("http://"))
    assert c.is_server_live() and c.is_server_ready() and c.is_model_ready("model")
    assert "binary_tensor_data" in c.get_server_metadata()["extensions"]
    assert [i["name"] for i in c.get_model_metadata("model")["inputs"]] == ["x"]
    x = (np.arange(8, dtype=np.float32).reshape(1, 2, 4) - 3.5) / 3
    for bin_in in (True, False):
        for bin_out in (True, False):
            inp = th.InferInput("x", list(x.shape), "FP32")
            inp.set_data_from_numpy(x, binary_data=bin_in)
            outs = [th.InferRequestedOutput(n, binary_data=bin_out) for n in ("rowsum", "scaled")]
            r = c.infer("model", [inp], outputs=outs)
            np.testing.assert_allclose(r.as_numpy("rowsum"), x.sum(axis=2), rtol=1e-6)
            np.testing.assert_allclose(r.as_numpy("scaled"), 3 * x, rtol=1e-6)
    for algo in ("gzip", "deflate"):  # compressed request bodies
        inp = th.InferInput("x", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        r = c.infer("model", [inp], request_compression_algorithm=algo, response_compression_algorithm=algo)
        np.testing.assert_allclose(r.as_numpy("scaled"), 3 * x, rtol=1e-6)
    with pytest.raises(th.InferenceServerException):  # an error answer, read by the client
        bad = th.InferInput("x", [1, 3], "FP32")
        bad.set_data_from_numpy(np.zeros((1, 3), dtype=np.float32))
        c.infer("model", [bad])

    # every datatype through the `types` model, binary both ways; the
    # expected values come from the real onnxruntime via mlflow's pyfunc
    import mlflow.pyfunc

    c = th.InferenceServerClient(servers["types"][1].url.removeprefix("http://"))
    inputs, feeds = [], {}
    for m in c.get_model_metadata("model")["inputs"]:
        dt = m["datatype"]
        if dt == "BYTES":
            a = np.array([["a", "bc"], ["", "d"]], dtype=np.object_)
        elif dt == "BOOL":
            a = np.array([[True, False], [False, True]])
        else:
            a = np.array([[1, 2], [3, 4]]).astype(th.triton_to_np_dtype(dt))
        feeds[m["name"]] = a
        i = th.InferInput(m["name"], [2, 2], dt)
        i.set_data_from_numpy(a, binary_data=True)
        inputs.append(i)
    r = c.infer("model", inputs)
    want = mlflow.pyfunc.load_model(built["types"]["model_dir"]).predict(feeds)
    names = [o["name"] for o in r.get_response()["outputs"]]
    assert sorted(names) == sorted(want), (names, list(want))
    for n in names:
        got, exp = r.as_numpy(n), np.asarray(want[n])
        if got.dtype == np.object_:
            assert [g.decode() for g in got.reshape(-1)] == [str(e) for e in exp.reshape(-1)], n
        else:
            np.testing.assert_array_equal(got, exp, err_msg=n)


def test_drain_delay_fails_readiness_and_keeps_serving(built, mlgate_bin, tmp_path):
    """Kubernetes-style drain (--drain-delay): after SIGTERM readiness answers
    503 at once while requests, in flight and new, are still served; the
    listener closes after the delay and the process exits 0."""
    mdir = built["linear"]["model_dir"]
    port = free_port()
    # batching with a 1s delay keeps a request in flight when the signal lands
    p = Proc([mlgate_bin, "models", "serve", "-m", mdir, "-p", str(port), "--max-batch-size", "64",
              "--max-batch-delay", "1s", "--drain-delay", "2s", "--shutdown-timeout", "10s"], port=port, cwd=str(tmp_path))
    body = json.dumps({"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0]]}})

    def post():
        return requests.post(p.url + "/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=30)

    try:
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            inflight = ex.submit(post)
            time.sleep(0.3)
            t0 = time.time()
            os.killpg(p.p.pid, signal.SIGTERM)
            deadline = time.time() + 1
            while True:
                r = requests.get(p.url + "/ping", timeout=5)
                if r.status_code == 503 or time.time() > deadline:
                    break
                time.sleep(0.02)
            assert r.status_code == 503 and r.json()["error_code"] == "TEMPORARILY_UNAVAILABLE", (r.status_code, r.text)
            assert time.time() - t0 < 0.5, "readiness did not fail at once"
            for path in ("/health", "/v2/health/ready", "/v2/models/model/ready"):
                assert requests.get(p.url + path, timeout=5).status_code == 503, path
            assert requests.get(p.url + "/v2/health/live", timeout=5).status_code == 200
            fresh = ex.submit(post)  # a new request during the drain window
            assert inflight.result().status_code == 200
            assert fresh.result().status_code == 200
        code = p.p.wait(15)
        took = time.time() - t0
        assert code == 0, f"exit code {code}"
        assert 2 <= took < 10, f"exited {took:.1f}s after SIGTERM with a 2s drain delay"
    finally:
        p.stop()


def test_drain_behind_a_balancer_loses_nothing(built, mlgate_bin, tmp_path):
    """Clients behind a 'balancer' that stops routing once /ping fails: with
    a drain delay no request is lost and none is refused."""
    mdir = built["linear"]["model_dir"]
    port = free_port()
    p = Proc([mlgate_bin, "models", "serve", "-m", mdir, "-p", str(port), "--drain-delay", "1s",
              "--shutdown-timeout", "10s"], port=port, cwd=str(tmp_path))
    body = json.dumps({"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0]]}})
    stop, results, threads = threading.Event(), [], []

    def probe():
        while not stop.is_set():
            try:
                if requests.get(p.url + "/ping", timeout=2).status_code == 503:
                    stop.set()
            except requests.RequestException:
                stop.set()
            time.sleep(0.05)

    try:
        threads.append(threading.Thread(target=probe))
        for _ in range(6):
            threads.append(threading.Thread(target=_load, args=(p.url, stop, results, body)))
        for t in threads:
            t.start()
        time.sleep(1.0)
        before = len(results)
        os.killpg(p.p.pid, signal.SIGTERM)
        code = p.p.wait(15)
        stop.set()
        for t in threads:
            t.join()
        assert code == 0, f"exit code {code}"
        assert before > 0 and results.count(200) >= before
        bad = [r for r in results if r != 200]
        assert not bad, f"requests refused or lost although the balancer stopped routing: {bad[:5]}"
    finally:
        stop.set()
        p.stop()


def _load(url, stop, results, body):
    s = requests.Session()
    while not stop.is_set():
        try:
            r = s.post(url + "/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=30)
            results.append(r.status_code)
        except requests.ConnectionError as e:
            text = str(e)
            # refused after the listener closed: never accepted, not lost
            results.append("refused" if "refused" in text.lower() or "NewConnectionError" in text else "lost: " + text[:200])
            s = requests.Session()
            time.sleep(0.01)


def test_drain_on_sigterm_loses_no_accepted_request(built, mlgate_bin, tmp_path):
    mdir = built["linear"]["model_dir"]
    port = free_port()
    # batching with a long delay keeps requests in flight when the signal lands
    p = Proc([mlgate_bin, "models", "serve", "-m", mdir, "-p", str(port), "--max-batch-size", "64",
              "--max-batch-delay", "200ms", "--shutdown-timeout", "10s"], port=port, cwd=str(tmp_path))
    body = json.dumps({"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0]]}})
    stop, results, threads = threading.Event(), [], []
    for _ in range(8):
        t = threading.Thread(target=_load, args=(p.url, stop, results, body))
        t.start()
        threads.append(t)
    time.sleep(1.5)
    before = len(results)
    start = time.time()
    os.killpg(p.p.pid, signal.SIGTERM)
    code = p.p.wait(20)
    took = time.time() - start
    stop.set()
    for t in threads:
        t.join()
    p.stop()
    assert code == 0, f"exit code {code}"
    assert took < 12, f"drain took {took:.1f}s"
    assert before > 0 and results.count(200) >= before
    bad = [r for r in results if r not in (200, "refused")]
    assert not bad, f"lost or failed requests after SIGTERM: {bad[:5]}"


def test_full_queue_answers_503_at_once_and_recovers(built, mlgate_bin, tmp_path):
    mdir = built["linear"]["model_dir"]
    port = free_port()
    # one slot, one queue place; batching waits 2s for company, so two
    # requests fill the server and the third must be refused at once
    p = Proc([mlgate_bin, "models", "serve", "-m", mdir, "-p", str(port), "--max-concurrency", "1",
              "--max-queue", "1", "--max-batch-size", "1000", "--max-batch-delay", "2s"], port=port, cwd=str(tmp_path))
    try:
        body = json.dumps({"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0]]}})

        def post():
            return requests.post(p.url + "/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=30)

        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            held = [ex.submit(post) for _ in range(2)]
            time.sleep(0.5)
            t0 = time.time()
            r = post()
            took = time.time() - t0
            assert r.status_code == 503, r.text
            assert took < 0.5, f"503 took {took:.2f}s"
            assert r.headers.get("Retry-After"), r.headers
            assert r.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
            assert [f.result().status_code for f in held] == [200, 200]
        assert post().status_code == 200
    finally:
        p.stop()


def test_second_signal_exits_at_once(built, mlgate_bin, tmp_path):
    mdir = built["linear"]["model_dir"]
    port = free_port()
    # a request parked in the batcher for 5s keeps the drain busy
    p = Proc([mlgate_bin, "models", "serve", "-m", mdir, "-p", str(port), "--max-batch-size", "1000",
              "--max-batch-delay", "5s", "--shutdown-timeout", "30s"], port=port, cwd=str(tmp_path))
    body = json.dumps({"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0]]}})
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        fut = ex.submit(lambda: requests.post(p.url + "/invocations", data=body,
                                              headers={"Content-Type": "application/json"}, timeout=30))
        time.sleep(0.5)
        os.killpg(p.p.pid, signal.SIGTERM)
        time.sleep(0.5)
        assert p.p.poll() is None, "exited before the in-flight request finished"
        t0 = time.time()
        os.killpg(p.p.pid, signal.SIGTERM)
        p.p.wait(5)
        assert time.time() - t0 < 2, "second signal did not exit at once"
        try:
            fut.result()
        except requests.RequestException:
            pass
    p.stop()

