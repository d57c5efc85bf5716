"""Go client and model resolution against the real mlflow package.

Models registered by the real Python client (in `mlgate server`) resolve
through every models:/ and runs:/ form, download with `mlgate models
download` and serve with `mlgate models serve` with predictions equal to
mlflow.pyfunc.load_model(uri).predict."""

import json
import os
import sys

import numpy as np
import pandas as pd
import pytest
import requests

sys.path.insert(0, os.path.dirname(__file__))
import models  # noqa: E402
from conftest import free_port  # noqa: E402

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

NAME = "interop-linear"


@pytest.fixture(scope="module")
def registered(tmp_path_factory, mlgate_bin):
    """mlgate server with two versions of NAME registered by the Python client."""
    from conftest import Proc

    tmp = tmp_path_factory.mktemp("client")
    port = free_port()
    srv = Proc([mlgate_bin, "server", "--port", str(port), "--backend-store-uri", f"sqlite:///{tmp}/db.sqlite",
                "--artifacts-destination", str(tmp / "artifacts")], port, cwd=str(tmp))
    uri = srv.url
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    runs = []
    for i in range(2):
        d = tmp / f"model{i}"
        models.build("linear", str(d))
        with mlflow.start_run() as run:
            mlflow.log_param("version", i)
            mlflow.log_artifacts(str(d), "model")
        runs.append(run.info.run_id)
        mlflow.register_model(f"runs:/{run.info.run_id}/model", NAME)
    client.transition_model_version_stage(NAME, "1", "Production")
    client.set_registered_model_alias(NAME, "champion", "2")
    yield {"uri": uri, "runs": runs, "tmp": tmp}
    srv.stop()


def forms(reg):
    return [f"models:/{NAME}/1", f"models:/{NAME}/Production", f"models:/{NAME}/latest",
            f"models:/{NAME}@champion", f"runs:/{reg['runs'][0]}/model"]


DF = pd.DataFrame({"x1": [1.0, 2.0, -1.5], "x2": [0.5, -1.0, 4.0], "x3": [3.0, 0.25, 2.5]})


def flat(preds):
    """Values of a scoring answer (records, columns or a plain list), row-major."""
    if isinstance(preds, dict):
        return [v for col in preds.values() for v in np.asarray(col).reshape(-1)]
    out = []
    for p in preds:
        out.extend(p.values() if isinstance(p, dict) else np.asarray(p).reshape(-1))
    return out


def test_every_form_serves_like_pyfunc(registered, mlgate_bin, start_proc):
    env = {"MLFLOW_TRACKING_URI": registered["uri"]}
    cache = registered["tmp"] / "cache"
    for uri in forms(registered):
        want = mlflow.pyfunc.load_model(uri).predict(DF)
        port = free_port()
        p = start_proc([mlgate_bin, "models", "serve", "-m", uri, "--port", str(port), "--cache-dir", str(cache)],
                       port=port, env=env, ready_path="/health", timeout=120)
        r = requests.post(p.url + "/invocations", json={"dataframe_split": DF.to_dict(orient="split")}, timeout=30)
        assert r.status_code == 200, (uri, r.text)
        preds = r.json()["predictions"]
        got = np.asarray(flat(preds), dtype=np.float64)
        want_values = want.to_numpy() if isinstance(want, pd.DataFrame) else np.asarray(want)
        assert got.size == DF.shape[0]
        assert np.allclose(got, want_values.astype(np.float64).reshape(-1), atol=1e-5), (uri, got, want)
        p.stop()


