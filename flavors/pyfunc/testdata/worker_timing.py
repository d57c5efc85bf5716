"""Time one request inside a python_function worker, old path against new.

python worker_timing.py MODEL_DIR REQUEST.json

REQUEST.json is an /invocations body with "dataframe_split" for a model with
a named scalar column signature (e.g. the sklearn_pipeline model of make
bench and {"dataframe_split": {"columns": ["x1", "x2", "color"], "data":
[[0.1, -0.3, "red"], [1.2, 0.4, "blue"], [-0.5, 0.9, "green"]]}}). Prints
the best time per request of: the P frame (mlflow's
scoring_server.invocations on the body), the B frame with that request, and
the B frame with 16 copies merged (per request).
"""

import importlib.util
import json
import os
import sys
import time

os.environ["_MLFLOW_IS_IN_SERVING_ENVIRONMENT"] = "true"
here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("worker", os.path.join(here, "..", "worker.py"))
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)

from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.pyfunc import scoring_server  # noqa: E402

model = scoring_server.load_model_with_mlflow_config(sys.argv[1])
schema = model.metadata.get_input_schema()
body = open(sys.argv[2], "rb").read()
split = json.loads(body)["dataframe_split"]
types = {c.name: c.type.name for c in schema.inputs}
cols = [list(col) for col in zip(*split["data"])]
frame = {"columns": split["columns"], "types": [types[c] for c in split["columns"]], "data": cols}
one = json.dumps({**frame, "rows": [len(split["data"])]}).encode()
many = json.dumps({**frame, "data": [c * 16 for c in cols], "rows": [len(split["data"])] * 16}).encode()
handle = worker._batcher(model, MlflowException, '{"predictions": ', "}")


def best(name, f, calls=40, per=1, reps=15):
    f()
    t = 1e9
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(calls):
            f()
        t = min(t, (time.perf_counter() - start) / calls / per)
    print(f"{name}: {t * 1e3:.2f} ms per request (best of {reps}x{calls})")


best("P frame (scoring_server.invocations)", lambda: scoring_server.invocations(body, "application/json", model, schema))
best("B frame, 1 request", lambda: handle(one))
best("B frame, 16 requests merged", lambda: handle(many), calls=10, per=16)
