package builtin

import (
	"testing"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

func TestRegisterPrefersONNX(t *testing.T) {
	r := flavors.NewRegistry()
	if err := Register(r, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Get("onnx"); !ok {
		t.Fatalf("onnx is not registered (have %v)", r.Names())
	}
	f, err := r.Select(&pkgformat.Model{Flavors: map[string]map[string]any{"onnx": {}}}, "")
	if err != nil || f.Name() != "onnx" {
		t.Fatalf("Select = %v, %v; want onnx", f, err)
	}
}

func TestPythonFunctionIsTheFallback(t *testing.T) {
	r := flavors.NewRegistry()
	if err := Register(r, Options{}); err != nil {
		t.Fatal(err)
	}
	both := &pkgformat.Model{Flavors: map[string]map[string]any{"onnx": {}, "python_function": {}}}
	want := "onnx"
	if !ONNX { // without cgo the python_function flavor serves it
		want = "python_function"
	}
	if f, err := r.Select(both, ""); err != nil || f.Name() != want {
		t.Fatalf("onnx+python_function: Select = %v, %v; want %s", f, err, want)
	}
	if f, err := r.Select(both, "python_function"); err != nil || f.Name() != "python_function" {
		t.Fatalf("forced: Select = %v, %v; want python_function", f, err)
	}
	sk := &pkgformat.Model{Flavors: map[string]map[string]any{"sklearn": {}, "python_function": {}}}
	if f, err := r.Select(sk, ""); err != nil || f.Name() != "python_function" {
		t.Fatalf("sklearn model: Select = %v, %v; want python_function", f, err)
	}
}
