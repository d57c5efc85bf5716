"""MLflow REST parity: the same raw requests sent to `mlgate server` and to
a real `mlflow server` get the same status, error_code and message; and the
real client's calls whose answers issue 21 fixed give the same results from
both."""

import base64
import json

import pytest
import requests

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric

pytestmark = pytest.mark.usefixtures("fresh_mlflow_env")

A = "/api/2.0/mlflow"
LONG = "x" * 9000

# (method, path, JSON body or None, query params or None). RUN and EXP stand
# for a run and an experiment made on each server before the cases run.
CASES = [
    # type errors: MLflow's text, the value quoted as json.dumps quotes it
    ("POST", A + "/experiments/create", {"name": 123}, None),
    ("POST", A + "/experiments/create", {}, None),
    ("POST", A + "/experiments/create", {"name": ""}, None),
    ("POST", A + "/experiments/create", {"name": "n", "artifact_location": 5}, None),
    ("GET", A + "/runs/get", None, {"run_id": ""}),
    ("POST", A + "/runs/log-batch", {"run_id": "RUN", "metrics": {"b": 1, "a": [1.0, "é"]}}, None),
    ("POST", A + "/runs/log-batch", {"run_id": 123}, None),
    ("POST", A + "/runs/log-metric", {"run_id": "RUN", "key": "m", "value": "abc", "timestamp": 1}, None),
    ("POST", A + "/runs/log-metric", {"run_id": "RUN", "key": "m", "timestamp": 1}, None),
    ("POST", A + "/runs/log-metric", {"run_id": "RUN", "key": "m", "value": 1, "timestamp": "abc"}, None),
    ("POST", A + "/runs/log-metric", {"run_id": "RUN", "key": "m", "value": 1, "timestamp": 1, "step": 1.5}, None),
    ("POST", A + "/runs/log-metric", {"run_id": "RUN", "key": "m", "value": 1, "timestamp": 1, "step": True}, None),
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "max_results": "abc"}, None),
    ("POST", A + "/runs/create", {"experiment_id": "EXP", "start_time": "soon"}, None),
    ("POST", A + "/registered-models/create", {"name": 5}, None),
    ("POST", A + "/registered-models/create", {"name": ""}, None),
    # max_results ranges
    ("GET", A + "/metrics/get-history-bulk-interval", None, {"run_ids": "RUN", "metric_key": "m", "max_results": "0"}),
    ("GET", A + "/metrics/get-history-bulk-interval", None, {"run_ids": "RUN", "metric_key": "m", "max_results": "2501"}),
    ("GET", A + "/metrics/get-history-bulk-interval", None, {"run_ids": "RUN", "metric_key": "m", "max_results": "x"}),
    ("GET", A + "/metrics/get-history-bulk-interval", None, {"metric_key": "m"}),
    ("GET", A + "/metrics/get-history-bulk-interval", None, {"run_ids": "RUN", "metric_key": "m", "start_step": "1"}),
    ("GET", A + "/metrics/get-history-bulk-interval", None, {"run_ids": "RUN", "metric_key": "m", "start_step": "5", "end_step": "1"}),
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "max_results": 50001}, None),
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "max_results": "50001"}, None),
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "max_results": -1}, None),
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "max_results": 0}, None),
    ("POST", A + "/experiments/search", {"max_results": 0}, None),
    ("POST", A + "/experiments/search", {"max_results": 50001}, None),
    ("GET", A + "/registered-models/search", None, {"max_results": "0"}),
    ("GET", A + "/registered-models/search", None, {"max_results": "1001"}),
    ("GET", A + "/model-versions/search", None, {"max_results": "0"}),
    ("GET", A + "/model-versions/search", None, {"max_results": "200001"}),
    ("GET", A + "/metrics/get-history", None, {"run_id": "RUN", "metric_key": "m", "max_results": "0"}),
    ("GET", A + "/metrics/get-history", None, {"run_id": "RUN", "metric_key": "m", "max_results": "-5"}),
    # the UI's bulk history route (MLflow serves it under /ajax-api only)
    ("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", None, {"run_id": "RUN"}),
    ("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", None, {"metric_key": "m"}),
    # artifact paths
    ("GET", A + "/artifacts/list", None, {"run_id": "RUN", "path": "../x"}),
    ("GET", A + "/artifacts/list", None, {"run_id": "RUN", "path": "/etc"}),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts/..%2fx", None, None),
    ("GET", "/get-artifact", None, {"run_id": "RUN", "path": "../x"}),
    # behaviours
    ("POST", A + "/logged-models", {"experiment_id": "EXP", "source_run_id": "nope"}, None),
    ("POST", A + "/runs/update", {"run_id": "RUN", "status": "BOGUS"}, None),
    ("POST", A + "/runs/set-tag", {"run_id": "RUN", "key": "../a", "value": "v"}, None),
    ("POST", A + "/runs/set-tag", {"run_id": "RUN", "key": "a/./b", "value": "v"}, None),
    ("POST", A + "/runs/log-parameter", {"run_id": "RUN", "key": "p", "value": LONG}, None),
    ("POST", A + "/model-versions/create", {"name": "nope", "source": "x"}, None),
    ("GET", A + "/experiments/get", None, {"experiment_id": "abc"}),
    # key, value, name and batch limits
    ("POST", A + "/runs/log-parameter", {"run_id": "RUN", "key": "k" * 251, "value": "v"}, None),
    ("POST", A + "/runs/log-parameter", {"run_id": "RUN", "key": "", "value": "v"}, None),
    ("POST", A + "/runs/log-parameter", {"run_id": "RUN", "key": "bad*key", "value": "v"}, None),
    ("POST", A + "/runs/log-metric", {"run_id": "RUN", "key": "k" * 251, "value": 1, "timestamp": 1}, None),
    ("POST", A + "/runs/set-tag", {"run_id": "RUN", "key": "t", "value": LONG}, None),
    ("POST", A + "/runs/set-tag", {"run_id": "RUN", "key": "k" * 251, "value": "v"}, None),
    ("POST", A + "/runs/log-batch", {"run_id": "RUN", "metrics": [{"key": "m", "value": 1, "timestamp": 1}] * 1001}, None),
    ("POST", A + "/runs/log-batch", {"run_id": "RUN", "params": [{"key": f"p{i}", "value": "v"} for i in range(101)]}, None),
    ("POST", A + "/runs/log-batch", {"run_id": "RUN", "tags": [{"key": f"t{i}", "value": "v"} for i in range(101)]}, None),
    ("POST", A + "/runs/log-batch", {"run_id": "RUN", "metrics": [{"key": "m", "value": 1}]}, None),
    ("POST", A + "/runs/log-batch", {"run_id": "RUN", "params": [{"key": "dup", "value": "1"}, {"key": "dup", "value": "2"}]}, None),
    ("POST", A + "/experiments/create", {"name": "e" * 501}, None),
    # (a duplicate experiment name is not compared: MLflow's message carries its SQL error text)
    ("POST", A + "/experiments/create", {"name": "rl", "artifact_location": "runs:/x/y"}, None),
    ("POST", A + "/experiments/set-experiment-tag", {"experiment_id": "EXP", "key": "", "value": "v"}, None),
    ("POST", A + "/experiments/set-experiment-tag", {"experiment_id": "EXP", "key": "k" * 251, "value": "v"}, None),
    ("POST", A + "/runs/update", {"run_id": "RUN", "run_name": 5}, None),
    ("POST", A + "/runs/create", {"experiment_id": "abc"}, None),
    ("POST", A + "/runs/create", {"experiment_id": "424242"}, None),
    ("POST", A + "/runs/log-inputs", {"run_id": "RUN", "datasets": [{"dataset": {"name": "d" * 501, "digest": "x", "source_type": "local", "source": "{}"}}]}, None),
    ("POST", A + "/runs/log-inputs", {"run_id": "RUN", "datasets": [{"dataset": {"name": "d", "digest": "x" * 37, "source_type": "local", "source": "{}"}}]}, None),
    ("POST", A + "/logged-models", {"experiment_id": "EXP", "params": [{"key": "", "value": "v"}]}, None),
    ("POST", A + "/logged-models", {}, None),
    ("POST", A + "/logged-models/search", {"experiment_ids": ["EXP"], "datasets": [{"dataset_digest": "x"}]}, None),
    ("POST", A + "/logged-models/search", {"experiment_ids": ["EXP"], "max_results": 0}, None),
    ("GET", A + "/runs/get", None, {"run_id": "nope"}),
    ("GET", A + "/experiments/get-by-name", None, {"experiment_name": "nope"}),
    ("POST", A + "/registered-models/create", {"name": "a/../b"}, None),
    ("GET", A + "/registered-models/get", None, {"name": "nope"}),
    ("POST", A + "/registered-models/set-tag", {"name": "nope", "key": "k", "value": "v"}, None),
    ("POST", A + "/runs/log-metric", {"run_id": "RUN", "key": "m", "value": "NaN", "timestamp": 1}, None),
    ("POST", A + "/runs/log-metric", {"run_id": "RUN", "key": "m", "value": 1, "timestamp": -1}, None),
    ("POST", A + "/runs/delete-tag", {"run_id": "RUN", "key": "nope"}, None),
    ("POST", A + "/experiments/update", {"experiment_id": "EXP", "new_name": ""}, None),
    ("POST", A + "/experiments/delete", {"experiment_id": "424242"}, None),
    ("GET", A + "/artifacts/list", None, {"run_id": "0" * 32}),
    ("POST", A + "/runs/log-inputs", {"run_id": "RUN", "datasets": [{"dataset": {"name": "d"}}]}, None),
    ("POST", A + "/runs/outputs", {"run_id": "RUN", "models": [{"model_id": "m-nope", "step": 0}]}, None),
    ("GET", A + "/logged-models/m-nope", None, None),
    ("PATCH", A + "/logged-models/m-nope", {"status": "LOGGED_MODEL_READY"}, None),
    # registry
    ("POST", A + "/registered-models/create", {"name": "r:x"}, None),
    ("POST", A + "/registered-models/create", {"name": "rm", "tags": [{"key": "", "value": "v"}]}, None),
    ("POST", A + "/registered-models/create", {"name": "rm2", "tags": [{"key": "k" * 251, "value": "v"}]}, None),
    ("POST", A + "/registered-models/create", {"name": "rm3", "tags": {"key": "k"}}, None),
    ("GET", A + "/model-versions/get", None, {"name": "nope", "version": "x"}),
    ("GET", A + "/model-versions/get", None, {"name": "nope", "version": "1"}),
    ("POST", A + "/registered-models/alias", {"name": "nope", "alias": "latest", "version": "1"}, None),
    ("GET", A + "/registered-models/search", None, {"filter": "tags.a = 'x' or name = 'b'"}),
    # (not compared: an unknown order_by key, whose message lists a Python set in hash order)
    # (not compared: an unknown model version attribute, whose message lists a Python set in hash order)
    ("GET", A + "/model-versions/search", None, {"page_token": "garbage"}),
    ("POST", A + "/model-versions/create", {"name": "nope", "source": "s3://b/x", "model_id": "m-nope"}, None),
    # search filters and page tokens
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "filter": "metrics.a > 1 and"}, None),
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "filter": "metrics.a > 1 or params.b = 'x'"}, None),
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "filter": "foo.a = 1"}, None),
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "order_by": ["foo.a"]}, None),
    ("POST", A + "/experiments/search", {"max_results": 10, "filter": "name ="}, None),
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "filter": "metrics.a >"}, None),
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "page_token": "garbage"}, None),
    ("POST", A + "/runs/search", {"experiment_ids": ["EXP"], "page_token": base64.b64encode(b"abc").decode()}, None),
    ("POST", A + "/experiments/search", {"page_token": "garbage"}, None),
    ("GET", A + "/registered-models/search", None, {"filter": "name = 'a' and"}),
    ("GET", A + "/registered-models/search", None, {"page_token": "garbage"}),
    ("GET", A + "/model-versions/search", None, {"filter": "name = 'a' and"}),
]


