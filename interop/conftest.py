"""Shared fixtures for the interop suite: the built mlgate binary, free
loopback ports, and helpers that start and stop servers (mlgate's and the
real MLflow's) as child processes."""

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
import requests


_ports_given = set()
_ports_lock = threading.Lock()


def free_port():
    """A loopback port nothing listens on, never the same one twice in a
    session: servers started at once each get their own even before any of
    them has bound (else the one that loses the bind looks ready, answered
    by the other)."""
    with _ports_lock:
        while True:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _ports_given:
                _ports_given.add(port)
                return port


@pytest.fixture(scope="session")
def mlgate_bin():
    path = os.environ.get("MLGATE_BIN") or shutil.which("mlgate")
    assert path and os.path.exists(path), "set MLGATE_BIN to the built mlgate binary (make interop does)"
    return path


class Proc:
    """A child server process on a loopback port, stopped at teardown."""

    def __init__(self, args, port, env=None, cwd=None, ready_path="/health", timeout=60):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.cwd = cwd
        self.log = open(os.path.join(cwd or ".", f"proc-{port}.log"), "wb") if cwd else subprocess.DEVNULL
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.p = subprocess.Popen(args, env=full_env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        deadline = time.time() + timeout
        while True:
            if self.p.poll() is not None:
                raise RuntimeError(f"{args[0]} exited with {self.p.returncode} before it was ready; see {getattr(self.log, 'name', '')}")
            try:
                if requests.get(self.url + ready_path, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"{args} not ready after {timeout}s")
            time.sleep(0.1)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()


@pytest.fixture
def start_proc(tmp_path):
    procs = []

    def start(args, **kw):
        kw.setdefault("cwd", str(tmp_path))
        p = Proc(args, **kw)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()


PYTHON = sys.executable


@pytest.fixture
def fresh_mlflow_env(monkeypatch):
    """No tracking settings inherited from the environment, no client
    retries (a server error fails the test instead of being retried), and
    no run left active afterwards."""
    import mlflow

    for k in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_TRACKING_URI",
              "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    yield
    while mlflow.active_run():
        mlflow.end_run()


def _pg_tool(name):
    tools = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    assert tools[-1], f"{name} not found: scripts/postgres.sh installs PostgreSQL"
    return tools[-1]


@pytest.fixture(scope="module")
def postgres_uri():
    """A new, empty database on the PostgreSQL server named by
    MLGATE_TEST_POSTGRES_DSN (started by `make interop`), dropped after the
    module."""
    dsn = os.environ.get("MLGATE_TEST_POSTGRES_DSN")
    assert dsn, "set MLGATE_TEST_POSTGRES_DSN (make interop starts PostgreSQL with scripts/postgres.sh)"
    u = urllib.parse.urlsplit(dsn)
    name = "interop_" + secrets.token_hex(5)
    conn = ["-h", u.hostname, "-p", str(u.port or 5432), "-U", u.username]
    subprocess.run([_pg_tool("createdb"), *conn, name], check=True, timeout=60)
    yield urllib.parse.urlunsplit(u._replace(path="/" + name))
    subprocess.run([_pg_tool("dropdb"), *conn, "--force", "--if-exists", name], check=False, timeout=60)


class S3:
    """A real moto S3 server on a loopback port with one bucket, and the
    environment that points mlgate and boto3 at it."""

    def __init__(self, proc, bucket):
        import boto3

        self.proc, self.url, self.bucket = proc, proc.url, bucket
        self.env = {"MLFLOW_S3_ENDPOINT_URL": proc.url, "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
        self.client = boto3.client("s3", endpoint_url=proc.url, aws_access_key_id="testing",
                                   aws_secret_access_key="testing", region_name="us-east-1")
        self.client.create_bucket(Bucket=bucket)

    def keys(self, prefix=""):
        out = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return out


@pytest.fixture(scope="module")
def moto_s3(tmp_path_factory):
    d = tmp_path_factory.mktemp("moto")
    port = free_port()
    p = Proc([os.path.join(os.path.dirname(PYTHON), "moto_server"), "-H", "127.0.0.1", "-p", str(port)], port,
             cwd=str(d), ready_path="/moto-api/")
    yield S3(p, "mlgate")
    p.stop()


def start_mlgate_server(mlgate_bin, d, artifacts_destination, env=None):
    """`mlgate server` in folder d on a free port, with a SQLite store there
    and the given --artifacts-destination (a folder or s3://bucket/prefix)."""
    port = free_port()
    return Proc([mlgate_bin, "server", "--backend-store-uri", f"sqlite:///{d}/mlgate.db",
                 "--artifacts-destination", str(artifacts_destination), "--port", str(port)],
                port, env=env, cwd=str(d))


@pytest.fixture(scope="module")
def mlgate_s3_server(mlgate_bin, moto_s3, tmp_path_factory):
    """`mlgate server` proxying artifacts to s3://<moto bucket>/proxied, with
    MLFLOW_S3_ENDPOINT_URL and keys pointing at the moto server."""
    p = start_mlgate_server(mlgate_bin, tmp_path_factory.mktemp("mlgate-s3"), f"s3://{moto_s3.bucket}/proxied",
                            env=moto_s3.env)
    yield p
    p.stop()


MLFLOW = os.path.join(os.path.dirname(sys.executable), "mlflow")


@pytest.fixture(scope="module")
def mlgate_server(mlgate_bin, tmp_path_factory):
    """`mlgate server` with a SQLite store and proxied artifacts in its own
    folder, which is also its working directory."""
    d = tmp_path_factory.mktemp("mlgate-server")
    p = start_mlgate_server(mlgate_bin, d, d / "artifacts")
    yield p
    p.stop()


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` (the reference) laid out as mlgate_server."""
    d = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    p = Proc([MLFLOW, "server", "--backend-store-uri", f"sqlite:///{d}/mlflow.db",
              "--artifacts-destination", str(d / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
              "--workers", "1"], port, cwd=str(d), timeout=240,
             env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    yield p
    p.stop()
