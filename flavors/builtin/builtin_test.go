package builtin

import (
	"testing"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

func TestRegisterPrefersONNX(t *testing.T) {
	r := flavors.NewRegistry()
	Register(r, Options{})
	if _, ok := r.Get("onnx"); !ok {
		t.Fatalf("onnx is not registered (have %v)", r.Names())
	}
	f, err := r.Select(&pkgformat.Model{Flavors: map[string]map[string]any{"onnx": {}}}, "")
	if err != nil || f.Name() != "onnx" {
		t.Fatalf("Select = %v, %v; want onnx", f, err)
	}
}