def _subst(x, ids):
    if x is None:
        return None
    return json.loads(json.dumps(x).replace('"RUN"', json.dumps(ids[1])).replace('"EXP"', json.dumps(ids[0])))


def _answer(server, ids, method, path, body, params):
    r = requests.request(method, server.url + path, json=_subst(body, ids), params=_subst(params, ids))
    try:
        j = r.json()
    except ValueError:
        return r.status_code, "not JSON"
    if isinstance(j, dict) and "error_code" in j:
        return r.status_code, j["error_code"], j["message"].replace(ids[1], "RUN")
    return r.status_code, "OK"


@pytest.fixture(scope="module")
def both(mlgate_server, mlflow_server):
    ids = {}
    for name, s in (("mlgate", mlgate_server), ("mlflow", mlflow_server)):
        e = requests.post(s.url + A + "/experiments/create", json={"name": "parity"}).json()["experiment_id"]
        r = requests.post(s.url + A + "/runs/create", json={"experiment_id": e}).json()["run"]["info"]["run_id"]
        ids[name] = (e, r)
    return {"mlgate": (mlgate_server, ids["mlgate"]), "mlflow": (mlflow_server, ids["mlflow"])}


@pytest.mark.parametrize("method,path,body,params", CASES,
                         ids=[f"{m} {p} {json.dumps(b or q)[:60]}" for m, p, b, q in CASES])
