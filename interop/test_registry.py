"""The real mlflow client's model registry calls against `mlgate server`,
compared call for call with a real `mlflow server` started by the test, and
models:/ URIs loaded through mlflow.pyfunc from mlgate."""

import json
import os
import time

import numpy as np
import pytest
import requests

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from conftest import Proc, free_port



pytestmark = pytest.mark.usefixtures("fresh_mlflow_env")


def code_of(fn):
    try:
        fn()
    except MlflowException as e:
        return e.error_code
    return None


def train():
    from sklearn.linear_model import LinearRegression

    X = np.arange(24, dtype=np.float64).reshape(12, 2)
    y = X @ np.array([1.5, -2.0]) + 0.5
    return X, LinearRegression().fit(X, y)


def mv_view(mv, run_id=None):
    """The comparable part of a ModelVersion (no timestamps, ids or URLs)."""
    return {
        "name": mv.name,
        "version": str(mv.version),
        "stage": mv.current_stage,
        "status": mv.status,
        "description": mv.description,
        "tags": dict(mv.tags),
        "aliases": sorted(mv.aliases),
        "run_id_is_run": (mv.run_id == run_id) if run_id else bool(mv.run_id),
        "source_scheme": (mv.source or "").split(":", 1)[0],
    }


def rm_view(rm):
    return {
        "name": rm.name,
        "description": rm.description,
        "tags": dict(rm.tags),
        "aliases": dict(rm.aliases),
        "latest": sorted((v.current_stage, str(v.version)) for v in (rm.latest_versions or [])),
    }


