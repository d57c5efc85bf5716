"""Builds the fault-injection models of flavors/pyfunc's tests with the real mlflow.

python fault_models.py OUTDIR  writes OUTDIR/{sleepy,fail_load,missing_dep}:
  sleepy       PythonModel: y = x + 1; params {"sleep": seconds} sleeps first, and
               {"crash": true} exits the process (a segfault-like death)
  fail_load    PythonModel whose load_context raises RuntimeError("weights are corrupt")
  missing_dep  PythonModel whose load_context imports the absent module mlgate_absent_dep
  hinted       PythonModel with type hints (list[str] -> list[str]): upper-cases, adds params["suffix"]
  picky        PythonModel: y = x + 1 per row, but raises ValueError when any x is negative
  summer       PythonModel: one row, the sum of x (its output cannot be split per input row)
  dtypes       PythonModel over columns of every scalar type (float, long, integer, boolean,
               string, double): answers each column's dtype and values as the model sees them
"""

import os
import sys
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow.pyfunc  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402


def pins():
    from importlib.metadata import version

    return [f"{d}=={version(d)}" for d in ("mlflow", "cloudpickle", "pandas")]


def main(out):
    class Sleepy(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            import time

            p = params or {}
            if p.get("crash"):
                os._exit(9)
            if float(p.get("sleep", 0.0)) > 0:
                time.sleep(float(p["sleep"]))
            return pd.DataFrame({"y": model_input["x"].astype("float64") + 1.0})

    class FailLoad(mlflow.pyfunc.PythonModel):
        def load_context(self, context):
            raise RuntimeError("weights are corrupt")

        def predict(self, context, model_input, params=None):
            return model_input

    class MissingDep(mlflow.pyfunc.PythonModel):
        def load_context(self, context):
            import mlgate_absent_dep  # noqa: F401

        def predict(self, context, model_input, params=None):
            return model_input

    class Hinted(mlflow.pyfunc.PythonModel):
        def predict(self, model_input: list[str], params: dict | None = None) -> list[str]:
            suffix = (params or {}).get("suffix", "")
            return [s.upper() + suffix for s in model_input]

    mlflow.pyfunc.save_model(os.path.join(out, "hinted"), python_model=Hinted(), input_example=["a", "b"],
                             pip_requirements=pins())

    class Picky(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            if (model_input["x"] < 0).any():
                raise ValueError("negative x")
            return pd.DataFrame({"y": model_input["x"] + 1.0})

    class Summer(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [float(model_input["x"].sum())]

    class Dtypes(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return pd.DataFrame({
                "column": [str(c) for c in model_input.columns],
                "dtype": [str(model_input[c].dtype) for c in model_input.columns],
                "values": [repr(model_input[c].tolist()) for c in model_input.columns],
                "index": [repr(model_input.index)] * len(model_input.columns),
            })

    import numpy as np

    typed = pd.DataFrame({
        "a": np.array([1.5], dtype=np.float32), "b": np.array([1], dtype=np.int64),
        "c": np.array([1], dtype=np.int32), "d": [True], "e": ["s"], "f": [0.25],
    })
    mlflow.pyfunc.save_model(os.path.join(out, "dtypes"), python_model=Dtypes(),
                             signature=infer_signature(typed), pip_requirements=pins())

    ex = pd.DataFrame({"x": [1.0, 2.0]})
    for name, cls in (("picky", Picky), ("summer", Summer)):
        mlflow.pyfunc.save_model(os.path.join(out, name), python_model=cls(),
                                 signature=infer_signature(ex), pip_requirements=pins())
    params = {"sleep": 0.0, "crash": False}
    sig = infer_signature(ex, ex, params=params)
    mlflow.pyfunc.save_model(os.path.join(out, "sleepy"), python_model=Sleepy(), signature=sig,
                             pip_requirements=pins())
    for name, cls in (("fail_load", FailLoad), ("missing_dep", MissingDep)):
        mlflow.pyfunc.save_model(os.path.join(out, name), python_model=cls(),
                                 signature=infer_signature(ex, ex), pip_requirements=pins())


if __name__ == "__main__":
    main(sys.argv[1])
