"""`mlgate models serve --payload-log-sample` logs sampled predictions with
their answers as JSON Lines files under inference/ of the serving run, on a
real `mlflow server` and on `mlgate server`; the real mlflow client
downloads them and pandas reads them back as docs/serving.md shows."""

import glob
import json
import os
import signal
import time

import pandas as pd
import requests
from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts

from conftest import Proc, free_port
from test_serving_run import MODEL, tracking_server  # noqa: F401 (fixture)


def test_payloads_read_back_with_pandas(mlgate_bin, tracking_server, tmp_path):  # noqa: F811
    experiment = f"payloads-{tracking_server.port}"
    port = free_port()
    serve = Proc([mlgate_bin, "models", "serve", "-m", MODEL, "-p", str(port),
                  "--tracking-uri", tracking_server.url, "--log-experiment", experiment, "--log-interval", "200ms",
                  "--payload-log-sample", "1", "--payload-log-interval", "300ms",
                  "--payload-log-exclude", "route"], port, cwd=str(tmp_path))
    client = MlflowClient(tracking_uri=tracking_server.url)
    answers = {}
    try:
        deadline = time.time() + 60
        while (exp := client.get_experiment_by_name(experiment)) is None or \
                not (runs := client.search_runs([exp.experiment_id])):
            assert time.time() < deadline, "the serving run never appeared"
            time.sleep(0.1)
        run_id = runs[0].info.run_id
        for i in range(20):
            body = {"inputs": [[float(i), 2.0, 3.0]]}
            r = requests.post(serve.url + "/invocations", json=body, timeout=10)
            assert r.status_code == 200, r.text
            answers[float(i)] = r.json()
            if i == 10:
                time.sleep(0.6)  # a file closes by age and is uploaded meanwhile
        r = requests.post(serve.url + "/invocations", json={"inputs": [[1.0, 2.0]]}, timeout=10)
        assert r.status_code == 400
    finally:
        serve.p.send_signal(signal.SIGTERM)
        assert serve.p.wait(60) == 0
        serve.stop()

    # as docs/serving.md shows
    local = download_artifacts(run_id=run_id, artifact_path="inference", dst_path=str(tmp_path / "payloads"),
                               tracking_uri=tracking_server.url)
    files = sorted(glob.glob(os.path.join(local, "*.jsonl")))
    assert len(files) >= 2, files
    df = pd.concat([pd.read_json(p, lines=True, dtype={"model_version": str}) for p in files], ignore_index=True)

    assert len(df) == 21
    assert "route" not in df.columns
    assert {"timestamp_ms", "model_name", "model_version", "status_code", "latency_ms", "sampling_fraction",
            "request", "request_truncated", "response", "response_truncated"} <= set(df.columns)
    assert pd.api.types.is_datetime64_any_dtype(df["timestamp_ms"])
    assert df["timestamp_ms"].min() > pd.Timestamp.now() - pd.Timedelta(minutes=10)
    assert sorted(df["status_code"].tolist()) == [200] * 20 + [400]
    assert (df["model_version"] == "").all() and (df["model_name"] == "model").all()
    assert (df["latency_ms"] > 0).all()
    assert (df["sampling_fraction"] == 1).all()
    assert not df["request_truncated"].any() and not df["response_truncated"].any()
    ok = df[df["status_code"] == 200]
    for req, resp in zip(ok["request"].map(json.loads), ok["response"].map(json.loads)):
        assert resp == answers.pop(req["inputs"][0][0])
    assert not answers
    bad = df[df["status_code"] == 400].iloc[0]
    assert json.loads(bad["request"]) == {"inputs": [[1.0, 2.0]]}
    assert "error_code" in json.loads(bad["response"])

    hist = client.get_metric_history(run_id, "payloads_logged")
    assert sum(m.value for m in hist) == 21
    assert sum(m.value for m in client.get_metric_history(run_id, "payloads_dropped")) == 0
    assert client.get_run(run_id).data.params["payload_log_sample"] == "1"
