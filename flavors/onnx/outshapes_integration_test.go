//go:build integration && cgo

package onnx

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// scriptModel runs a Python script that saves an ONNX model at argv[1],
// writes an MLmodel for it and loads it (closed at cleanup); what names
// the model in errors.
func scriptModel(t *testing.T, what, script string) *Predictor {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(testPython(t), "-c", script, filepath.Join(dir, "model.onnx")).CombinedOutput()
	if err != nil {
		t.Fatalf("building the %s model: %v\n%s", what, err, out)
	}
	mlmodel := "flavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.17.0\n"
	if err := os.WriteFile(filepath.Join(dir, "MLmodel"), []byte(mlmodel), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := pkgformat.ReadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := New(WithLibrary(ortLib(t))).Load(t.Context(), dir, m, flavors.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fp.Close() })
	return fp.(*Predictor)
}

// nonzeroModel writes a model whose output size depends on the data
// (NonZero): the shapes learned for one input are wrong for the next.
func nonzeroModel(t *testing.T) *Predictor {
	t.Helper()
	return scriptModel(t, "NonZero", `
import sys, onnx
from onnx import TensorProto, helper
g = helper.make_graph([helper.make_node("NonZero", ["x"], ["idx"])], "nz",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])],
    [helper.make_tensor_value_info("idx", TensorProto.INT64, [1, "k"])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
onnx.save(m, sys.argv[1])
`)
}

func TestLearnedOutputShapes(t *testing.T) {
	p := nonzeroModel(t)
	if !p.shapes.on {
		t.Fatal("an int64 tensor output should be preallocatable")
	}
	predict := func(x ...float32) string {
		t.Helper()
		in := &flavors.Input{Tensors: map[string]*flavors.Tensor{"x": {DType: flavors.Float32, Shape: []int64{int64(len(x))}, Data: x}}}
		out, err := p.Predict(t.Context(), in)
		if err != nil {
			t.Fatalf("predict %v: %v", x, err)
		}
		o := out.Tensors["idx"]
		if o == nil {
			o = out.Tensor
		}
		return fmt.Sprint(o.Shape, o.Data)
	}
	// learns [1 2] for inputs of shape [3], then reuses it
	for range 2 {
		if got := predict(1, 0, 2); got != "[1 2] [0 2]" {
			t.Fatalf("got %s, want [1 2] [0 2]", got)
		}
	}
	if v, ok := p.shapes.known.Load("3x;"); !ok || v == nil {
		t.Fatalf("no shape learned for input shape [3]: %v", v)
	}
	// same input shape, another output size: refused, run again, forgotten
	if got := predict(1, 1, 1); got != "[1 3] [0 1 2]" {
		t.Fatalf("got %s, want [1 3] [0 1 2]", got)
	}
	if v, ok := p.shapes.known.Load("3x;"); !ok || v != nil {
		t.Fatalf("shape for [3] should be marked data-dependent, got %v", v)
	}
	if got := predict(0, 0, 5); got != "[1 1] [2]" {
		t.Fatalf("got %s, want [1 1] [2]", got)
	}
}
