package pkgformat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/internal/pyfmt"
)

func TestGoldenCustomSignatureFields(t *testing.T) {
	m, err := ReadModel("testdata/golden/custom")
	if err != nil {
		t.Fatal(err)
	}
	in := m.Signature.Inputs
	if in.IsTensor() || !in.HasNames() || len(in.Columns) != 10 {
		t.Fatalf("inputs: %+v", in)
	}
	scores := in.Columns[1]
	if scores.Name != "scores" || scores.Required || scores.Type.Type != "array" || scores.Type.Items.Type != "double" {
		t.Errorf("scores = %+v", scores)
	}
	obj := in.Columns[2].Type
	if obj.Type != "object" || len(obj.Properties) != 2 || obj.Properties[0].Name != "a" ||
		obj.Properties[0].Required || obj.Properties[0].Type.Type != "long" || !obj.Properties[1].Required {
		t.Errorf("obj = %+v", obj)
	}
	tags := in.Columns[3].Type
	if tags.Type != "map" || tags.Values.Type != "array" || tags.Values.Items.Type != "string" {
		t.Errorf("tags = %+v", tags)
	}
	if in.Columns[4].Type.Type != "any" {
		t.Errorf("whatever = %+v", in.Columns[4])
	}
	out := m.Signature.Outputs
	if !out.IsTensor() || out.Tensors[0].Name != "out" || out.Tensors[0].DType != "float64" ||
		len(out.Tensors[0].Shape) != 2 || out.Tensors[0].Shape[0] != -1 || out.Tensors[0].Shape[1] != 2 {
		t.Errorf("outputs = %+v", out)
	}
	ps := m.Signature.Params.Params
	if len(ps) != 7 || ps[0].Name != "temperature" || ps[0].Type != "float" || ps[0].Shape != nil {
		t.Fatalf("params = %+v", ps)
	}
	if ps[2].Name != "stop" || len(ps[2].Shape) != 1 || ps[2].Shape[0] != -1 {
		t.Errorf("stop = %+v", ps[2])
	}
	if ps[6].Default != "café \"x\"" {
		t.Errorf("name default = %#v", ps[6].Default)
	}
}

func TestSchemaJSONRoundTrip(t *testing.T) {
	cases := []string{
		`[{"type": "double", "name": "x", "required": true}]`,
		`[{"type": "string", "required": false}]`,
		`[{"type": "tensor", "tensor-spec": {"dtype": "uint8", "shape": [-1, 28, 28]}}]`,
		`[{"name": "a", "type": "tensor", "tensor-spec": {"dtype": "str", "shape": []}}]`,
		`[{"type": "array", "items": {"type": "array", "items": {"type": "long"}}, "name": "m", "required": true}]`,
	}
	for _, c := range cases {
		s, err := ParseSchema([]byte(c))
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if got := s.JSON(); got != c {
			t.Errorf("round trip\n got %s\nwant %s", got, c)
		}
		b, err := json.Marshal(s)
		var compact bytes.Buffer
		_ = json.Compact(&compact, []byte(c))
		if err != nil || string(b) != compact.String() {
			t.Errorf("MarshalJSON = %s, %v", b, err)
		}
	}
}

func TestOldColumnWithoutRequired(t *testing.T) {
	s, err := ParseSchema([]byte(`[{"type": "double", "name": "x"}]`))
	if err != nil || !s.Columns[0].Required {
		t.Fatalf("%+v %v", s, err)
	}
}

func TestSchemaErrors(t *testing.T) {
	cases := map[string]string{
		`{}`:                                     "not a JSON array",
		`[{"type": "double"}, 3]`:                "not a JSON array",
		`[{"type": "complex"}]`:                  `unknown type "complex"`,
		`[{"type": "array"}]`:                    `"items"`,
		`[{"type": "object", "properties": {}}]`: "non-empty",
		`[{"type": "tensor"}]`:                   `"tensor-spec"`,
		`[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-2]}}]`:                    ">= -1",
		`[{"type": "double"}, {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [1]}}]`: "mixes",
		`[{"type": "double", "required": "yes"}]`:                                                     `"required" must be a boolean`,
		`[{"type": "double", "name": 3}]`:                                                             `"name" must be a string`,
	}
	for in, want := range cases {
		_, err := ParseSchema([]byte(in))
		if err == nil || !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
	if _, err := ParseParamSchema([]byte(`[{"name": "a", "type": "float", "default": 1}, {"name": "a", "type": "float", "default": 2}]`)); err == nil || !strings.Contains(err.Error(), "duplicated") {
		t.Errorf("duplicate params: %v", err)
	}
	if _, err := ParseParamSchema([]byte(`[{"name": "a", "type": "float"}]`)); err == nil || !strings.Contains(err.Error(), `"default"`) {
		t.Errorf("missing default: %v", err)
	}
}

func TestPyFloat(t *testing.T) {
	cases := map[float64]string{
		1: "1.0", 0.5: "0.5", 1e-05: "1e-05", 0.0001: "0.0001", 1e16: "1e+16", 1e15: "1000000000000000.0",
		-2.5: "-2.5", 123456789.125: "123456789.125", 1.5e300: "1.5e+300", 0: "0.0",
	}
	for f, want := range cases {
		if got := pyfmt.Float(f); got != want {
			t.Errorf("Float(%v) = %s, want %s", f, got, want)
		}
	}
}

func TestMLmodelErrors(t *testing.T) {
	cases := map[string]string{
		"":                             "top level must be a YAML mapping",
		"- a\n- b\n":                   "top level must be a YAML mapping",
		"flavors: [1, 2]\n":            "flavors must be a mapping",
		"flavors:\n  onnx: 3\n":        `flavor "onnx" config must be a mapping`,
		"model_size_bytes: lots\n":     "model_size_bytes",
		"signature:\n  inputs: '[{'\n": "signature inputs",
		"flavors: {a: {b: c}\n":        "invalid MLmodel",
	}
	for in, want := range cases {
		_, err := ParseMLmodel([]byte(in))
		if err == nil || !errors.Is(err, ErrBadMLmodel) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", in, err, want)
		}
	}
}

func TestUnknownKeysSurvive(t *testing.T) {
	in := "flavors:\n  onnx:\n    data: model.onnx\nresources:\n  api_version: '1'\n  x: [1, 2]\nrun_id: null\nzeta: 3\n"
	m, err := ParseMLmodel([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "flavors:\n  onnx:\n    data: model.onnx\nresources:\n  api_version: '1'\n  x:\n  - 1\n  - 2\nrun_id: null\nzeta: 3\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestErrorsCarryInvalidParameterCode(t *testing.T) {
	type coder interface{ ErrorCode() string }
	_, e1 := ParseMLmodel([]byte("- a"))
	_, e2 := ParseSchema([]byte("{"))
	_, e3 := ParseURI("models:/")
	e4 := ExtractFile(context.Background(), "testdata/fuzz-seeds/slip.tar", filepath.Join(t.TempDir(), "x"), Limits{})
	_, e5 := ParseONNX([]byte("x"))
	for i, err := range []error{e1, e2, e3, e4, e5} {
		var c coder
		if !errors.As(err, &c) || c.ErrorCode() != "INVALID_PARAMETER_VALUE" {
			t.Errorf("error %d (%v) has no INVALID_PARAMETER_VALUE code", i, err)
		}
	}
}