def workload(url, tmp):
    """Registry calls through the real client; returns what to compare."""
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    c = MlflowClient(url, url)
    out = {}
    X, sk = train()
    mlflow.set_experiment("registry")
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(sk, name="model")
    rid = run.info.run_id

    rm = c.create_registered_model("clf", tags={"team": "a"}, description="first")
    out["created"] = rm_view(rm)
    out["dup"] = code_of(lambda: c.create_registered_model("clf"))
    out["bad_name"] = code_of(lambda: c.create_registered_model("a/b"))

    v1 = mlflow.register_model(f"runs:/{rid}/model", "clf")
    v2 = mlflow.register_model(info.model_uri, "clf")  # an MLflow 3 logged model (models:/m-…)
    out["v1"] = mv_view(v1, rid)
    out["v2"] = mv_view(v2, rid)
    out["v3_auto_model"] = mv_view(mlflow.register_model(f"runs:/{rid}/model", "auto-created"), rid)

    out["get_v1"] = mv_view(c.get_model_version("clf", "1"), rid)
    out["upd_v1"] = mv_view(c.update_model_version("clf", "1", description="v1 desc"), rid)
    c.set_model_version_tag("clf", "1", "k", "v")
    c.set_model_version_tag("clf", "1", "gone", "x")
    c.delete_model_version_tag("clf", "1", "gone")
    out["tagged_v1"] = mv_view(c.get_model_version("clf", "1"), rid)
    c.set_registered_model_tag("clf", "owner", "me")
    c.delete_registered_model_tag("clf", "team")
    c.update_registered_model("clf", description="second")
    out["rm_after_tags"] = rm_view(c.get_registered_model("clf"))

    # Stages, with and without archive_existing_versions.
    out["t1"] = mv_view(c.transition_model_version_stage("clf", "1", "staging"), rid)
    out["t2"] = mv_view(c.transition_model_version_stage("clf", "2", "Staging", archive_existing_versions=True), rid)
    out["v1_after_archive"] = c.get_model_version("clf", "1").current_stage
    out["t1_prod"] = mv_view(c.transition_model_version_stage("clf", "1", "Production"), rid)
    out["bad_stage"] = code_of(lambda: c.transition_model_version_stage("clf", "1", "bogus"))
    out["latest_all"] = sorted((v.current_stage, v.version) for v in c.get_latest_versions("clf"))
    out["latest_prod"] = [v.version for v in c.get_latest_versions("clf", stages=["Production"])]

    # Aliases.
    c.set_registered_model_alias("clf", "champ", "2")
    c.set_registered_model_alias("clf", "challenger", "1")
    out["by_alias"] = mv_view(c.get_model_version_by_alias("clf", "champ"), rid)
    c.set_registered_model_alias("clf", "champ", "1")
    out["moved_alias"] = mv_view(c.get_model_version_by_alias("clf", "champ"), rid)
    c.delete_registered_model_alias("clf", "challenger")
    out["rm_aliases"] = rm_view(c.get_registered_model("clf"))
    out["alias_latest"] = code_of(lambda: c.set_registered_model_alias("clf", "latest", "1"))
    out["alias_vN"] = code_of(lambda: c.set_registered_model_alias("clf", "v2", "1"))
    out["alias_bad_chars"] = code_of(lambda: c.set_registered_model_alias("clf", "a b", "1"))
    out["alias_missing_version"] = code_of(lambda: c.set_registered_model_alias("clf", "x", "99"))
    out["alias_unknown"] = code_of(lambda: c.get_model_version_by_alias("clf", "nope"))

    # Searches with filters and order_by.
    c.create_registered_model("other", tags={"team": "b"})
    out["search_like"] = [m.name for m in c.search_registered_models(filter_string="name LIKE 'cl%'")]
    out["search_desc"] = [m.name for m in c.search_registered_models(order_by=["name DESC"])]
    out["search_tag"] = [m.name for m in c.search_registered_models(filter_string="tags.owner = 'me'")]
    out["search_paged"] = [m.name for m in c.search_registered_models(max_results=1)]
    out["search_bad"] = code_of(lambda: c.search_registered_models(filter_string="bogus = 'x'"))
    out["mv_by_name"] = [v.version for v in c.search_model_versions("name = 'clf'", order_by=["version_number ASC"])]
    out["mv_by_run"] = sorted((v.name, v.version) for v in c.search_model_versions(f"run_id = '{rid}'"))
    out["mv_tag"] = [v.version for v in c.search_model_versions("name = 'clf' and tags.k = 'v'")]
    out["mv_gt"] = [v.version for v in c.search_model_versions("name='clf' AND version_number > 1")]

    # Errors.
    out["missing_model"] = code_of(lambda: c.get_registered_model("nope"))
    out["missing_version"] = code_of(lambda: c.get_model_version("clf", "99"))
    out["bad_version"] = code_of(lambda: c.get_model_version("clf", "x"))
    out["traversal"] = code_of(lambda: c.create_model_version("clf", "s3://bucket/../../etc", run_id=rid))
    out["local_source"] = code_of(lambda: c.create_model_version("clf", "/etc", run_id=rid))
    out["run_mismatch"] = code_of(lambda: c.create_model_version("clf", f"runs:/{rid}/model", run_id="0" * 32))

    # Rename carries versions and aliases; deleting a version drops its aliases.
    c.rename_registered_model("clf", "clf2")
    out["renamed"] = rm_view(c.get_registered_model("clf2"))
    out["renamed_alias"] = c.get_model_version_by_alias("clf2", "champ").version
    out["rename_taken"] = code_of(lambda: c.rename_registered_model("clf2", "other"))
    c.delete_model_version("clf2", "1")
    out["alias_after_delete"] = code_of(lambda: c.get_model_version_by_alias("clf2", "champ"))
    out["deleted_version"] = code_of(lambda: c.get_model_version("clf2", "1"))
    out["next_version"] = c.create_model_version("clf2", f"runs:/{rid}/model", run_id=rid).version
    c.delete_registered_model("other")
    out["deleted_model"] = code_of(lambda: c.get_registered_model("other"))
    out["delete_twice"] = code_of(lambda: c.delete_registered_model("other"))
    return out


