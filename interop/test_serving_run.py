"""`mlgate models serve --log-experiment` logs the scoring server itself as
a run, on a real `mlflow server` and on `mlgate server`, and the real mlflow
client reads it back: params, metrics per interval, the summary and the
MLmodel as artifacts, status FINISHED after SIGTERM."""

import json
import os
import signal
import sys
import time

import pytest
import requests
from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts

from conftest import Proc, free_port

MLFLOW = os.path.join(os.path.dirname(sys.executable), "mlflow")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "examples", "models", "linear")


@pytest.fixture(scope="module", params=["mlflow", "mlgate"])
def tracking_server(request, mlgate_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp(f"{request.param}-serving-run")
    port = free_port()
    if request.param == "mlflow":
        args = [MLFLOW, "server", "--backend-store-uri", f"sqlite:///{d}/mlflow.db",
                "--artifacts-destination", str(d / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1"]
        p = Proc(args, port, cwd=str(d), timeout=240, env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    else:
        args = [mlgate_bin, "server", "--backend-store-uri", f"sqlite:///{d}/mlgate.db",
                "--artifacts-destination", str(d / "artifacts"), "--port", str(port)]
        p = Proc(args, port, cwd=str(d))
    yield p
    p.stop()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for k in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(k, raising=False)


def metric_last(client, run_id, key):
    hist = client.get_metric_history(run_id, key)
    return max(hist, key=lambda m: m.step).value if hist else None


def test_serving_run_logged_and_read_by_mlflow(mlgate_bin, tracking_server, tmp_path):
    experiment = f"serving-{tracking_server.port}"
    port = free_port()
    serve = Proc([mlgate_bin, "models", "serve", "-m", MODEL, "-p", str(port),
                  "--tracking-uri", tracking_server.url, "--log-experiment", experiment,
                  "--log-interval", "200ms"], port, cwd=str(tmp_path))
    client = MlflowClient(tracking_uri=tracking_server.url)
    try:
        deadline = time.time() + 60
        while (exp := client.get_experiment_by_name(experiment)) is None or \
                not (runs := client.search_runs([exp.experiment_id])):
            assert time.time() < deadline, "the serving run never appeared"
            time.sleep(0.1)
        run_id = runs[0].info.run_id
        assert runs[0].info.status == "RUNNING"

        for _ in range(4):
            r = requests.post(serve.url + "/invocations", json={"inputs": [[1.0, 2.0, 3.0]]}, timeout=10)
            assert r.status_code == 200, r.text
        r = requests.post(serve.url + "/invocations", json={"inputs": [[1.0, 2.0]]}, timeout=10)
        assert r.status_code == 400

        while metric_last(client, run_id, "requests_total") != 5:
            assert time.time() < deadline, "no interval logged the 5 requests"
            time.sleep(0.1)
    finally:
        serve.p.send_signal(signal.SIGTERM)
        assert serve.p.wait(60) == 0
        serve.stop()

    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["flavor"] == "onnx"
    assert run.data.params["model_uri"] == MODEL
    assert run.data.tags["mlflow.source.name"] == "mlgate models serve"
    assert run.info.run_name.startswith("serve model")
    assert sum(m.value for m in client.get_metric_history(run_id, "requests")) == 5
    assert sum(m.value for m in client.get_metric_history(run_id, "client_errors")) == 1
    assert metric_last(client, run_id, "latency_p99_ms") > 0

    names = sorted(a.path for a in client.list_artifacts(run_id, "serving"))
    assert names == ["serving/MLmodel", "serving/summary.json"]
    local = download_artifacts(run_id=run_id, artifact_path="serving/summary.json",
                               dst_path=str(tmp_path / "dl"), tracking_uri=tracking_server.url)
    summary = json.load(open(local))
    assert summary["status"] == "FINISHED"
    assert summary["totals"]["requests"] == 5 and summary["totals"]["client_errors"] == 1
    mlmodel = download_artifacts(run_id=run_id, artifact_path="serving/MLmodel",
                                 dst_path=str(tmp_path / "dl2"), tracking_uri=tracking_server.url)
    assert open(mlmodel).read() == open(os.path.join(MODEL, "MLmodel")).read()