def test_same_answer(both, method, path, body, params):
    got = _answer(*both["mlgate"], method, path, body, params)
    want = _answer(*both["mlflow"], method, path, body, params)
    assert got == want


def test_metric_history_bulk_interval_same(mlgate_server, mlflow_server):
    """The bulk interval route through the real client's REST transport (the
    3.17.2 client has no method for it; MLflow's UI calls it)."""
    from mlflow.utils.rest_utils import MlflowHostCreds, http_request

    def run(url):
        c = MlflowClient(url, registry_uri=url)
        e = c.create_experiment("bulk")
        r = c.create_run(e).info.run_id
        c.log_batch(r, metrics=[Metric("m", float(i), 1000 + i, i) for i in range(40)])
        creds = MlflowHostCreds(url)
        out = []
        for params in ({"run_ids": r, "metric_key": "m", "max_results": 7},
                       {"run_ids": r, "metric_key": "m", "start_step": 5, "end_step": 20, "max_results": 4},
                       {"run_ids": r, "metric_key": "m", "max_results": 0},
                       {"run_ids": r, "metric_key": "m", "max_results": 2501}):
            res = http_request(creds, "/api/2.0/mlflow/metrics/get-history-bulk-interval", "GET", params=params)
            j = res.json()
            out.append((res.status_code, j.get("error_code"), j.get("message"),
                        [(m["step"], m["value"]) for m in j.get("metrics", [])]))
        return out

    got, want = run(mlgate_server.url), run(mlflow_server.url)
    assert got == want
    assert got[2][:2] == (400, "INVALID_PARAMETER_VALUE")


