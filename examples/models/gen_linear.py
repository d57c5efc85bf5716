"""Build the tiny example ONNX model that examples/models/linear packages.

Usage (from the repository root, with the interop venv):
    python examples/models/gen_linear.py examples/models/src

Writes <out>/linear.onnx (a scikit-learn LinearRegression with 3 float
features, y = 2*x0 - 3*x1 + 0.5*x2 + 1, converted by skl2onnx with a free
batch axis) and <out>/input_example.json. Then:
    bin/mlgate models package --onnx examples/models/src/linear.onnx \
        --input-example examples/models/src/input_example.json -d examples/models/linear
"""

import json
import os
import sys

import numpy as np
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LinearRegression


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = 2 * X[:, 0] - 3 * X[:, 1] + 0.5 * X[:, 2] + 1
    model = LinearRegression().fit(X, y)
    onx = to_onnx(model, initial_types=[("input", FloatTensorType([None, 3]))], target_opset=17)
    onx.ir_version = 8
    onx.producer_name = "mlgate-example"
    with open(os.path.join(out, "linear.onnx"), "wb") as f:
        f.write(onx.SerializeToString())
    with open(os.path.join(out, "input_example.json"), "w") as f:
        json.dump({"inputs": {"input": [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]}}, f)
    print(os.path.join(out, "linear.onnx"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/models/src")
