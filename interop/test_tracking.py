"""The real mlflow client against `mlgate server`, compared call for call
with a real `mlflow server` started by the test on the same machine."""

import math
import os

import numpy as np
import pytest

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from conftest import Proc, free_port

HERE = os.path.dirname(os.path.abspath(__file__))


pytestmark = pytest.mark.usefixtures("fresh_mlflow_env")


def code_of(fn):
    try:
        fn()
    except MlflowException as e:
        return e.error_code
    return None


def workload(url, tmp):
    """Runs the same calls on a server and returns what can be compared."""
    mlflow.set_tracking_uri(url)
    c = MlflowClient(url)
    out = {}
    exp_id = mlflow.create_experiment("interop", tags={"team": "ml"})
    out["dup_experiment"] = code_of(lambda: mlflow.create_experiment("interop"))
    out["missing_by_name"] = c.get_experiment_by_name("does-not-exist")
    mlflow.set_experiment("interop")
    e = c.get_experiment(exp_id)
    out["experiment"] = (e.name, e.lifecycle_stage, dict(e.tags))
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"l1": 1, "solver": "lbfgs"})
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8})
        mlflow.set_tag("owner", "alice")
        mlflow.set_tags({"stage": "dev", "x": "1"})
        mlflow.log_metric("nan", float("nan"))
        out["changed_param"] = code_of(lambda: mlflow.log_param("alpha", 0.7))
        with mlflow.start_run(run_name="child", nested=True) as child:
            c.log_batch(child.info.run_id,
                        metrics=[mlflow.entities.Metric("m", float(i), 1000 + i, i) for i in range(5)],
                        params=[mlflow.entities.Param("p", "v")],
                        tags=[mlflow.entities.RunTag("t", "u")])
        art = tmp / "art"
        (art / "sub").mkdir(parents=True)
        (art / "a.txt").write_text("hello")
        (art / "sub" / "b.txt").write_text("world")
        mlflow.log_artifact(str(art / "a.txt"))
        mlflow.log_artifacts(str(art), artifact_path="dir")
    pr = c.get_run(parent.info.run_id)
    out["parent_params"] = pr.data.params
    out["parent_metrics"] = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in pr.data.metrics.items()}
    out["parent_tags"] = {k: v for k, v in pr.data.tags.items() if not k.startswith("mlflow.source") and k != "mlflow.user"}
    out["parent_status"] = (pr.info.status, pr.info.run_name, pr.info.lifecycle_stage, pr.info.end_time is not None)
    cr = c.get_run(child.info.run_id)
    out["child_parent"] = cr.data.tags.get("mlflow.parentRunId") == parent.info.run_id
    out["child_data"] = (cr.data.metrics, cr.data.params, cr.data.tags.get("t"))
    out["history"] = [(m.value, m.step) for m in c.get_metric_history(parent.info.run_id, "loss")]
    out["child_history"] = [(m.value, m.step, m.timestamp) for m in c.get_metric_history(child.info.run_id, "m")]
    out["artifacts_root"] = sorted((f.path, f.is_dir, f.file_size) for f in c.list_artifacts(parent.info.run_id))
    out["artifacts_dir"] = sorted((f.path, f.is_dir, f.file_size) for f in c.list_artifacts(parent.info.run_id, "dir/sub"))
    dl = mlflow.artifacts.download_artifacts(run_id=parent.info.run_id, artifact_path="dir", dst_path=str(tmp / "dl"))
    out["downloaded"] = sorted(os.path.relpath(os.path.join(r, f), dl) for r, _, fs in os.walk(dl) for f in fs)
    out["downloaded_b"] = open(os.path.join(dl, "sub", "b.txt")).read()

    # search runs over a small grid, with filters and order_by
    for i in range(6):
        with mlflow.start_run(run_name=f"grid-{i}"):
            mlflow.log_param("model", ["lr", "tree", "LR"][i % 3])
            mlflow.log_metric("rmse", [0.5, 0.2, 0.9, 0.2, 0.7, 0.1][i])
            mlflow.set_tag("parity", "even" if i % 2 == 0 else "odd")

    def names(**kw):
        df = mlflow.search_runs([exp_id], **kw)
        return list(df["tags.mlflow.runName"]) if len(df) else []

    out["search_all"] = names(order_by=["attributes.run_name ASC"])
    out["search_metric"] = names(filter_string="metrics.rmse < 0.6", order_by=["metrics.rmse ASC", "attributes.run_name DESC"])
    out["search_param"] = names(filter_string="params.model = 'lr' and tags.parity = 'even'")
    out["search_like"] = names(filter_string="params.model ILIKE 'l%'", order_by=["params.model DESC", "run_name"])
    out["search_tag_like"] = names(filter_string="tags.parity LIKE 'o%'", order_by=["metrics.rmse DESC"])
    out["search_name"] = names(filter_string="attributes.run_name != 'parent' and metrics.rmse >= 0.5")
    out["search_max"] = len(c.search_runs([exp_id], max_results=2))
    page = c.search_runs([exp_id], max_results=3, order_by=["attributes.run_name ASC"])
    page2 = c.search_runs([exp_id], max_results=3, order_by=["attributes.run_name ASC"], page_token=page.token)
    out["search_pages"] = ([r.info.run_name for r in page], [r.info.run_name for r in page2])
    out["bad_filter"] = code_of(lambda: mlflow.search_runs([exp_id], filter_string="metrics.rmse < 'x'"))
    out["bad_filter_or"] = code_of(lambda: mlflow.search_runs([exp_id], filter_string="metrics.rmse < 1 or metrics.rmse > 2"))
    out["missing_run"] = code_of(lambda: c.get_run("0123456789abcdef0123456789abcdef"))
    out["missing_experiment"] = code_of(lambda: c.get_experiment("987654"))

    # delete and restore
    c.delete_run(child.info.run_id)
    out["deleted_stage"] = c.get_run(child.info.run_id).info.lifecycle_stage
    out["write_deleted"] = code_of(lambda: c.log_param(child.info.run_id, "q", "1"))
    out["search_deleted"] = len(c.search_runs([exp_id], run_view_type=mlflow.entities.ViewType.DELETED_ONLY))
    c.restore_run(child.info.run_id)
    out["restored_stage"] = c.get_run(child.info.run_id).info.lifecycle_stage
    other = c.create_experiment("to-delete")
    c.delete_experiment(other)
    out["deleted_experiment"] = c.get_experiment(other).lifecycle_stage
    out["deleted_name_reuse"] = code_of(lambda: c.create_experiment("to-delete"))
    c.restore_experiment(other)
    out["experiments"] = sorted(e.name for e in c.search_experiments(filter_string="name LIKE 'to-%' OR name = 'x'".split(" OR ")[0]))
    c.set_experiment_tag(other, "k", "v")
    out["exp_tag"] = c.get_experiment(other).tags
    c.delete_experiment_tag(other, "k")
    out["exp_tag_deleted"] = c.get_experiment(other).tags
    c.rename_experiment(other, "renamed")
    out["renamed"] = c.get_experiment(other).name
    return out


