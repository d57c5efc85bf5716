"""The real mlflow client logs, lists, downloads and deletes artifacts
through `mlgate server` (whose artifact proxy is backed by a cloud store).
Usage: cloud_artifacts.py TRACKING_URI EXPERIMENT_NAME; prints the run's
experiment id and run id."""
import filecmp
import os
import sys
import tempfile

import mlflow
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

mlflow.set_tracking_uri(sys.argv[1])
exp = mlflow.create_experiment(sys.argv[2])
src = tempfile.mkdtemp()
os.makedirs(os.path.join(src, "sub"))
with open(os.path.join(src, "a.txt"), "w") as f:
    f.write("hello")
with open(os.path.join(src, "sub", "b.bin"), "wb") as f:
    f.write(os.urandom(3 << 20))
with mlflow.start_run(experiment_id=exp) as run:
    mlflow.log_artifacts(src, "things")
client = mlflow.MlflowClient()
listed = sorted((f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run.info.run_id, "things"))
assert listed == [("things/a.txt", False, 5), ("things/sub", True, None)], listed
out = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="things", dst_path=tempfile.mkdtemp())
cmp = filecmp.dircmp(src, out)
assert not cmp.diff_files and not cmp.left_only and not cmp.right_only, (cmp.diff_files, cmp.left_only, cmp.right_only)
assert filecmp.cmp(os.path.join(src, "sub", "b.bin"), os.path.join(out, "sub", "b.bin"), shallow=False)
get_artifact_repository(run.info.artifact_uri).delete_artifacts("things/sub")
left = sorted(f.path for f in client.list_artifacts(run.info.run_id, "things"))
assert left == ["things/a.txt"], left
print(exp, run.info.run_id)
