"""Build real MLflow models for mlgate's tests, with the real `mlflow` package.

CLI:
    python interop/models.py <kind> <outdir>
        Writes an MLflow model folder at <outdir> (mlflow.onnx / mlflow.sklearn /
        mlflow.pyfunc save_model) and <outdir>.requests.json: a list of
        {"name", "content_type", "body", "expect_ok"} scoring requests for
        /invocations (bodies are JSON objects, or CSV text for text/csv);
        expect_ok is what the real mlflow scoring server answers (200 or not),
        as checked with mlflow.pyfunc.scoring_server.invocations.
    python interop/models.py all <dir>
        Builds every kind at <dir>/<kind> in one process (faster than one call each).
    python interop/models.py batch <jobs.json>
        Runs build / predict / ort jobs in one process and prints their results
        (see cmd_batch); what the Go tests use to get expected values.
    python interop/models.py list
        Prints the kinds, one a line.
    python interop/models.py predict <model_dir> <input.json>
        Prints mlflow.pyfunc.load_model(model_dir).predict(input) as JSON (see
        decode_input / encode_output for the encoding).
    python interop/models.py ort <model.onnx> <feeds.json>
        Prints onnxruntime.InferenceSession(model).run(None, feeds) as JSON,
        one entry per session output, in output order.

Python API: build(kind, outdir) -> {"model_dir", "requests"}; KINDS.

Tensor encoding in JSON (both directions): {"dtype": numpy name, "shape": [...],
"data": flat row-major list}; float16 values as floats, strings as str. A
sequence output (ZipMap) is {"sequence": [ {key: value, ...}, ... ]} with keys as
strings. Frames are {"frame": {"columns": [...], "data": [[column values]...]}}
(column-major).

Generation is deterministic (fixed seeds) and takes seconds; nothing is cached.
"""

import json
import os
import sys
import warnings

import numpy as np

warnings.filterwarnings("ignore")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

OPSET = 17
IR_VERSION = 8  # readable by ONNX Runtime 1.24 and by onnxruntime-python

IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

# Element types of the `types` model: input name -> numpy dtype name.
TYPE_INPUTS = {
    "f16": "float16",
    "f32": "float32",
    "f64": "float64",
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "u8": "uint8",
    "u16": "uint16",
    "u32": "uint32",
    "u64": "uint64",
    "b": "bool",
    "s": "str",
}


def _req(name, body, expect_ok=True, content_type="application/json"):
    return {"name": name, "content_type": content_type, "body": body, "expect_ok": expect_ok}


def _onnx_model(graph):
    import onnx
    from onnx import helper

    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                          producer_name="mlgate-interop")
    m.ir_version = IR_VERSION
    onnx.checker.check_model(m)
    return m


def _pins(*dists):
    """Exact pins of the installed distributions: passing pip_requirements
    skips mlflow's requirement inference, which reloads the model in a child
    process and costs seconds per model."""
    from importlib.metadata import version

    return [f"{d}=={version(d)}" for d in ("mlflow", *dists)]


def _save_onnx(model, outdir, **kw):
    import mlflow.onnx

    kw.setdefault("pip_requirements", _pins("numpy", "onnx", "onnxruntime", "pandas"))
    mlflow.onnx.save_model(model, outdir, **kw)


# ---------------------------------------------------------------- kinds