def test_tracking_matches_mlflow_server(mlgate_server, mlflow_server, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    got = workload(mlgate_server.url, tmp_path / "a")
    want = workload(mlflow_server.url, tmp_path / "b")
    for k in want:
        assert got.get(k) == want[k], f"{k}: mlgate {got.get(k)!r} != mlflow {want[k]!r}"
    # the error cases really are errors
    assert want["dup_experiment"] == "RESOURCE_ALREADY_EXISTS"
    assert want["changed_param"] == "INVALID_PARAMETER_VALUE"
    assert want["bad_filter"] == "INVALID_PARAMETER_VALUE"
    assert want["missing_run"] == "RESOURCE_DOES_NOT_EXIST"


def test_log_model_and_load(mlgate_server, tmp_path):
    from sklearn.linear_model import LinearRegression

    mlflow.set_tracking_uri(mlgate_server.url)
    mlflow.set_experiment("models")
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = X @ np.array([1.5, -2.0]) + 0.5
    sk = LinearRegression().fit(X, y)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(sk, name="sk", input_example=X[:2], pip_requirements=["scikit-learn"])
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_allclose(loaded.predict(X), sk.predict(X), rtol=1e-9)
    again = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/sk")
    np.testing.assert_allclose(again.predict(X), sk.predict(X), rtol=1e-9)
    lm = MlflowClient(mlgate_server.url).get_logged_model(info.model_id)
    assert lm.status == mlflow.entities.LoggedModelStatus.READY
    assert lm.source_run_id == run.info.run_id

    onnx = pytest.importorskip("onnx")
    from skl2onnx import to_onnx

    proto = to_onnx(sk, X[:1].astype(np.float32))
    with mlflow.start_run():
        oinfo = mlflow.onnx.log_model(proto, name="onnx", pip_requirements=["onnx", "onnxruntime"])
    o = mlflow.pyfunc.load_model(oinfo.model_uri)
    import pandas as pd

    pred = o.predict(pd.DataFrame(X.astype(np.float32)))
    np.testing.assert_allclose(np.asarray(pred).reshape(-1), sk.predict(X), rtol=1e-4)
    assert isinstance(mlflow.onnx.load_model(oinfo.model_uri), onnx.ModelProto)


# bcrypt hashes (cost 4) of "alice-pw" and "bob-pw"
USERS = """alice:$2a$04$sephv7lkLDA9iYh7kPjUIOIp6WMDpjjTcag4La3VYfOUdSEnrEsuC
bob:$2a$04$s13QMB4B7xVEOa8jSCLhLOUK9uCH88oeTC/.x7/ukhu4CaS2XHwZO:read
"""


def test_basic_auth_with_real_client(mlgate_bin, tmp_path, monkeypatch):
    (tmp_path / "users").write_text(USERS)
    port = free_port()
    p = Proc([mlgate_bin, "server", "--backend-store-uri", f"sqlite:///{tmp_path}/a.db", "--port", str(port),
              "--auth", "basic", "--auth-users", str(tmp_path / "users")], port, cwd=str(tmp_path))
    try:
        c = MlflowClient(p.url)
        assert code_of(lambda: c.create_experiment("x")) == "UNAUTHENTICATED"
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "alice-pw")
        exp = c.create_experiment("x")
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "bob-pw")
        assert c.get_experiment(exp).name == "x"
        assert len(c.search_runs([exp])) == 0
        assert code_of(lambda: c.create_experiment("y")) == "PERMISSION_DENIED"
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong")
        assert code_of(lambda: c.get_experiment(exp)) == "UNAUTHENTICATED"
    finally:
        p.stop()


