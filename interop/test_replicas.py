"""Two `mlgate server` replicas over one PostgreSQL database and one S3
store (a real moto server), used by the real mlflow client: what one
replica writes the other reads at once, concurrent writers through both
lose nothing, and each registry webhook event is delivered once.

docs/tracking-server.md ("Running several replicas") points here."""

import base64
import collections
import hashlib
import hmac
import http.server
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

# mlflow's telemetry sets and unsets an environment variable from several
# threads, which the concurrent-writer test would trip over.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

from conftest import Proc, free_port  # noqa: E402

SECRET = "replica-secret"


@pytest.fixture(scope="module")
def replicas(mlgate_bin, postgres_uri, moto_s3, tmp_path_factory):
    """Replicas A and B, started at the same moment against the empty
    database, so both run the schema migrations at once."""
    env = dict(moto_s3.env, MLFLOW_WEBHOOK_ALLOWED_SCHEMES="http", MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS="true")

    def start(name):
        d = tmp_path_factory.mktemp("replica-" + name)
        port = free_port()
        return Proc([mlgate_bin, "server", "--backend-store-uri", postgres_uri,
                     "--artifacts-destination", f"s3://{moto_s3.bucket}/artifacts", "--port", str(port)],
                    port, env=env, cwd=str(d))

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(start, n) for n in ("a", "b")]
    procs = [f.result() for f in futures if f.exception() is None]
    if len(procs) < 2:  # stop the one that started, then report why the other did not
        for p in procs:
            p.stop()
        for f in futures:
            f.result()
    yield procs
    for p in procs:
        p.stop()


pytestmark = pytest.mark.usefixtures("fresh_mlflow_env")


def clients(replicas):
    a, b = replicas
    return MlflowClient(a.url, a.url), MlflowClient(b.url, b.url)


def test_runs_written_through_one_replica_read_through_the_other(replicas, moto_s3, tmp_path):
    ca, cb = clients(replicas)
    exp = ca.create_experiment("replicated", tags={"team": "ml"})
    assert cb.get_experiment_by_name("replicated").experiment_id == exp
    run = ca.create_run(exp, run_name="from-a")
    rid = run.info.run_id
    ca.log_param(rid, "alpha", "0.5")
    for step in range(5):
        ca.log_metric(rid, "loss", 1.0 / (step + 1), step=step)
    ca.set_tag(rid, "owner", "alice")
    (tmp_path / "a.txt").write_text("written through A")
    ca.log_artifact(rid, str(tmp_path / "a.txt"), "from_a")

    got = cb.get_run(rid)
    assert got.info.run_name == "from-a" and got.data.params == {"alpha": "0.5"}
    assert got.data.metrics == {"loss": 0.2} and got.data.tags["owner"] == "alice"
    assert [m.step for m in cb.get_metric_history(rid, "loss")] == [0, 1, 2, 3, 4]
    assert [f.path for f in cb.list_artifacts(rid, "from_a")] == ["from_a/a.txt"]
    dl = cb.download_artifacts(rid, "from_a/a.txt", str(tmp_path / "via-b"))
    assert open(dl).read() == "written through A"

    # And the other way round, including a rename A must not answer stale.
    ts = int(time.time() * 1000)
    cb.log_batch(rid, metrics=[Metric("acc", 0.9, ts, 0)], params=[Param("beta", "2")])
    (tmp_path / "b.txt").write_text("written through B")
    cb.log_artifact(rid, str(tmp_path / "b.txt"))
    cb.rename_experiment(exp, "replicated-renamed")
    cb.set_terminated(rid)
    got = ca.get_run(rid)
    assert got.data.params == {"alpha": "0.5", "beta": "2"} and got.data.metrics["acc"] == 0.9
    assert got.info.status == "FINISHED"
    assert ca.get_experiment(exp).name == "replicated-renamed"
    assert ca.get_experiment_by_name("replicated") is None
    assert open(ca.download_artifacts(rid, "b.txt", str(tmp_path / "via-a"))).read() == "written through B"
    # The bytes live in the shared bucket, not on either replica's disk.
    keys = moto_s3.keys("artifacts/")
    assert any(k.endswith(f"{rid}/artifacts/from_a/a.txt") for k in keys), keys
    assert any(k.endswith(f"{rid}/artifacts/b.txt") for k in keys), keys