def build_linear(outdir):
    """A tiny float regression y = X·w + b over three named double columns."""
    import pandas as pd
    from onnx import TensorProto, helper, numpy_helper

    w = np.array([[0.5], [-1.25], [2.0]], dtype=np.float32)
    b = np.array([0.75], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["variable"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["batch", 1])],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    example = pd.DataFrame({"x1": [1.0, 2.0], "x2": [0.5, -1.0], "x3": [3.0, 0.25]})
    _save_onnx(_onnx_model(graph), outdir, input_example=example)
    split = {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.5, 4.0, 2.5]]}
    return [
        _req("dataframe_split", {"dataframe_split": split}),
        _req("dataframe_records", {"dataframe_records": [{"x1": 1.0, "x2": 2.0, "x3": 3.0}, {"x1": -2, "x2": 0.5, "x3": 1}]}),
        # Real mlflow turns these into a dict of columns, which _OnnxModelWrapper
        # uses as the feed dict: ONNX Runtime then misses input "x" -> 400.
        _req("instances", {"instances": [{"x1": 1.0, "x2": 2.0, "x3": 3.0}]}, expect_ok=False),
        _req("inputs_columns", {"inputs": {"x1": [1.0, 2.0], "x2": [3.0, 4.0], "x3": [5.0, 6.0]}}, expect_ok=False),
        _req("csv", "x1,x2,x3\n1.0,2.0,3.0\n4.0,5.0,6.0\n", content_type="text/csv"),
        _req("missing_column", {"dataframe_split": {"columns": ["x1", "x2"], "data": [[1.0, 2.0]]}}, expect_ok=False),
        _req("wrong_type", {"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [["a", 2.0, 3.0]]}}, expect_ok=False),
        _req("no_format_key", {"data": [[1.0, 2.0, 3.0]]}, expect_ok=False),
    ]


def build_iris_rf(outdir):
    """sklearn RandomForest on iris, converted by skl2onnx (ZipMap probabilities)."""
    import pandas as pd
    from mlflow.models import infer_signature
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    iris = load_iris()
    X = iris.data.astype(np.float32)
    clf = RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0).fit(X, iris.target)
    onx = convert_sklearn(clf, initial_types=[("input", FloatTensorType([None, 4]))], target_opset=OPSET)
    onx.ir_version = min(onx.ir_version, IR_VERSION)
    df = pd.DataFrame(iris.data[[0, 60, 120]], columns=IRIS_COLUMNS)
    sig = infer_signature(df, pd.DataFrame({"output_label": clf.predict(X[[0, 60, 120]]).astype(np.int64)}))
    _save_onnx(onx, outdir, signature=sig, input_example=df)
    rows = iris.data[[0, 50, 100, 149]].tolist()
    return [
        _req("dataframe_split", {"dataframe_split": {"columns": IRIS_COLUMNS, "data": rows}}),
        _req("dataframe_records", {"dataframe_records": [dict(zip(IRIS_COLUMNS, r)) for r in rows]}),
        _req("missing_column", {"dataframe_split": {"columns": IRIS_COLUMNS[:3], "data": [r[:3] for r in rows]}},
             expect_ok=False),
    ]


def build_multi_input(outdir):
    """Two named 1-D float inputs a and b; outputs sum = a+b and diff = 2a-b."""
    import pandas as pd
    from onnx import TensorProto, helper, numpy_helper

    two = numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two")
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["a", "b"], ["sum"]),
            helper.make_node("Mul", ["a", "two"], ["a2"]),
            helper.make_node("Sub", ["a2", "b"], ["diff"]),
        ],
        "multi_input",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch"]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch"]),
        ],
        [
            helper.make_tensor_value_info("sum", TensorProto.FLOAT, ["batch"]),
            helper.make_tensor_value_info("diff", TensorProto.FLOAT, ["batch"]),
        ],
        initializer=[two],
    )
    example = pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, 4.0]})
    _save_onnx(_onnx_model(graph), outdir, input_example=example)
    return [
        _req("dataframe_split", {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 2.0], [3.5, -1.0]]}}),
        _req("columns_swapped", {"dataframe_split": {"columns": ["b", "a"], "data": [[1.0, 2.0], [3.5, -1.0]]}}),
        _req("inputs_dict", {"inputs": {"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]}}),
        _req("missing_input", {"dataframe_split": {"columns": ["a"], "data": [[1.0]]}}, expect_ok=False),
    ]


def build_tensor_sig(outdir):
    """A tensor signature: x float32 [-1, 2, -1] -> rowsum [-1, 2], scaled = 3x."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [
            helper.make_node("ReduceSum", ["x", "axes"], ["rowsum"], keepdims=0),
            helper.make_node("Mul", ["x", "three"], ["scaled"]),
        ],
        "tensor_sig",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, "seq"])],
        [
            helper.make_tensor_value_info("rowsum", TensorProto.FLOAT, ["batch", 2]),
            helper.make_tensor_value_info("scaled", TensorProto.FLOAT, ["batch", 2, "seq"]),
        ],
        initializer=[
            numpy_helper.from_array(np.array([2], dtype=np.int64), "axes"),
            numpy_helper.from_array(np.array(3.0, dtype=np.float32), "three"),
        ],
    )
    sig = ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 2, -1), "x")]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 2), "rowsum"),
                        TensorSpec(np.dtype(np.float32), (-1, 2, -1), "scaled")]),
    )
    example = {"x": np.arange(12, dtype=np.float32).reshape(2, 2, 3)}
    _save_onnx(_onnx_model(graph), outdir, signature=sig, input_example=example)
    x = np.arange(8, dtype=np.float32).reshape(1, 2, 4).tolist()
    return [
        _req("inputs_named", {"inputs": {"x": x}}),
        _req("inputs_unnamed", {"inputs": x}),
        _req("instances", {"instances": x}),
        _req("wrong_shape", {"inputs": {"x": [[1.0, 2.0, 3.0]]}}, expect_ok=False),
        _req("wrong_dtype", {"inputs": {"x": [[["a", "b"], ["c", "d"]]]}}, expect_ok=False),
    ]


def build_mlp(outdir, d_in=512, hidden=(1024, 512), d_out=16):
    """An MLP of about a million parameters, float32, free batch axis."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    dims = [d_in, *hidden, d_out]
    nodes, inits = [], []
    prev = "x"
    for i in range(len(dims) - 1):
        w = (rng.standard_normal((dims[i], dims[i + 1])) / np.sqrt(dims[i])).astype(np.float32)
        b = (rng.standard_normal(dims[i + 1]) * 0.01).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"m{i}"]))
        last = i == len(dims) - 2
        nodes.append(helper.make_node("Add", [f"m{i}", f"b{i}"], ["y" if last else f"a{i}"]))
        if not last:
            nodes.append(helper.make_node("Relu", [f"a{i}"], [f"h{i}"]))
            prev = f"h{i}"
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", d_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", d_out])],
        initializer=inits,
    )
    sig = ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, d_in), "x")]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, d_out), "y")]),
    )
    example = {"x": rng.standard_normal((2, d_in)).astype(np.float32)}
    _save_onnx(_onnx_model(graph), outdir, signature=sig, input_example=example)
    x = np.round(rng.standard_normal((4, d_in)), 3).tolist()
    # one row first: online inference, the case dynamic batching is for
    # (make bench times the first valid request)
    return [_req("inputs_named_one_row", {"inputs": {"x": x[:1]}}),
            _req("inputs_named", {"inputs": {"x": x}}), _req("inputs_unnamed", {"inputs": x})]


