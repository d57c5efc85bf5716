"""Writes model.onnx: the linear example's shape (input float32 [-1, 3] ->
variable float32 [-1, 1]) that answers x0 + x1 + x2 + 1, and, before it
answers, loops round(max(x2)) times over a 32x32 matrix product. A request
whose third column is small is cheap; one with a third column of 1e6 runs
for seconds: the rollout end-to-end test's candidate that times out on a
share of the load. Run with a Python that has onnx:

    python gen.py model.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

f32 = TensorProto.FLOAT
body = helper.make_graph(
    [
        helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        helper.make_node("MatMul", ["acc_in", "m"], ["prod"]),
        helper.make_node("Tanh", ["prod"], ["acc_out"]),
    ],
    "spin",
    [
        helper.make_tensor_value_info("i", TensorProto.INT64, []),
        helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
        helper.make_tensor_value_info("acc_in", f32, [32, 32]),
    ],
    [
        helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
        helper.make_tensor_value_info("acc_out", f32, [32, 32]),
    ],
)
nodes = [
    # the trip count: round(max of the third column)
    helper.make_node("Slice", ["input", "c2", "c3", "axis1"], ["col2"]),
    helper.make_node("ReduceMax", ["col2"], ["top"], keepdims=0),
    helper.make_node("Cast", ["top"], ["trips"], to=TensorProto.INT64),
    helper.make_node("Loop", ["trips", "yes", "acc0"], ["acc"], body=body),
    helper.make_node("ReduceSum", ["acc"], ["spun"], keepdims=0),
    helper.make_node("Mul", ["spun", "zero"], ["nothing"]),
    # the answer
    helper.make_node("MatMul", ["input", "w"], ["lin"]),
    helper.make_node("Add", ["lin", "b"], ["shifted"]),
    helper.make_node("Add", ["shifted", "nothing"], ["variable"]),
]
inits = [
    numpy_helper.from_array(np.array([2], dtype=np.int64), "c2"),
    numpy_helper.from_array(np.array([3], dtype=np.int64), "c3"),
    numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
    numpy_helper.from_array(np.array(True), "yes"),
    numpy_helper.from_array(np.full((32, 32), 1 / 32, dtype=np.float32), "acc0"),
    numpy_helper.from_array(np.eye(32, dtype=np.float32), "m"),
    numpy_helper.from_array(np.array(0, dtype=np.float32), "zero"),
    numpy_helper.from_array(np.ones((3, 1), dtype=np.float32), "w"),
    numpy_helper.from_array(np.ones((1,), dtype=np.float32), "b"),
]
g = helper.make_graph(
    nodes,
    "slowshare",
    [helper.make_tensor_value_info("input", f32, ["n", 3])],
    [helper.make_tensor_value_info("variable", f32, ["n", 1])],
    inits,
)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="mlgate-test")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