def train():
    from sklearn.linear_model import LinearRegression

    X = np.arange(24, dtype=np.float64).reshape(12, 2)
    return X, LinearRegression().fit(X, X @ np.array([1.5, -2.0]) + 0.5)


def test_registry_across_replicas_is_never_stale(replicas):
    a, b = replicas
    ca, cb = clients(replicas)
    X, sk = train()
    mlflow.set_tracking_uri(a.url)
    mlflow.set_registry_uri(a.url)
    mlflow.set_experiment("registry-replicas")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(sk, name="model", pip_requirements=["scikit-learn"])
    ca.create_registered_model("replicated-model", description="through A")
    v1 = ca.create_model_version("replicated-model", info.model_uri, run_id=info.run_id, model_id=info.model_id)
    v2 = ca.create_model_version("replicated-model", info.model_uri, run_id=info.run_id, model_id=info.model_id)
    assert (v1.version, v2.version) == ("1", "2")

    cb.set_registered_model_alias("replicated-model", "champion", "2")
    with pytest.warns(FutureWarning):
        cb.transition_model_version_stage("replicated-model", "1", "Production")
    assert ca.get_model_version_by_alias("replicated-model", "champion").version == "2"
    assert [v.version for v in ca.get_latest_versions("replicated-model", stages=["Production"])] == ["1"]
    # Moving the alias back through A is what B answers next.
    ca.set_registered_model_alias("replicated-model", "champion", "1")
    assert cb.get_registered_model("replicated-model").aliases == {"champion": "1"}
    cb.delete_registered_model_alias("replicated-model", "champion")
    assert ca.get_registered_model("replicated-model").aliases == {}
    ca.set_registered_model_alias("replicated-model", "champion", "2")

    # B serves the artifacts A stored, by alias and by stage.
    mlflow.set_tracking_uri(b.url)
    mlflow.set_registry_uri(b.url)
    for uri in ("models:/replicated-model@champion", "models:/replicated-model/Production"):
        np.testing.assert_allclose(mlflow.pyfunc.load_model(uri).predict(X), sk.predict(X), rtol=1e-9)