def _types_example():
    ex = {}
    for name, dt in TYPE_INPUTS.items():
        if dt == "bool":
            ex[name] = np.array([[True, False], [False, True]])
        elif dt == "str":
            ex[name] = np.array([["a", "bc"], ["", "déf"]], dtype=object)
        elif dt.startswith("int"):
            ex[name] = np.array([[1, -2], [3, -4]], dtype=dt)
        elif dt.startswith("uint"):
            ex[name] = np.array([[1, 2], [3, 250]], dtype=dt)
        else:
            ex[name] = np.array([[1.5, -2.25], [0.0, 3.0]], dtype=dt)
    return ex


def build_types(outdir):
    """One input per element type, shape [batch, 2]: numbers get +1, bools are
    negated, strings pass through; outputs are named out_<input>."""
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, ins, outs = [], [], [], []
    for name, dt in TYPE_INPUTS.items():
        et = TensorProto.STRING if dt == "str" else helper.np_dtype_to_tensor_dtype(np.dtype(dt))
        ins.append(helper.make_tensor_value_info(name, et, ["batch", 2]))
        outs.append(helper.make_tensor_value_info("out_" + name, et, ["batch", 2]))
        if dt == "bool":
            nodes.append(helper.make_node("Not", [name], ["out_" + name]))
        elif dt == "str":
            nodes.append(helper.make_node("Identity", [name], ["out_" + name]))
        else:
            inits.append(numpy_helper.from_array(np.array(1, dtype=dt), "one_" + name))
            nodes.append(helper.make_node("Add", [name, "one_" + name], ["out_" + name]))
    graph = helper.make_graph(nodes, "types", ins, outs, initializer=inits)
    spec_dt = {n: (np.dtype(object) if d == "str" else np.dtype(d)) for n, d in TYPE_INPUTS.items()}
    sig = ModelSignature(
        inputs=Schema([TensorSpec(spec_dt[n], (-1, 2), n) for n in TYPE_INPUTS]),
        outputs=Schema([TensorSpec(spec_dt[n], (-1, 2), "out_" + n) for n in TYPE_INPUTS]),
    )
    _save_onnx(_onnx_model(graph), outdir, signature=sig, input_example=_types_example())
    body = {n: v.tolist() for n, v in _types_example().items()}
    return [_req("inputs_all_types", {"inputs": body})]