def test_registry_matches_mlflow_server(mlgate_server, mlflow_server, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    t0 = time.perf_counter()
    got = workload(mlgate_server.url, tmp_path / "a")
    t1 = time.perf_counter()
    want = workload(mlflow_server.url, tmp_path / "b")
    t2 = time.perf_counter()
    print(f"registry workload: mlgate {t1 - t0:.2f} s, mlflow server {t2 - t1:.2f} s")
    diffs = [f"{k}: mlgate {got.get(k)!r} != mlflow {want[k]!r}" for k in want if got.get(k) != want[k]]
    assert not diffs, "\n".join(diffs)
    # The expectations really are what they claim.
    assert want["dup"] == "RESOURCE_ALREADY_EXISTS"
    assert want["missing_model"] == "RESOURCE_DOES_NOT_EXIST"
    assert want["traversal"] == "INVALID_PARAMETER_VALUE"
    assert want["v1_after_archive"] == "Archived"
    assert want["latest_all"] == [("Production", "1"), ("Staging", "2")]
    assert want["moved_alias"]["version"] == "1" and want["moved_alias"]["aliases"] == ["challenger", "champ"]
    assert want["next_version"] == "3"


def test_models_uris_load_from_mlgate(mlgate_server, tmp_path):
    url = mlgate_server.url
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    c = MlflowClient(url, url)
    X, sk = train()
    mlflow.set_experiment("registry-load")
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(sk, name="model")
    name = "loadme"
    mlflow.register_model(info.model_uri, name)
    mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    c.transition_model_version_stage(name, "1", "Production")
    c.set_registered_model_alias(name, "champion", "2")
    want = sk.predict(X)
    for uri in (f"models:/{name}@champion", f"models:/{name}/Production", f"models:/{name}/latest",
                f"models:/{name}/1", f"models:/{name}/2"):
        got = mlflow.pyfunc.load_model(uri).predict(X)
        np.testing.assert_allclose(np.asarray(got).reshape(-1), want, rtol=1e-9, err_msg=uri)
    assert mlflow.pyfunc.load_model(info.model_uri).predict(X[:1])[0] == pytest.approx(want[0])


def test_change_poll(mlgate_server):
    url = mlgate_server.url
    c = MlflowClient(url, url)
    c.create_registered_model("polled")
    c.create_model_version("polled", "s3://bucket/polled/1")
    c.create_model_version("polled", "s3://bucket/polled/2")
    poll = url + "/api/2.0/mlgate/registered-models/changes"
    r = requests.get(poll, params={"name": "polled"}, timeout=10)
    assert r.status_code == 200, r.text
    seq = r.json()["change_seq"]
    assert r.headers["ETag"] == f'"{seq}"'
    r = requests.get(poll, params={"name": "polled", "since": seq}, timeout=10)
    assert r.status_code == 304 and r.content == b""
    r = requests.get(poll, params={"name": "polled"}, headers={"If-None-Match": f'"{seq}"'}, timeout=10)
    assert r.status_code == 304
    c.set_registered_model_alias("polled", "champion", "2")
    r = requests.get(poll, params={"name": "polled", "since": seq}, timeout=10)
    assert r.status_code == 200 and r.json()["change_seq"] > seq
    assert r.json()["registered_model"]["aliases"] == [{"alias": "champion", "version": "2"}]
    # Cheap: a few hundred unchanged polls take well under a second each.
    seq = r.json()["change_seq"]
    t0 = time.perf_counter()
    n = 200
    for _ in range(n):
        assert requests.get(poll, params={"name": "polled", "since": seq}, timeout=10).status_code == 304
    per = (time.perf_counter() - t0) / n
    print(f"unchanged poll: {per * 1e3:.2f} ms per request")
    assert per < 0.25
    m = requests.get(url + "/metrics", timeout=10).text
    assert "mlgate_registry_requests_total" in m


def test_raw_wire_shapes(mlgate_server):
    """Fields MLflow emits as strings or omits, checked on the raw JSON."""
    url = mlgate_server.url + "/api/2.0/mlflow"
    requests.post(url + "/registered-models/create", json={"name": "wire"}, timeout=10).raise_for_status()
    r = requests.post(url + "/model-versions/create", json={"name": "wire", "source": "s3://b/w"}, timeout=10)
    mv = r.json()["model_version"]
    assert mv["version"] == "1" and isinstance(mv["creation_timestamp"], int)
    assert mv["current_stage"] == "None" and mv["status"] == "READY"
    assert mv["description"] == "" and mv["run_id"] == "" and mv["run_link"] == ""
    r = requests.get(url + "/registered-models/get", params={"name": "wire"}, timeout=10)
    rm = r.json()["registered_model"]
    assert "description" not in rm and "aliases" not in rm and "tags" not in rm
    r = requests.delete(url + "/registered-models/delete", json={"name": "wire"}, timeout=10)
    assert r.status_code == 200 and r.json() == {}
    r = requests.get(url + "/registered-models/get", params={"name": "wire"}, timeout=10)
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    r = requests.post(url + "/registered-models/create", data=json.dumps({"name": "x"}),
                      headers={"Content-Type": "text/plain"}, timeout=10)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_webhooks_via_client(mlgate_server):
    """MLflow 3's webhook management API through the real client. mlgate's
    defaults match MLflow's: https only, no private or loopback hosts."""
    from mlflow.entities.webhook import WebhookStatus

    url = mlgate_server.url
    c = MlflowClient(url, url)
    events = ["model_version_alias.created", "model_version.created"]
    assert code_of(lambda: c.create_webhook(name="local", url=f"https://127.0.0.1:{free_port()}/hook",
                                            events=events)) == "INVALID_PARAMETER_VALUE"
    assert code_of(lambda: c.create_webhook(name="plain", url="http://203.0.114.7/hook", events=events)) \
        == "INVALID_PARAMETER_VALUE"
    # A public literal address, created disabled so nothing is ever sent to it.
    hook = c.create_webhook(name="deploy-on-alias", url="https://203.0.114.7/hook", events=events,
                            description="reload serving", secret="s3cr3t", status=WebhookStatus.DISABLED)
    assert hook.status == WebhookStatus.DISABLED and hook.name == "deploy-on-alias"
    assert sorted(str(e) for e in hook.events) == ["model_version.created", "model_version_alias.created"]
    assert c.get_webhook(hook.webhook_id).description == "reload serving"
    assert [w.webhook_id for w in c.list_webhooks()] == [hook.webhook_id]
    upd = c.update_webhook(hook.webhook_id, description="renamed", events=["model_version_alias.deleted"])
    assert upd.description == "renamed" and [str(e) for e in upd.events] == ["model_version_alias.deleted"]
    assert upd.status == WebhookStatus.DISABLED
    c.delete_webhook(hook.webhook_id)
    assert code_of(lambda: c.get_webhook(hook.webhook_id)) == "RESOURCE_DOES_NOT_EXIST"


def test_register_from_run_artifacts(mlgate_server, tmp_path):
    """runs:/ registration of a model logged as plain run artifacts: the source
    becomes the run's mlflow-artifacts URI, which must lie under that run."""
    url = mlgate_server.url
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    c = MlflowClient(url, url)
    X, sk = train()
    mdir = tmp_path / "saved"
    mlflow.sklearn.save_model(sk, str(mdir))
    mlflow.set_experiment("registry-classic")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(mdir), "model")
    rid = run.info.run_id
    mv = mlflow.register_model(f"runs:/{rid}/model", "classic")
    assert mv.run_id == rid and mv.source.startswith("mlflow-artifacts:") and rid in mv.source
    assert c.get_model_version_download_uri("classic", mv.version) == mv.source
    np.testing.assert_allclose(mlflow.pyfunc.load_model("models:/classic/1").predict(X), sk.predict(X), rtol=1e-9)
    other = mv.source.replace(rid, "0" * 32)
    assert code_of(lambda: c.create_model_version("classic", other, run_id=rid)) == "INVALID_PARAMETER_VALUE"


