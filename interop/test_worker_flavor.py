"""`mlgate models serve --worker-flavor key=command`: a flavor served by a worker in
another language (the Node.js example of docs/workers.md) through the same serve path."""

import os
import shutil

import requests

from conftest import free_port

HERE = os.path.dirname(os.path.abspath(__file__))
JS = os.path.join(HERE, "..", "flavors", "pyfunc", "testdata", "jsworker")


def test_node_worker_flavor_through_the_cli(mlgate_bin, start_proc):
    node = shutil.which("node")
    assert node, "node is needed for the external worker example"
    port = free_port()
    p = start_proc([mlgate_bin, "models", "serve", "-m", os.path.join(JS, "model"), "-p", str(port),
                    "--worker-flavor", f"js_linear={node} {os.path.join(JS, 'worker.js')}"],
                   port=port, ready_path="/health")
    ok = requests.post(p.url + "/invocations", json={"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}})
    assert ok.status_code == 200, ok.text
    preds = ok.json()["predictions"]
    assert len(preds) == 2 and preds[0] != preds[1]
    bad = requests.post(p.url + "/invocations", json={"dataframe_split": {"columns": ["a"], "data": [[1]]}})
    assert bad.status_code == 400
    assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "missing inputs" in bad.json()["message"]


def test_bad_worker_flavor_is_a_usage_error(mlgate_bin, tmp_path):
    import subprocess
    r = subprocess.run([mlgate_bin, "models", "serve", "-m", os.path.join(JS, "model"), "--worker-flavor", "nocommand"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "key=command" in r.stderr