def test_create_experiment_relative_artifact_location_same(mlgate_server, mlflow_server):
    def run(server):
        mlflow.set_tracking_uri(server.url)
        c = MlflowClient(server.url, registry_uri=server.url)
        out = []
        for i, loc in enumerate(["my_location", "./dot/sub", "file:rel", "file:///abs/x", "/abs/y", "s3://b/x"]):
            e = c.create_experiment(f"loc-{i}", artifact_location=loc)
            got = c.get_experiment(e).artifact_location
            found = [x.artifact_location for x in c.search_experiments(filter_string=f"name = 'loc-{i}'")]
            assert found == [got]
            out.append(got.replace(str(server.cwd), "<cwd>"))
        return out

    got, want = run(mlgate_server), run(mlflow_server)
    assert got == want
    assert got[0] == "<cwd>/my_location" and got[2] == "file://<cwd>/rel"


def test_logged_models_same(mlgate_server, mlflow_server):
    def run(url):
        mlflow.set_tracking_uri(url)
        c = MlflowClient(url, registry_uri=url)
        e = c.create_experiment("lm")
        r = c.create_run(e).info.run_id
        a = c.create_logged_model(e, name="a", source_run_id=r)
        b = c.create_logged_model(e, name="b", source_run_id="no-such-run")  # accepted by MLflow
        c.log_batch(r, metrics=[Metric("acc", 0.9, 1, 0, model_id=a.model_id, dataset_name="ds1", dataset_digest="d1"),
                                Metric("acc", 0.5, 1, 0, model_id=b.model_id, dataset_name="ds2", dataset_digest="d2")])

        def names(**kw):
            return sorted(m.name for m in c.search_logged_models(experiment_ids=[e], **kw))

        out = {
            "source": c.get_logged_model(b.model_id).source_run_id,
            "all": names(),
            "ds1": names(datasets=[{"dataset_name": "ds1", "dataset_digest": "d1"}]),
            "ds2": names(datasets=[{"dataset_name": "ds2", "dataset_digest": "d2"}]),
            "either": names(datasets=[{"dataset_name": "ds1", "dataset_digest": "d1"},
                                      {"dataset_name": "ds2", "dataset_digest": "d2"}]),
            "wrong_digest": names(datasets=[{"dataset_name": "ds1", "dataset_digest": "zz"}]),
            "metric_and_ds": names(filter_string="metrics.acc > 0.4", datasets=[{"dataset_name": "ds2", "dataset_digest": "d2"}]),
        }
        c.create_registered_model("lm-reg")
        for _ in range(2):
            c.create_model_version("lm-reg", f"models:/{a.model_id}", model_id=a.model_id)
        out["model_versions_tag"] = c.get_logged_model(a.model_id).tags.get("mlflow.modelVersions")
        return out

    got, want = run(mlgate_server.url), run(mlflow_server.url)
    assert got == want
    assert got["ds1"] == ["a"] and got["model_versions_tag"] == '[{"name": "lm-reg", "version": 1}, {"name": "lm-reg", "version": 2}]'


