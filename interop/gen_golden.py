"""Generate pkgformat's golden MLmodel files with the real `mlflow` package.

Usage (from the repository root, with the interop venv):
    python interop/gen_golden.py pkgformat/testdata/golden

For each case it saves a model with mlflow's own save_model, keeps the small
text files (MLmodel, input examples, environment files; never model binaries)
under <out>/<case>/, and writes <out>/<case>/expected.json: the fields as
mlflow.models.Model.load sees them, which pkgformat's golden test compares
against its own parse.
"""

import json
import os
import shutil
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import mlflow  # noqa: E402
from mlflow.models import Model, ModelSignature  # noqa: E402
from mlflow.types.schema import (  # noqa: E402
    Array, ColSpec, Map, Object, ParamSchema, ParamSpec, Property, Schema, TensorSpec, AnyType,
)

KEEP = ["MLmodel", "input_example.json", "serving_input_example.json", "python_env.yaml",
        "conda.yaml", "requirements.txt"]


def sklearn_case(path):
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1, 0, 1, 2]})
    m = LinearRegression().fit(X, [1.0, 2.0, 3.5, 4.0])
    mlflow.sklearn.save_model(m, path, input_example=X.head(2), metadata={"team": "ml", "n": 3})


def onnx_case(path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])
    w = helper.make_tensor("w", TensorProto.FLOAT, [3, 1], [0.5, -1.0, 2.0])
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "lin", [x], [y], [w])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    example = {"x": np.array([[1.0, 2.0, 3.0]], dtype=np.float32)}
    sig = mlflow.models.infer_signature(example, {"y": np.array([[4.5]], dtype=np.float32)})
    mlflow.onnx.save_model(model, path, input_example=example, signature=sig)


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def custom_case(path):
    inputs = Schema([
        ColSpec("string", "text"),
        ColSpec(Array("double"), "scores", required=False),
        ColSpec(Object([Property("k", "string"), Property("a", "long", required=False)]), "obj"),
        ColSpec(Map(Array("string")), "tags"),
        ColSpec(AnyType(), "whatever", required=False),
        ColSpec("datetime", "when"),
        ColSpec("binary", "blob"),
        ColSpec("boolean", "flag"),
        ColSpec("integer", "i32"),
        ColSpec("float", "f32"),
    ])
    outputs = Schema([TensorSpec(np.dtype("float64"), (-1, 2), "out")])
    params = ParamSchema([
        ParamSpec("temperature", "float", 0.5),
        ParamSpec("top_k", "long", 3),
        ParamSpec("stop", "string", ["a", "b"], (-1,)),
        ParamSpec("flag", "boolean", True),
        ParamSpec("scale", "double", 1.0),
        ParamSpec("tiny", "double", 1e-05),
        ParamSpec("name", "string", "caf\u00e9 \"x\""),
    ])
    sig = ModelSignature(inputs=inputs, outputs=outputs, params=params)
    mlflow.pyfunc.save_model(path, python_model=Echo(), signature=sig,
                             metadata={"nested": {"list": [1, 2.5, "x"], "none": None}})


def logged_case(path):
    """A model logged to a run (MLflow 3): artifact_path, run_id and model_id are set."""
    from sklearn.linear_model import LinearRegression

    tmp = os.path.dirname(path)
    mlflow.set_tracking_uri("sqlite:///" + os.path.join(tmp, "mlruns.db"))
    exp = mlflow.create_experiment("golden", artifact_location="file://" + os.path.join(tmp, "artifacts"))
    mlflow.set_experiment(experiment_id=exp)
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(LinearRegression().fit(X, [1.0, 2.0, 3.0]), name="model",
                                        input_example=X.head(1))
    local = mlflow.artifacts.download_artifacts(info.model_uri, dst_path=os.path.join(tmp, "dl"))
    shutil.copytree(local, path)


CASES = {"sklearn": sklearn_case, "onnx": onnx_case, "custom": custom_case, "logged": logged_case}


