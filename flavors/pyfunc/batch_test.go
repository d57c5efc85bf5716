package pyfunc

import (
	"testing"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

func TestCanBatch(t *testing.T) {
	cols := &pkgformat.Schema{Columns: []pkgformat.ColSpec{{Name: "x", Type: pkgformat.DataType{Type: "double"}}}}
	tens := &pkgformat.Schema{Tensors: []pkgformat.TensorSpec{{Name: "x", DType: "float32", Shape: []int64{-1, 2}}}}
	model := func(loader string, in *pkgformat.Schema, params bool) *pkgformat.Model {
		m := &pkgformat.Model{Flavors: map[string]map[string]any{Name: {"loader_module": loader}}}
		if in != nil {
			m.Signature = &pkgformat.Signature{Inputs: in}
			if params {
				m.Signature.Params = &pkgformat.ParamSchema{Params: []pkgformat.ParamSpec{{Name: "p", Type: "double"}}}
			}
		}
		return m
	}
	cases := []struct {
		name  string
		m     *pkgformat.Model
		extra map[string]string
		want  bool
	}{
		{"sklearn_columns", model("mlflow.sklearn", cols, false), nil, true},
		{"sklearn_with_params", model("mlflow.sklearn", cols, true), nil, false},
		{"sklearn_tensors", model("mlflow.sklearn", tens, false), nil, false},
		{"no_signature", model("mlflow.sklearn", nil, false), nil, false},
		{"custom_model", model("mlflow.pyfunc.model", cols, false), nil, false},
		{"forced_on", model("mlflow.pyfunc.model", cols, false), map[string]string{ExtraBatch: "true"}, true},
		{"forced_off", model("mlflow.sklearn", cols, false), map[string]string{ExtraBatch: "false"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := canBatch(c.m, flavors.LoadOptions{Extra: c.extra}); got != c.want {
				t.Fatalf("canBatch = %v, want %v", got, c.want)
			}
		})
	}
}