def test_download_matches_python(registered, mlgate_bin, tmp_path):
    import subprocess

    env = dict(os.environ, MLFLOW_TRACKING_URI=registered["uri"])
    for i, uri in enumerate(forms(registered)):
        py_dir = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / f"py{i}"))
        go_dir = tmp_path / f"go{i}"
        out = subprocess.run([mlgate_bin, "models", "download", "-m", uri, "-d", str(go_dir),
                              "--cache-dir", str(tmp_path / "cache")], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        def tree(d):
            res = {}
            for root, _, files in os.walk(d):
                for f in files:
                    if f != "registered_model_meta":
                        p = os.path.join(root, f)
                        res[os.path.relpath(p, d)] = open(p, "rb").read()
            return res
        assert tree(go_dir) == tree(py_dir), uri
        if uri.startswith("models:/"):
            meta = open(go_dir / "registered_model_meta").read()
            assert f"model_name: {NAME}" in meta


def test_missing_stage_error_names_uri(registered, mlgate_bin, tmp_path):
    import subprocess

    env = dict(os.environ, MLFLOW_TRACKING_URI=registered["uri"])
    out = subprocess.run([mlgate_bin, "models", "download", "-m", f"models:/{NAME}/Staging", "-d", str(tmp_path / "x")],
                         env=env, capture_output=True, text=True)
    assert out.returncode == 1
    assert f"no version of model '{NAME}' in stage 'Staging'" in out.stderr
    assert not (tmp_path / "x").exists()


def test_go_logged_run_reads_back_in_python(registered, tmp_path):
    """The Go example logs into mlgate server; the Python client reads it."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(["go", "run", "./examples/train", "-tracking-uri", registered["uri"], "-experiment", "interop-go",
                          "-name", "go-linear", "-epochs", "7"], cwd=root, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    client = MlflowClient(registered["uri"])
    exp = client.get_experiment_by_name("interop-go")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "gd-linear"
    assert run.data.params["epochs"] == "7" and run.data.params["optimizer"] == "gd"
    assert run.data.tags["language"] == "go" and run.data.tags["mlflow.source.type"] == "LOCAL"
    hist = client.get_metric_history(run.info.run_id, "mse")
    assert [m.step for m in hist] == list(range(7))
    assert all(hist[i].value > hist[i + 1].value for i in range(6))
    files = {f.path for f in client.list_artifacts(run.info.run_id, "model")}
    assert "model/MLmodel" in files and "model/model.onnx" in files
    assert client.get_model_version_by_alias("go-linear", "champion").version == "1"


def test_followed_alias_switches_versions_under_load(registered, mlgate_bin, start_proc):
    """--watch-interval: moving the alias switches the served version, with
    no failed request while requests keep coming."""
    import threading
    import time

    env = {"MLFLOW_TRACKING_URI": registered["uri"]}
    port = free_port()
    experiment = f"follow-{port}"
    p = start_proc([mlgate_bin, "models", "serve", "-m", f"models:/{NAME}@champion", "--port", str(port),
                    "--cache-dir", str(registered["tmp"] / "cache"), "--watch-interval", "200ms",
                    "--log-experiment", experiment, "--log-interval", "1s"],
                   port=port, env=env, ready_path="/health", timeout=120)

    def served():
        return requests.get(f"{p.url}/v2/models/{NAME}", timeout=10).json()["versions"]

    assert served() == ["2"]
    client = MlflowClient(registered["uri"])
    deadline = time.time() + 30
    while (exp := client.get_experiment_by_name(experiment)) is None or not (runs := client.search_runs([exp.experiment_id])):
        assert time.time() < deadline, "the serving run never appeared"
        time.sleep(0.1)
    run_id = runs[0].info.run_id
    assert runs[0].data.params["watch_interval"] == "200ms"

    def tagged():
        return client.get_run(run_id).data.tags.get("mlgate.model_version")
    stop, failures, answered = threading.Event(), [], []

    def load():
        while not stop.is_set():
            r = requests.post(p.url + "/invocations", json={"dataframe_split": DF.to_dict(orient="split")}, timeout=30)
            (answered if r.status_code == 200 else failures).append(r.status_code)

    senders = [threading.Thread(target=load) for _ in range(4)]
    for t in senders:
        t.start()
    try:
        for version in ("1", "2"):
            client.set_registered_model_alias(NAME, "champion", version)
            deadline = time.time() + 30
            while served() != [version]:
                assert time.time() < deadline, f"still serving {served()} after the alias moved to {version}"
                time.sleep(0.05)
            while tagged() != version:  # the serving run records the switch
                assert time.time() < deadline, f"the run is tagged {tagged()} after the switch to {version}"
                time.sleep(0.05)
        # a version whose files cannot be fetched: the served one stays
        bad = client.create_model_version(NAME, source=f"runs:/{registered['runs'][0]}/no-such-model",
                                           run_id=registered["runs"][0])
        client.set_registered_model_alias(NAME, "champion", bad.version)
        time.sleep(1.5)
        assert served() == ["2"]
        client.set_registered_model_alias(NAME, "champion", "2")
        client.delete_model_version(NAME, bad.version)
    finally:
        stop.set()
        for t in senders:
            t.join()
        client.set_registered_model_alias(NAME, "champion", "2")
    assert not failures, failures[:5]
    assert len(answered) > 0
    metrics = requests.get(p.url + "/metrics", timeout=10).text
    assert "mlgate_serve_model_switches_total 2" in metrics
    for version in ("1", "2"):
        assert f'route="/invocations",status="200",version="{version}"' in metrics


def test_canary_takes_its_share(registered, mlgate_bin, start_proc):
    """--canary: a second version under the same name takes its share of the
    predictions, each counted under its version; a named version is
    reachable through the Open Inference Protocol."""
    import re

    env = {"MLFLOW_TRACKING_URI": registered["uri"]}
    port = free_port()
    p = start_proc([mlgate_bin, "models", "serve", "-m", f"models:/{NAME}@champion", "--port", str(port),
                    "--cache-dir", str(registered["tmp"] / "cache"), "--canary", f"models:/{NAME}/1",
                    "--canary-percent", "50"], port=port, env=env, ready_path="/health", timeout=120)
    want = np.asarray(mlflow.pyfunc.load_model(f"models:/{NAME}/1").predict(DF)).astype(np.float64).reshape(-1)
    n = 200
    for _ in range(n):
        r = requests.post(p.url + "/invocations", json={"dataframe_split": DF.to_dict(orient="split")}, timeout=30)
        assert r.status_code == 200, r.text
        assert np.allclose(np.asarray(flat(r.json()["predictions"]), dtype=np.float64), want, atol=1e-5)
    metrics = requests.get(p.url + "/metrics", timeout=10).text
    counts = {v: float(c) for v, c in re.findall(
        r'mlgate_serve_requests_total\{model="%s",route="/invocations",status="200",version="(\d+)"\} (\S+)' % NAME, metrics)}
    assert set(counts) == {"1", "2"} and sum(counts.values()) == n, counts
    assert 60 <= counts["1"] <= 140, counts  # 50% of 200, about 5.6 standard deviations either way
    meta = requests.get(f"{p.url}/v2/models/{NAME}/versions/1", timeout=10).json()
    assert meta["versions"] == ["1"]
    assert requests.get(f"{p.url}/v2/models/{NAME}", timeout=10).json()["versions"] == ["2"]