def test_concurrent_writers_through_both_replicas_lose_nothing(replicas):
    ca, cb = clients(replicas)
    n, steps = 8, 40
    ca.create_registered_model("contended")
    run = cb.create_run(ca.create_experiment("contended"))
    rid = run.info.run_id

    def writer(i):
        c = (ca, cb)[i % 2]
        # What mlflow.set_experiment does: create, or find it if another writer won.
        try:
            c.create_experiment("shared-by-writers")
        except MlflowException as e:
            assert e.error_code == "RESOURCE_ALREADY_EXISTS", e
        exp = c.get_experiment_by_name("shared-by-writers").experiment_id
        own = c.create_run(exp).info.run_id
        ts = int(time.time() * 1000)
        versions = []
        for lo in range(0, steps, 10):
            ms = [Metric("m", float(i * steps + s), ts, i * steps + s) for s in range(lo, lo + 10)]
            c.log_batch(rid, metrics=ms, params=[Param(f"p{i}-{lo}", str(lo))])
            c.log_batch(own, metrics=ms)
            versions.append(c.create_model_version("contended", f"s3://elsewhere/{i}/{lo}").version)
        c.set_terminated(own)
        return exp, versions

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(writer, range(n)))
    exps = {e for e, _ in results}
    assert len(exps) == 1, exps
    shared = exps.pop()
    numbers = sorted(int(v) for _, vs in results for v in vs)
    total = n * steps // 10
    assert numbers == list(range(1, total + 1)), numbers
    for c in (ca, cb):
        hist = c.get_metric_history(rid, "m")
        assert sorted(m.step for m in hist) == list(range(n * steps))
        assert len(c.get_run(rid).data.params) == n * steps // 10
        assert len(c.search_model_versions("name='contended'", max_results=1000)) == total
        runs = c.search_runs([shared])
        assert len(runs) == n and all(len(c.get_metric_history(r.info.run_id, "m")) == steps for r in runs)
    assert ca.get_run(rid).data.metrics["m"] == float(n * steps - 1)


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every delivery."""

    def __init__(self):
        self.got = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    outer.got.append((self.headers, body))  # case-insensitive
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/hook"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def events(self):
        with self.lock:
            got = list(self.got)
        out = []
        for h, body in got:
            sig = base64.b64encode(hmac.new(SECRET.encode(), f"{h['X-MLflow-Delivery-Id']}.{h['X-MLflow-Timestamp']}.".encode()
                                            + body, hashlib.sha256).digest()).decode()
            assert h["X-MLflow-Signature"] == "v1," + sig
            e = json.loads(body)
            d = e["data"]
            out.append((e["entity"], e["action"], d["name"], d.get("version"), d.get("alias") or d.get("key")))
        return out, [h["X-MLflow-Delivery-Id"] for h, _ in got]

    def wait_for(self, n, timeout=20, settle=1.5):
        """Waits until n deliveries arrived, then a little longer so a
        duplicate would show, and returns the events."""
        deadline = time.time() + timeout
        while len(self.got) < n and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(settle)
        return self.events()


def test_webhooks_fire_once_per_event_across_replicas(replicas):
    ca, cb = clients(replicas)
    rcv = Receiver()
    try:
        hook = ca.create_webhook(name="replicas", url=rcv.url, secret=SECRET,
                                 events=["registered_model.created", "model_version.created",
                                         "model_version_alias.created", "model_version_tag.set"])
        assert cb.get_webhook(hook.webhook_id).url == rcv.url
        ca.create_registered_model("hooked")
        cb.create_model_version("hooked", "s3://elsewhere/1")
        ca.create_model_version("hooked", "s3://elsewhere/2")
        cb.set_registered_model_alias("hooked", "prod", "1")
        ca.set_model_version_tag("hooked", "2", "validated", "yes")
        with ThreadPoolExecutor(6) as pool:  # and a burst through both at once
            list(pool.map(lambda i: (ca, cb)[i % 2].create_model_version("hooked", f"s3://elsewhere/b{i}"), range(6)))
        want = [("registered_model", "created", "hooked", None, None),
                ("model_version", "created", "hooked", "1", None),
                ("model_version", "created", "hooked", "2", None),
                ("model_version_alias", "created", "hooked", "1", "prod"),
                ("model_version_tag", "set", "hooked", "2", "validated")]
        want += [("model_version", "created", "hooked", str(v), None) for v in range(3, 9)]
        got, ids = rcv.wait_for(len(want))
        assert collections.Counter(got) == collections.Counter(want)
        assert len(set(ids)) == len(ids)

        # A webhook disabled through B is not used by A, nor one deleted through A by B.
        cb.update_webhook(hook.webhook_id, status="DISABLED")
        ca.create_model_version("hooked", "s3://elsewhere/disabled")
        ca.update_webhook(hook.webhook_id, status="ACTIVE")
        cb.set_registered_model_alias("hooked", "prod", "2")
        ca.delete_webhook(hook.webhook_id)
        cb.create_model_version("hooked", "s3://elsewhere/deleted")
        got, _ = rcv.wait_for(len(want) + 1)
        assert collections.Counter(got) == collections.Counter(want + [("model_version_alias", "created", "hooked", "2", "prod")])
    finally:
        rcv.srv.shutdown()