def build_sklearn_pipeline(outdir):
    """An mlflow.sklearn pipeline over a DataFrame with a string column (python_function only)."""
    import mlflow.sklearn
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(3)
    n = 120
    df = pd.DataFrame({
        "x1": rng.standard_normal(n),
        "x2": rng.standard_normal(n),
        "color": rng.choice(["red", "green", "blue"], n),
    })
    y = ((df.x1 + (df.color == "red") * 1.5 - df.x2) > 0).astype(np.int64)
    pipe = Pipeline([
        ("prep", ColumnTransformer([("num", StandardScaler(), ["x1", "x2"]),
                                    ("cat", OneHotEncoder(handle_unknown="ignore"), ["color"])])),
        ("clf", LogisticRegression()),
    ]).fit(df, y)
    example = df.head(3)
    mlflow.sklearn.save_model(pipe, outdir, signature=infer_signature(example, pipe.predict(example)),
                              input_example=example,
                              pip_requirements=_pins("numpy", "pandas", "scikit-learn", "scipy", "skops"))
    rows = [[0.1, -0.3, "red"], [1.2, 0.4, "blue"], [-0.5, 0.9, "green"]]
    return [
        _req("dataframe_split", {"dataframe_split": {"columns": ["x1", "x2", "color"], "data": rows}}),
        _req("dataframe_records", {"dataframe_records": [dict(zip(["x1", "x2", "color"], r)) for r in rows]}),
        _req("csv", "x1,x2,color\n0.1,-0.3,red\n1.2,0.4,blue\n", content_type="text/csv"),
        _req("missing_column", {"dataframe_split": {"columns": ["x1", "x2"], "data": [[0.1, 0.2]]}}, expect_ok=False),
    ]


def build_custom_pyfunc(outdir):
    """A PythonModel with a params schema: y = x * scale + offset, plus a label column."""
    import mlflow.pyfunc
    import pandas as pd
    from mlflow.models import infer_signature

    # Defined locally so that cloudpickle stores the class by value: workers
    # load it without importing this file.
    class ScaleModel(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            p = params or {}
            scale = float(p.get("scale", 2.0))
            offset = float(p.get("offset", 0.0))
            out = pd.DataFrame({"y": model_input["x"].astype("float64") * scale + offset})
            out["label"] = [str(p.get("label", "none"))] * len(out)
            return out

    example = pd.DataFrame({"x": [1.0, 2.5]})
    params = {"scale": 2.0, "offset": 0.0, "label": "none"}
    sig = infer_signature(example, ScaleModel().predict(None, example, params), params=params)
    mlflow.pyfunc.save_model(outdir, python_model=ScaleModel(), signature=sig, input_example=(example, params),
                            pip_requirements=_pins("cloudpickle", "numpy", "pandas"))
    return [
        _req("defaults", {"dataframe_split": {"columns": ["x"], "data": [[1.0], [3.0]]}}),
        _req("params", {"dataframe_split": {"columns": ["x"], "data": [[1.0], [3.0]]},
                        "params": {"scale": 10.0, "offset": 1.0, "label": "p"}}),
        _req("bad_param_type", {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}, "params": {"scale": "big"}},
             expect_ok=False),
    ]


KINDS = {
    "linear": build_linear,
    "iris_rf": build_iris_rf,
    "multi_input": build_multi_input,
    "tensor_sig": build_tensor_sig,
    "mlp": build_mlp,
    "types": build_types,
    "sklearn_pipeline": build_sklearn_pipeline,
    "custom_pyfunc": build_custom_pyfunc,
}


