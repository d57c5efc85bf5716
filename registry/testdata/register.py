"""Registers models with the real MLflow client for registry resolution tests.

usage: register.py TRACKING_URI OUT_JSON DOWNLOAD_DIR
Logs two sklearn models as versions 1 and 2 of 'fraud', moves version 1 to
Production, points alias 'champion' at version 2, then downloads every URI
form with mlflow.artifacts.download_artifacts and writes what it saw."""
import hashlib, json, os, sys, warnings

warnings.filterwarnings("ignore")
import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import LinearRegression

uri, out, dl = sys.argv[1:4]
mlflow.set_tracking_uri(uri)
c = MlflowClient()
X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
runs, models = [], []
for i in range(2):
    with mlflow.start_run() as run:
        m = LinearRegression().fit(X, X @ np.array([1.0, 2.0]) + i)
        info = mlflow.sklearn.log_model(m, name="model", registered_model_name="fraud", input_example=X[:2])
        mlflow.log_text("hello", "extra/notes.txt")
        runs.append(run.info.run_id)
        models.append(info.model_id)
c.transition_model_version_stage("fraud", "1", "Production")
c.set_registered_model_alias("fraud", "champion", "2")

def tree(d):
    res = []
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            res.append([os.path.relpath(p, d), os.path.getsize(p), hashlib.sha256(open(p, "rb").read()).hexdigest()])
    return sorted(res)

forms = {
    "models:/fraud/1": None, "models:/fraud/Production": None, "models:/fraud/production": None,
    "models:/fraud/latest": None, "models:/fraud@champion": None,
    f"models:/{models[0]}": None, f"runs:/{runs[1]}/model": None, f"runs:/{runs[0]}/extra": None,
}
for i, u in enumerate(list(forms)):
    forms[u] = tree(mlflow.artifacts.download_artifacts(artifact_uri=u, dst_path=os.path.join(dl, str(i))))
json.dump({"runs": runs, "models": models, "forms": forms}, open(out, "w"))
