//go:build integration && cgo

package onnx

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mlgate/mlgate/flavors"
)

func linearInput(x ...float32) *flavors.Input {
	return &flavors.Input{Tensors: map[string]*flavors.Tensor{
		"x": {DType: flavors.Float32, Shape: []int64{int64(len(x) / 3), 3}, Data: x}}}
}

// TestBindingsReusedAndDetached: once a shape's outputs are known, runs
// reuse pooled ORT values, give the same answers as the ordinary path, and
// hand out results that later runs do not overwrite.
func TestBindingsReusedAndDetached(t *testing.T) {
	p := load(t, "linear", flavors.LoadOptions{}).(*Predictor)
	predict := func(x ...float32) *flavors.Tensor {
		t.Helper()
		out, err := p.Predict(t.Context(), linearInput(x...))
		if err != nil {
			t.Fatal(err)
		}
		o := out.Tensor
		if o == nil {
			o = out.Tensors["variable"]
		}
		return o
	}
	a := []float32{1, 2, 3, -1, 0, 4}
	first := fmt.Sprint(predict(a...)) // learns the output shape
	pooled := predict(a...)            // runs on a binding
	if got := fmt.Sprint(pooled); got != first {
		t.Fatalf("pooled run %s, ordinary run %s", got, first)
	}
	v, ok := p.bind.pools.Load("2x3x;")
	if !ok || len(v.(chan *binding)) != 1 {
		t.Fatalf("no idle binding kept for shape [2 3]")
	}
	other := predict(0, 0, 0, 5, 5, 5)
	if fmt.Sprint(pooled) != first {
		t.Fatalf("a later run overwrote an earlier answer: %v", pooled)
	}
	if fmt.Sprint(other) == first {
		t.Fatalf("different inputs, same answer %v", other)
	}
	// a feed of another element type does not use the float32 binding and
	// gets ORT's error, as without bindings
	in := &flavors.Input{Tensors: map[string]*flavors.Tensor{
		"x": {DType: flavors.Int64, Shape: []int64{2, 3}, Data: []int64{1, 2, 3, 4, 5, 6}}}}
	if _, err := p.Predict(t.Context(), in); !errors.Is(err, flavors.ErrBadInput) {
		t.Fatalf("int64 feed: %v, want a bad input error", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if len(v.(chan *binding)) != 0 {
		t.Fatal("Close left idle bindings")
	}
}

// chainModel writes a model of many MatMul nodes in a row, so that a run
// takes long and ORT can stop it between nodes.
func chainModel(t *testing.T) *Predictor {
	t.Helper()
	return scriptModel(t, "chain", `
import sys, numpy as np, onnx
from onnx import TensorProto, helper, numpy_helper
w = numpy_helper.from_array((np.eye(256) * 0.999).astype(np.float32), "w")
nodes, prev = [], "x"
for i in range(300):
    nodes.append(helper.make_node("MatMul", [prev, "w"], ["h%d" % i]))
    prev = "h%d" % i
g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 256])],
    [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["n", 256])], [w])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
onnx.save(m, sys.argv[1])
`)
}

// TestDeadlineTerminatesRun: a deadline that passes during a long run
// stops it well before the run would end, and the predictor's next runs
// (on the reused, reset run options) work.
func TestDeadlineTerminatesRun(t *testing.T) {
	fp := chainModel(t)
	const rows = 1000
	x := make([]float32, rows*256)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	in := &flavors.Input{Tensors: map[string]*flavors.Tensor{"x": {DType: flavors.Float32, Shape: []int64{rows, 256}, Data: x}}}
	start := time.Now()
	if _, err := fp.Predict(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)
	ctx, cancel := context.WithTimeout(t.Context(), full/10)
	defer cancel()
	start = time.Now()
	_, err := fp.Predict(ctx, in)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if took := time.Since(start); took > full/2 {
		t.Fatalf("the run stopped after %v with a deadline of %v; a whole run takes %v", took, full/10, full)
	}
	for range 3 {
		if _, err := fp.Predict(t.Context(), in); err != nil {
			t.Fatalf("run after a terminated one: %v", err)
		}
	}
}
