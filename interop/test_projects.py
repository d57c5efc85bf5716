"""MLflow Projects: the example project (examples/projects) run with the real
`mlflow run` and with `mlgate run`, against `mlgate server` and against a real
`mlflow server`, records the same run: params, tags (ids and times aside),
metrics and artifacts. The project is a git repository made for the test (so
the git tags are stable), run with --env-manager local (the venv's python has
mlflow)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from mlflow import MlflowClient

from conftest import MLFLOW

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples", "projects")
VENV_BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The example project in a new git repository with one commit and an
    origin remote whose credentials must not reach the tags."""
    d = tmp_path_factory.mktemp("proj") / "example"
    shutil.copytree(EXAMPLE, d)
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "example"],
                 ["remote", "add", "origin", "https://user:secret@git.example.com/team/example.git"]):
        subprocess.run(["git", *args], cwd=d, env=env, check=True)
    return str(d)


def run_project(tool, server, project, experiment, *args):
    """Runs `<tool> run project ...` against server; returns the process."""
    env = dict(os.environ, MLFLOW_TRACKING_URI=server.url, PATH=VENV_BIN + os.pathsep + os.environ["PATH"])
    for k in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(k, None)
    return subprocess.run([tool, "run", project, "--env-manager", "local", "--experiment-name", experiment, *args],
                          env=env, capture_output=True, text=True, timeout=120, cwd=os.path.dirname(project))


def recorded(server, experiment):
    """The one run of the experiment, as comparable data."""
    c = MlflowClient(server.url)
    exp = c.get_experiment_by_name(experiment)
    runs = c.search_runs([exp.experiment_id])
    assert len(runs) == 1, runs
    r = runs[0]
    rid = r.info.run_id
    arts = sorted(a.path for a in c.list_artifacts(rid, "outputs"))
    content = {}
    for a in arts:
        with open(c.download_artifacts(rid, a, dst_path=str(server.cwd)), "rb") as f:
            content[a] = json.loads(f.read())
    return {
        "status": r.info.status,
        "user": r.info.user_id,
        "params": r.data.params,
        "tags": r.data.tags,
        "metrics": r.data.metrics,
        "loss_history": [(m.step, m.value) for m in c.get_metric_history(rid, "loss")],
        "artifacts": content,
    }


@pytest.mark.parametrize("server_fixture", ["mlgate_server", "mlflow_server"])
def test_example_project_records_the_same_run(server_fixture, request, mlgate_bin, project):
    server = request.getfixturevalue(server_fixture)
    args = ["-P", "alpha=0.3", "-P", "note=a b", "--run-name", "example"]
    results = {}
    for name, tool in (("mlflow", MLFLOW), ("mlgate", mlgate_bin)):
        exp = f"projects-{name}"
        p = run_project(tool, server, project, exp, *args)
        assert p.returncode == 0, p.stderr
        results[name] = recorded(server, exp)
    want, got = results["mlflow"], results["mlgate"]
    assert got == want
    # What the comparison covers, so that it cannot pass on empty runs.
    assert want["status"] == "FINISHED"
    assert want["params"]["alpha"] == "0.3" and want["params"]["note"] == "'a b'" and want["params"]["rows"] == "4"
    assert want["tags"]["mlflow.source.type"] == "PROJECT"
    assert want["tags"]["mlflow.source.git.repoURL"] == "https://git.example.com/team/example.git"
    assert len(want["tags"]["mlflow.source.git.commit"]) == 40
    assert want["tags"]["mlflow.runName"] == "example"
    assert len(want["loss_history"]) == 3 and "w" in want["metrics"]
    assert want["artifacts"]["outputs/summary.json"]["extra"] == ["--note", "a b"]


def test_failing_entry_point_records_the_same_failed_run(mlgate_server, mlgate_bin, project):
    results = {}
    for name, tool in (("mlflow", MLFLOW), ("mlgate", mlgate_bin)):
        exp = f"projects-fail-{name}"
        p = run_project(tool, mlgate_server, project, exp, "-e", "fail", "-P", "code=4")
        assert p.returncode != 0
        assert "failing on purpose" in p.stdout + p.stderr
        results[name] = recorded(mlgate_server, exp)
    want, got = results["mlflow"], results["mlgate"]
    for r in (want, got):
        r["tags"].pop("mlflow.runName")  # a random name when none is given
    assert got == want
    assert want["status"] == "FAILED" and want["params"] == {"code": "4"}
    assert want["tags"]["mlflow.project.entryPoint"] == "fail"