def build(kind, outdir):
    """Write model <kind> at outdir (which must not exist) and its requests file."""
    if kind not in KINDS:
        raise SystemExit(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    outdir = os.path.abspath(outdir.rstrip("/"))
    requests = KINDS[kind](outdir)
    with open(outdir + ".requests.json", "w") as f:
        json.dump(requests, f, indent=1)
    return {"model_dir": outdir, "requests": requests}


# ---------------------------------------------------------------- predict / ort


def decode_tensor(t):
    dt = t["dtype"]
    if dt in ("str", "object"):
        return np.array(t["data"], dtype=object).reshape(t["shape"])
    return np.array(t["data"], dtype=dt).reshape(t["shape"])


def encode_value(v):
    """Encode an ORT or pyfunc output value (ndarray, list of dicts, DataFrame, dict)."""
    import pandas as pd

    if isinstance(v, pd.DataFrame):
        return {"frame": {"columns": [str(c) for c in v.columns],
                          "data": [[_scalar(x) for x in v[c].tolist()] for c in v.columns]}}
    if isinstance(v, dict):
        return {"tensors": {k: encode_value(x) for k, x in v.items()}, "order": list(v.keys())}
    if isinstance(v, list):
        return {"sequence": [_scalar(x) for x in v]}
    a = np.asarray(v)
    if a.dtype.kind in "OUS":
        data = [_scalar(x) for x in a.reshape(-1).tolist()]
        dt = "str"
    else:
        data = a.astype(np.float64 if a.dtype.kind == "f" else a.dtype).reshape(-1).tolist()
        dt = str(a.dtype)
    return {"dtype": dt, "shape": list(a.shape), "data": data}


def _scalar(x):
    if isinstance(x, dict):
        return {str(k): _scalar(v) for k, v in x.items()}
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return x


def decode_input(spec):
    """{"frame": {"columns", "data" (row-major)}} -> DataFrame; {"tensors": {name: t}} -> dict;
    {"tensor": t} -> ndarray."""
    import pandas as pd

    if "frame" in spec:
        fr = spec["frame"]
        return pd.DataFrame(fr["data"], columns=fr["columns"])
    if "tensors" in spec:
        return {k: decode_tensor(v) for k, v in spec["tensors"].items()}
    return decode_tensor(spec["tensor"])


def cmd_predict(model_dir, input_path):
    import mlflow.pyfunc

    with open(input_path) as f:
        spec = json.load(f)
    model = mlflow.pyfunc.load_model(model_dir)
    out = model.predict(decode_input(spec), params=spec.get("params"))
    json.dump(encode_value(out), sys.stdout)


def cmd_ort(model_path, feeds_path):
    import onnxruntime as ort

    with open(feeds_path) as f:
        feeds = {k: decode_tensor(v) for k, v in json.load(f).items()}
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(names, feeds)
    json.dump({"tensors": {n: encode_value(o) for n, o in zip(names, outs)}, "order": names}, sys.stdout)


def cmd_batch(jobs_path):
    """Run a list of jobs in one process (one mlflow import): each job is
    {"op": "build", "kind", "dir"} | {"op": "predict", "model", "input"} |
    {"op": "ort", "model", "feeds"}; prints a list of results, {"error": msg}
    for a job that raised."""
    import mlflow.pyfunc
    import onnxruntime as ort

    with open(jobs_path) as f:
        jobs = json.load(f)
    results, loaded = [], {}
    for job in jobs:
        try:
            if job["op"] == "build":
                res = build(job["kind"], job["dir"])["model_dir"]
            elif job["op"] == "predict":
                if job["model"] not in loaded:
                    loaded[job["model"]] = mlflow.pyfunc.load_model(job["model"])
                spec = job["input"]
                res = encode_value(loaded[job["model"]].predict(decode_input(spec), params=spec.get("params")))
            elif job["op"] == "ort":
                sess = ort.InferenceSession(job["model"], providers=["CPUExecutionProvider"])
                names = [o.name for o in sess.get_outputs()]
                outs = sess.run(names, {k: decode_tensor(v) for k, v in job["feeds"].items()})
                res = {"tensors": {n: encode_value(o) for n, o in zip(names, outs)}, "order": names}
            else:
                raise ValueError(f"unknown op {job['op']!r}")
            results.append({"result": res})
        except Exception as e:  # noqa: BLE001 - reported to the caller
            results.append({"error": f"{type(e).__name__}: {e}"})
    json.dump(results, sys.stdout)


def main(argv):
    if len(argv) == 3 and argv[1] == "batch":
        cmd_batch(argv[2])
        return 0
    if len(argv) == 2 and argv[1] == "list":
        print("\n".join(KINDS))
        return 0
    if len(argv) == 3 and argv[1] == "all":
        for kind in KINDS:
            print(build(kind, os.path.join(argv[2], kind))["model_dir"])
        return 0
    if len(argv) == 4 and argv[1] == "predict":
        cmd_predict(argv[2], argv[3])
        return 0
    if len(argv) == 4 and argv[1] == "ort":
        cmd_ort(argv[2], argv[3])
        return 0
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    res = build(argv[1], argv[2])
    print(res["model_dir"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
