"""The real mlflow client logs and downloads artifacts (a file, a folder and
a pyfunc model) through `mlgate server` whose --artifacts-destination is a
bucket on a real moto S3 server; boto3 finds the objects at the keys MLflow's
own proxy layout gives them."""

import os

import pytest

import mlflow
from mlflow import MlflowClient
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

pytestmark = pytest.mark.usefixtures("fresh_mlflow_env")


class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input: list[int], params=None) -> list[int]:
        return [2 * x for x in model_input]


def write_tree(root):
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "params.json").write_text('{"alpha": 0.5}')
    (root / "sub" / "weights.bin").write_bytes(bytes(range(256)) * 20_000)  # 5 MB
    (root / "sub" / "deep" / "notes with space.txt").write_text("deep")


def files_of(root):
    """{relative path: bytes} of every file under root."""
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


def test_mlflow_client_through_s3_destination(mlgate_s3_server, moto_s3, tmp_path):
    url = mlgate_s3_server.url
    mlflow.set_tracking_uri(url)
    exp_id = mlflow.set_experiment("s3-artifacts").experiment_id
    single = tmp_path / "report.txt"
    single.write_text("logged through mlgate into S3")
    tree = tmp_path / "tree"
    write_tree(tree)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifacts(str(tree), "tree")
        info = mlflow.pyfunc.log_model(name="doubler", python_model=Doubler(), pip_requirements=["mlflow"])
    rid = run.info.run_id

    # The bytes are in the bucket, under the destination prefix, where
    # MLflow's proxy puts them: <experiment>/<run>/artifacts/... and
    # <experiment>/models/<model id>/artifacts/... .
    keys = set(moto_s3.keys("proxied/"))
    run_prefix = f"proxied/{exp_id}/{rid}/artifacts/"
    want = {run_prefix + k for k in ("report.txt", "tree/params.json", "tree/sub/weights.bin",
                                     "tree/sub/deep/notes with space.txt")}
    assert want <= keys, sorted(keys)
    model_keys = {k for k in keys if k.startswith(f"proxied/{exp_id}/models/{info.model_id}/artifacts/")}
    assert any(k.endswith("/MLmodel") for k in model_keys), sorted(keys)
    body = moto_s3.client.get_object(Bucket=moto_s3.bucket, Key=run_prefix + "tree/sub/weights.bin")["Body"].read()
    assert body == (tree / "sub" / "weights.bin").read_bytes()

    # Listing and downloading through the server read them back.
    c = MlflowClient(url)
    listed = {f.path: (f.is_dir, f.file_size) for f in c.list_artifacts(rid, "tree/sub")}
    assert listed == {"tree/sub/deep": (True, None), "tree/sub/weights.bin": (False, 5_120_000)}, listed
    got = c.download_artifacts(rid, "tree", str(tmp_path / "download"))
    assert files_of(got) == files_of(tree)
    assert open(c.download_artifacts(rid, "report.txt", str(tmp_path / "one"))).read() == single.read_text()
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert list(loaded.predict([1, 2, 3])) == [2, 4, 6]

    # Deleting through the proxy removes the objects from the bucket.
    get_artifact_repository(run.info.artifact_uri).delete_artifacts("tree/sub")
    left = set(moto_s3.keys(run_prefix))
    assert left == {run_prefix + "report.txt", run_prefix + "tree/params.json"}, sorted(left)