def test_killed_server_leaves_no_partial_batch(mlgate_bin, tmp_path):
    """SIGKILL while log-batch calls are in flight: after a restart every
    batch is either fully there or absent, and the latest value per key
    agrees with the history."""
    import signal
    import threading

    import requests

    db = f"sqlite:///{tmp_path}/k.db"
    port = free_port()
    args = [mlgate_bin, "server", "--backend-store-uri", db, "--port", str(port)]
    p = Proc(args, port, cwd=str(tmp_path))
    run_id = requests.post(p.url + "/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}).json()["run"]["info"]["run_id"]
    keys = [f"k{i}" for i in range(20)]
    stop = threading.Event()

    def hammer(worker):
        step = worker * 1_000_000
        s = requests.Session()
        while not stop.is_set():
            step += 1
            body = {"run_id": run_id, "metrics": [{"key": k, "value": step, "timestamp": step, "step": step} for k in keys]}
            try:
                s.post(p.url + "/api/2.0/mlflow/runs/log-batch", json=body, timeout=5)
            except requests.RequestException:
                return

    threads = [threading.Thread(target=hammer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    import time

    time.sleep(1.5)
    p.stop(sig=signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join()
    p = Proc(args, port, cwd=str(tmp_path))
    try:
        c = MlflowClient(p.url)
        steps = None
        for k in keys:
            hist = c.get_metric_history(run_id, k)
            got = sorted(m.step for m in hist)
            assert got, "no batch survived at all"
            if steps is None:
                steps = got
            assert got == steps, f"key {k} has a different set of steps: a batch was partly written"
        latest = c.get_run(run_id).data.metrics
        assert all(latest[k] == max(steps) for k in keys)
    finally:
        p.stop()