def test_prompts_register_and_load(mlgate_server):
    """mlflow.genai prompts live in the registry (tagged, placeholder source)
    and stay out of model searches."""
    mlflow.set_tracking_uri(mlgate_server.url)
    mlflow.set_registry_uri(mlgate_server.url)
    p = mlflow.genai.register_prompt(name="greeting", template="Hello {{name}}")
    assert p.version == 1
    assert mlflow.genai.load_prompt("prompts:/greeting/1").format(name="Ada") == "Hello Ada"
    names = [m.name for m in MlflowClient(mlgate_server.url).search_registered_models()]
    assert "greeting" not in names


def test_server_policy_from_mlflow_env(mlgate_bin, tmp_path):
    """The MLflow server settings that live in environment variables:
    MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX (re.search on every new
    version's source) and the webhook URL policy
    (MLFLOW_WEBHOOK_ALLOWED_SCHEMES, MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS)."""
    port = free_port()
    p = Proc([mlgate_bin, "server", "--backend-store-uri", f"sqlite:///{tmp_path}/mlgate.db",
              "--artifacts-destination", str(tmp_path / "artifacts"), "--port", str(port)], port, cwd=str(tmp_path),
             env={"MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX": r"^s3://allowed/",
                  "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "https, http",
                  "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true"})
    try:
        from mlflow.entities.webhook import WebhookStatus

        c = MlflowClient(p.url, p.url)
        c.create_registered_model("guarded")
        with pytest.raises(MlflowException) as e:
            c.create_model_version("guarded", "s3://other/model")
        assert e.value.error_code == "INVALID_PARAMETER_VALUE"
        assert "Invalid model version source: 's3://other/model'." in e.value.message
        assert c.create_model_version("guarded", "s3://allowed/model").version == "1"
        hook = c.create_webhook(name="local", url=f"http://127.0.0.1:{free_port()}/hook",
                                events=["model_version.created"], status=WebhookStatus.DISABLED)
        assert hook.url.startswith("http://127.0.0.1:")
        assert code_of(lambda: c.create_webhook(name="ftp", url="ftp://203.0.114.7/hook",
                                                events=["model_version.created"])) == "INVALID_PARAMETER_VALUE"
    finally:
        p.stop()