def expected(model_dir):
    m = Model.load(model_dir)
    d = m.to_dict()
    sig = m.signature
    out = {
        "artifact_path": d.get("artifact_path"),
        "flavors": d["flavors"],
        "model_uuid": d.get("model_uuid"),
        "model_id": d.get("model_id"),
        "run_id": d.get("run_id"),
        "utc_time_created": d.get("utc_time_created"),
        "mlflow_version": d.get("mlflow_version"),
        "saved_input_example_info": d.get("saved_input_example_info"),
        "metadata": d.get("metadata"),
        "model_size_bytes": d.get("model_size_bytes"),
        "signature": None if sig is None else {
            "inputs": None if sig.inputs is None else sig.inputs.to_dict(),
            "outputs": None if sig.outputs is None else sig.outputs.to_dict(),
            "params": None if sig.params is None else sig.params.to_dict(),
            "inputs_json": None if sig.inputs is None else sig.inputs.to_json(),
            "outputs_json": None if sig.outputs is None else sig.outputs.to_json(),
            "params_json": None if sig.params is None else sig.params.to_json(),
        },
    }
    return out


def onnx_cases(out):
    """Small .onnx files for pkgformat's graph reader, with what onnx sees."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    os.makedirs(out, exist_ok=True)
    # Many element types, named and fixed axes, an initializer listed as an
    # input (old IR style), and a sequence-of-maps output like ZipMap.
    types = [("f32", TensorProto.FLOAT, ["N", 3]), ("f64", TensorProto.DOUBLE, [None, 2]),
             ("i64", TensorProto.INT64, [5]), ("s", TensorProto.STRING, ["N"]),
             ("b", TensorProto.BOOL, [2, "W", 4]), ("u8", TensorProto.UINT8, [])]
    inputs = [helper.make_tensor_value_info(n, t, s) for n, t, s in types]
    w = helper.make_tensor("w", TensorProto.FLOAT, [3], [1.0, 2.0, 3.0])
    inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, [3]))
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3]),
               helper.make_value_info("probs", helper.make_sequence_type_proto(
                   helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, []))))]
    nodes = [helper.make_node("Mul", ["f32", "w"], ["y"])]
    g = helper.make_graph(nodes, "types", inputs, outputs, [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
                          producer_name="gen_golden")
    m.ir_version = 8
    onnx.save(m, os.path.join(out, "types.onnx"))

    # External data: weights in a side file.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 256])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 256])
    big = numpy_helper.from_array(np.arange(256, dtype=np.float32), "big")
    g = helper.make_graph([helper.make_node("Add", ["x", "big"], ["y"])], "ext", [x], [y], [big])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save_model(m, os.path.join(out, "external.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external.onnx.data", size_threshold=0)

    expect = {}
    for name in ["types.onnx", "external.onnx"]:
        mp = onnx.load(os.path.join(out, name), load_external_data=False)
        inits = {i.name for i in mp.graph.initializer}

        def vi(v):
            if not v.type.HasField("tensor_type"):
                return {"name": v.name, "kind": v.type.WhichOneof("value")}
            dims = [d.dim_value if d.HasField("dim_value") else -1
                    for d in v.type.tensor_type.shape.dim]
            return {"name": v.name, "kind": "tensor", "elem_type": v.type.tensor_type.elem_type, "shape": dims}

        expect[name] = {
            "ir_version": mp.ir_version,
            "opsets": {o.domain: o.version for o in mp.opset_import},
            "producer_name": mp.producer_name,
            "inputs": [vi(v) for v in mp.graph.input if v.name not in inits],
            "outputs": [vi(v) for v in mp.graph.output],
            "external_data": sorted({e.value for t in mp.graph.initializer for e in t.external_data
                                     if e.key == "location"}),
        }
    with open(os.path.join(out, "expected.json"), "w") as fh:
        json.dump(expect, fh, indent=2, sort_keys=True)
        fh.write("\n")


def main(out):
    for name, build in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, name)
            build(path)
            dest = os.path.join(out, name)
            shutil.rmtree(dest, ignore_errors=True)
            os.makedirs(dest)
            for f in KEEP:
                if os.path.exists(os.path.join(path, f)):
                    shutil.copy(os.path.join(path, f), os.path.join(dest, f))
            with open(os.path.join(dest, "expected.json"), "w") as fh:
                json.dump(expected(path), fh, indent=2, sort_keys=True, default=str)
                fh.write("\n")
        print(dest)
    onnx_cases(os.path.join(os.path.dirname(out.rstrip("/")), "onnx"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "pkgformat/testdata/golden")