def test_artifact_download_content_types_same(mlgate_server, mlflow_server, tmp_path):
    names = ["a.txt", "MLmodel", "MLproject", "mlproject", "conf.yaml", "data.json", "model.pkl", "img.png", "page.html", "t.tar.gz"]

    def run(url):
        mlflow.set_tracking_uri(url)
        c = MlflowClient(url, registry_uri=url)
        e = c.create_experiment("ct")
        r = c.create_run(e)
        src = tmp_path / url.rsplit(":", 1)[1]
        src.mkdir()
        for n in names:
            (src / n).write_bytes(b"content")
        c.log_artifacts(r.info.run_id, str(src))
        # the artifact_uri is mlflow-artifacts:/<exp>/<run>/artifacts
        rel = r.info.artifact_uri.split(":", 1)[1].lstrip("/")
        out = {}
        for n in names:
            res = requests.get(f"{url}/api/2.0/mlflow-artifacts/artifacts/{rel}/{n}")
            res2 = requests.get(f"{url}/get-artifact", params={"run_id": r.info.run_id, "path": n})
            out[n] = (res.status_code, res.headers.get("Content-Type"), res.content, res2.headers.get("Content-Type"))
        dl = c.download_artifacts(r.info.run_id, "MLmodel", str(tmp_path / ("dl-" + url.rsplit(":", 1)[1])))
        out["downloaded"] = open(dl, "rb").read()
        return out

    got, want = run(mlgate_server.url), run(mlflow_server.url)
    assert got == want
    assert got["a.txt"][1] == "text/plain" and got["MLmodel"][1] == "text/plain"


# Endpoint families MLflow 3.17.2 serves and mlgate does not (listed in
# docs/tracking-server.md): mlgate answers MLflow's 404 ENDPOINT_NOT_FOUND.
NOT_SERVED = [
    ("POST", "/graphql"),
    ("POST", "/v1/traces"),
    ("POST", "/api/3.0/mlflow/traces"),
    ("GET", "/api/2.0/mlflow/traces"),
    ("POST", "/api/3.0/mlflow/traces/search"),
    ("POST", "/api/3.0/mlflow/datasets/create"),
    ("POST", "/api/3.0/mlflow/scorers/register"),
    ("GET", "/api/3.0/mlflow/scorers/list"),
    ("GET", "/api/2.0/mlflow/gateway/routes"),
    ("POST", "/api/2.0/mlflow/gateway-proxy"),
    ("GET", "/api/3.0/mlflow/gateway/secrets/list"),
    ("POST", "/api/3.0/mlflow/prompt-optimization/jobs"),
]


@pytest.mark.parametrize("method,path", NOT_SERVED)
def test_unserved_families_answer_endpoint_not_found(mlgate_server, method, path):
    r = requests.request(method, mlgate_server.url + path, json={})
    assert r.status_code == 404
    assert r.json()["error_code"] == "ENDPOINT_NOT_FOUND"
