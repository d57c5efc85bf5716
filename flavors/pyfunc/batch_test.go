package pyfunc

import (
	"bytes"
	"errors"
	"math"
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

func fastModel() *pkgformat.Model {
	return &pkgformat.Model{
		Flavors: map[string]map[string]any{Name: {"loader_module": "mlflow.sklearn"}},
		Signature: &pkgformat.Signature{Inputs: &pkgformat.Schema{Columns: []pkgformat.ColSpec{
			{Name: "x", Type: pkgformat.DataType{Type: "double"}, Required: true},
			{Name: "s", Type: pkgformat.DataType{Type: "string"}, Required: true},
			{Name: "f", Type: pkgformat.DataType{Type: "float"}, Required: true},
		}}},
	}
}

func TestFastSchema(t *testing.T) {
	fs := newFastSchema(fastModel(), false)
	if fs == nil {
		t.Fatal("a scalar named column signature must use the batch frame")
	}
	if newFastSchema(fastModel(), true) != nil {
		t.Fatal("a type-hinted model must not use the batch frame")
	}
	bin := fastModel()
	bin.Signature.Inputs.Columns[1].Type.Type = "binary"
	if newFastSchema(bin, false) != nil {
		t.Fatal("a binary column must not use the batch frame")
	}
	unnamed := fastModel()
	for i := range unnamed.Signature.Inputs.Columns {
		unnamed.Signature.Inputs.Columns[i].Name = ""
	}
	if newFastSchema(unnamed, false) != nil {
		t.Fatal("an unnamed column signature must not use the batch frame")
	}
	frame := func(cols []string, data ...[]any) *flavors.Input {
		return &flavors.Input{Frame: &flavors.Frame{Columns: cols, Data: data}}
	}
	xsf := []string{"x", "s", "f"}
	cases := []struct {
		name string
		in   *flavors.Input
		want bool
	}{
		{"ok", frame(xsf, []any{1.0, math.NaN()}, []any{"a", "b"}, []any{float32(1), float32(2)}), true},
		{"missing_string", frame(xsf, []any{1.0}, []any{nil}, []any{float32(1)}), false},
		{"number_in_string_column", frame(xsf, []any{1.0}, []any{1.0}, []any{float32(1)}), false},
		{"double_as_float", frame(xsf, []any{1.0}, []any{"a"}, []any{1.0}), false},
		{"order", frame([]string{"s", "x", "f"}, []any{"a"}, []any{1.0}, []any{float32(1)}), false},
		{"missing_column", frame([]string{"x", "s"}, []any{1.0}, []any{"a"}), false},
		{"no_rows", frame(xsf, []any{}, []any{}, []any{}), false},
		{"ragged", frame(xsf, []any{1.0, 2.0}, []any{"a"}, []any{float32(1)}), false},
		{"raw", &flavors.Input{Raw: []byte(`{}`)}, false},
		{"nil", nil, false},
	}
	for _, c := range cases {
		if got := fs.fits(c.in); got != c.want {
			t.Errorf("%s: fits = %v, want %v", c.name, got, c.want)
		}
	}
	var none *fastSchema
	if none.fits(cases[0].in) {
		t.Error("a nil fast schema fits nothing")
	}
	body, err := fs.encodeBatch([]*flavors.Input{
		frame(xsf, []any{1.0, math.Inf(-1)}, []any{"a\"", "é"}, []any{float32(0.1), float32(2)}),
		frame(xsf, []any{3.0}, []any{"c"}, []any{float32(3)}),
	}, map[string]any{"k": int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"columns":["x","s","f"],"types":["double","string","float"],"data":[[1.0,-Infinity,3.0],["a\"","é","c"],[0.1,2.0,3.0]],"rows":[2,1],"params":{"k":1}}`
	if string(body) != want {
		t.Fatalf("encodeBatch =\n%s\nwant\n%s", body, want)
	}
}

func sub(kind byte, body string) []byte {
	var b bytes.Buffer
	_ = writeFrame(&b, kind, []byte(body))
	return b.Bytes()
}

func TestDecodeMany(t *testing.T) {
	body := append(sub(frameOK, `[1.0]`), sub(frameError, `{"error_code":"BAD_REQUEST","message":"no"}`)...)
	body = append(body, sub(frameOK, `[]`)...)
	outs, errs, err := decodeMany(body, 3)
	if err != nil {
		t.Fatal(err)
	}
	if string(outs[0].JSON) != `[1.0]` || errs[0] != nil || string(outs[2].JSON) != `[]` || errs[2] != nil {
		t.Fatalf("outputs %v %v", outs, errs)
	}
	if !errors.Is(errs[1], flavors.ErrBadInput) || outs[1] != nil {
		t.Fatalf("input 1: want a bad input error, got %v", errs[1])
	}
	for name, c := range map[string]struct {
		body []byte
		n    int
	}{
		"count":     {body, 2},
		"truncated": {body[:len(body)-1], 3},
		"short":     {[]byte{0, 0}, 1},
		"zero":      {[]byte{0, 0, 0, 0, 'O'}, 1},
		"kind":      {sub(frameUnwrapped, `{}`), 1},
		"empty":     {nil, 1},
	} {
		if _, _, err := decodeMany(c.body, c.n); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: want ErrProtocol, got %v", name, err)
		}
	}
}

func FuzzDecodeMany(f *testing.F) {
	f.Add(append(sub(frameOK, `[1.0]`), sub(frameError, `{"message":"x"}`)...), 2)
	f.Add([]byte{0, 0, 0, 1, 'O'}, 1)
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		outs, errs, err := decodeMany(body, n)
		if err == nil && (len(outs) != n || len(errs) != n) {
			t.Fatalf("%d outputs and %d errors for %d inputs", len(outs), len(errs), n)
		}
		for i := range outs {
			if err == nil && (outs[i] == nil) == (errs[i] == nil) {
				t.Fatalf("input %d: exactly one of output and error must be set", i)
			}
		}
	})
}
