"""Interop: a folder written by `mlgate models package` is a real MLflow model.

The real mlflow package loads it with mlflow.pyfunc.load_model and must
predict the same numbers as onnxruntime run directly on the .onnx file."""

import json
import os
import subprocess
import tarfile
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from onnx import TensorProto, helper

import mlflow
import mlflow.pyfunc
from mlflow.models import Model


def linear_onnx(path):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4)).astype(np.float32)
    y = X @ np.array([1.5, -2.0, 0.25, 3.0], dtype=np.float32) + 0.5
    onx = to_onnx(LinearRegression().fit(X, y), initial_types=[("x", FloatTensorType([None, 4]))],
                  target_opset=17)
    onx.ir_version = 8
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())


def two_input_onnx(path):
    """a: float [batch, 2], b: int64 [batch, 2] -> sum: float, scaled: double [batch, 2]."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 2])
    b = helper.make_tensor_value_info("b", TensorProto.INT64, ["batch", 2])
    s = helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["batch", 2])
    d = helper.make_tensor_value_info("scaled", TensorProto.DOUBLE, ["batch", 2])
    k = helper.make_tensor("k", TensorProto.DOUBLE, [], [2.5])
    nodes = [
        helper.make_node("Cast", ["b"], ["bf"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["a", "bf"], ["sum"]),
        helper.make_node("Cast", ["sum"], ["sd"], to=TensorProto.DOUBLE),
        helper.make_node("Mul", ["sd", "k"], ["scaled"]),
    ]
    g = helper.make_graph(nodes, "two", [a, b], [s, d], [k])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def package(mlgate_bin, *args):
    r = subprocess.run([mlgate_bin, "models", "package", *args], capture_output=True, text=True, timeout=60)
    return r


def test_linear_package_predicts_like_onnxruntime(mlgate_bin, tmp_path):
    src = tmp_path / "linear.onnx"
    linear_onnx(str(src))
    example = tmp_path / "example.json"
    example.write_text(json.dumps({"inputs": {"x": [[1.0, 2.0, 3.0, 4.0]]}}))
    out = tmp_path / "model"
    r = package(mlgate_bin, "--onnx", str(src), "--input-example", str(example), "-d", str(out))
    assert r.returncode == 0, r.stderr

    m = Model.load(str(out))
    assert set(m.flavors) == {"onnx", "python_function"}
    assert m.flavors["python_function"]["loader_module"] == "mlflow.onnx"
    inp = m.signature.inputs.to_dict()
    assert inp == [{"name": "x", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": (-1, 4)}}]
    assert m.signature.outputs.inputs[0].shape == (-1, 1)
    assert m.model_size_bytes > os.path.getsize(src)
    ex = m.load_input_example(str(out))
    np.testing.assert_array_equal(ex["x"], np.array([[1.0, 2.0, 3.0, 4.0]]))

    X = np.random.default_rng(7).normal(size=(16, 4)).astype(np.float32)
    want = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"x": X})[0]
    model = mlflow.pyfunc.load_model(str(out))
    got = model.predict({"x": X})
    np.testing.assert_allclose(got["variable"], want, rtol=0, atol=0)
    # A DataFrame goes through the named tensor signature as well.
    got_df = model.predict(pd.DataFrame({"x": list(X)}))
    np.testing.assert_array_equal(np.asarray(got_df["variable"].tolist(), dtype=np.float32).reshape(-1), want.reshape(-1))

    # The serving example is a payload the real scoring code accepts.
    serving = (out / "serving_input_example.json").read_text()
    res = mlflow.models.validate_serving_input(str(out), serving)
    want_ex = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(
        None, {"x": np.array([[1.0, 2.0, 3.0, 4.0]], dtype=np.float32)})[0]
    np.testing.assert_allclose(res["variable"], want_ex)


def test_two_inputs_dynamic_axes_and_archive(mlgate_bin, tmp_path):
    src = tmp_path / "two.onnx"
    two_input_onnx(str(src))
    extra = tmp_path / "NOTES.txt"
    extra.write_text("hello")
    out = tmp_path / "model"
    arch = tmp_path / "model.tar.gz"
    r = package(mlgate_bin, "--onnx", str(src), "-d", str(out), "--extra-file", str(extra),
                "--archive", str(arch))
    assert r.returncode == 0, r.stderr
    assert (out / "NOTES.txt").read_text() == "hello"

    extracted = tmp_path / "extracted"
    with tarfile.open(arch) as t:
        t.extractall(extracted, filter="data")
    m = Model.load(str(extracted))
    sig = {s["name"]: s["tensor-spec"] for s in m.signature.inputs.to_dict()}
    assert sig == {"a": {"dtype": "float32", "shape": (-1, 2)}, "b": {"dtype": "int64", "shape": (-1, 2)}}
    outs = {s["name"]: s["tensor-spec"]["dtype"] for s in m.signature.outputs.to_dict()}
    assert outs == {"sum": "float32", "scaled": "float64"}

    feeds = {"a": np.array([[0.5, 1.0], [2.0, -3.0]], dtype=np.float32),
             "b": np.array([[1, 2], [3, 4]], dtype=np.int64)}
    want = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, feeds)
    got = mlflow.pyfunc.load_model(str(extracted)).predict(feeds)
    np.testing.assert_array_equal(got["sum"], want[0])
    np.testing.assert_array_equal(got["scaled"], want[1])


def test_zip_archive_and_errors(mlgate_bin, tmp_path):
    src = tmp_path / "linear.onnx"
    linear_onnx(str(src))
    out = tmp_path / "model"
    arch = tmp_path / "model.zip"
    r = package(mlgate_bin, "--onnx", str(src), "-d", str(out), "--archive", str(arch))
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(arch) as z:
        assert {"MLmodel", "model.onnx", "python_env.yaml", "requirements.txt", "conda.yaml"} <= set(z.namelist())

    # The output folder exists and is not empty: refused, nothing changed.
    r = package(mlgate_bin, "--onnx", str(src), "-d", str(out))
    assert r.returncode == 1 and "not empty" in r.stderr
    # Not an ONNX file.
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff\xff\xff not protobuf")
    r = package(mlgate_bin, "--onnx", str(bad), "-d", str(tmp_path / "m2"))
    assert r.returncode == 1 and "invalid ONNX model" in r.stderr
    assert not (tmp_path / "m2").exists()
    # Missing flags: a usage error.
    r = package(mlgate_bin, "--onnx", str(src))
    assert r.returncode == 2


def test_external_data_is_copied(mlgate_bin, tmp_path):
    from onnx import numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 512])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 512])
    w = numpy_helper.from_array(np.linspace(-1, 1, 512, dtype=np.float32), "w")
    g = helper.make_graph([helper.make_node("Mul", ["x", "w"], ["y"])], "ext", [x], [y], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    src = src_dir / "ext.onnx"
    onnx.save_model(m, str(src), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    out = tmp_path / "model"
    r = package(mlgate_bin, "--onnx", str(src), "-d", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "weights.bin").read_bytes() == (src_dir / "weights.bin").read_bytes()

    X = np.random.default_rng(3).normal(size=(4, 512)).astype(np.float32)
    want = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"x": X})[0]
    got = mlflow.pyfunc.load_model(str(out)).predict({"x": X})
    np.testing.assert_array_equal(got["y"], want)
