"""Artifact requests to a server whose S3 destination refuses its keys
(moto with IAM checks on, an unknown key; the Go tests in artifacts/ add a
wrong secret) are answered
by `mlgate server` with the status and error_code a real `mlflow server`
answers on the same bucket."""

import requests

from conftest import MLFLOW, Proc, free_port, start_mlgate_server


def wrong_keys(moto_s3, key):
    env = dict(moto_s3.env)
    env.update({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": "wrong-secret", "AWS_EC2_METADATA_DISABLED": "true"})
    return env


def test_s3_refused_keys_answer_as_mlflow(mlgate_bin, moto_s3, tmp_path_factory):
    moto_s3.client.put_object(Bucket=moto_s3.bucket, Key="root/x.txt", Body=b"x")
    r = requests.post(moto_s3.url + "/moto-api/reset-auth", data="0", headers={"Content-Type": "text/plain"}, timeout=10)
    assert r.status_code == 200, r.text  # from now on moto checks every request's key and signature
    dest = f"s3://{moto_s3.bucket}/root"
    servers = {}
    try:
        d = tmp_path_factory.mktemp("mlflow-s3-denied")
        port = free_port()
        servers["mlflow"] = Proc([MLFLOW, "server", "--backend-store-uri", f"sqlite:///{d}/mlflow.db",
                                  "--artifacts-destination", dest, "--host", "127.0.0.1", "--port", str(port),
                                  "--workers", "1"], port, cwd=str(d), timeout=240,
                                 env={**wrong_keys(moto_s3, "AKIAUNKNOWNUNKNOWN01"), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
        servers["mlgate"] = start_mlgate_server(mlgate_bin, tmp_path_factory.mktemp("mlgate-s3-denied"), dest,
                                                env=wrong_keys(moto_s3, "AKIAUNKNOWNUNKNOWN01"))
        for path in ["/api/2.0/mlflow-artifacts/artifacts/x.txt", "/api/2.0/mlflow-artifacts/artifacts?path="]:
            got = {}
            for name, p in servers.items():
                res = requests.get(p.url + path, timeout=60)
                got[name] = (res.status_code, res.json()["error_code"])
            assert got["mlgate"] == got["mlflow"] == (401, "UNAUTHENTICATED"), (path, got)
    finally:
        for p in servers.values():
            p.stop()
