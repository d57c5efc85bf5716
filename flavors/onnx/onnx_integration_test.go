//go:build integration && cgo

package onnx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/flavors/flavortest"
	"github.com/mlgate/mlgate/pkgformat"
)

// testCase is an input for one model and how Python computes the expected
// output: "predict" is mlflow.pyfunc.load_model(dir).predict(input) (the
// whole mlflow path: schema enforcement and _OnnxModelWrapper), "ort" is a
// bare onnxruntime InferenceSession.run on the tensors. pySpec, when set, is
// the input Python gets instead of spec (to check mlgate's casts).
type testCase struct {
	kind, op, spec, pySpec string
}

var cases = map[string]testCase{
	"linear/frame": {kind: "linear", op: "predict",
		spec: `{"frame": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0], [0.5, -1.5, 2.25], [0, 0.0, 7]]}}`},
	"linear/tensor-float64-cast": {kind: "linear", op: "ort",
		spec:   `{"tensors": {"x": {"dtype": "float64", "shape": [2, 3], "data": [1.5, 2, 3, -4, 5.25, 6]}}}`,
		pySpec: `{"tensors": {"x": {"dtype": "float32", "shape": [2, 3], "data": [1.5, 2, 3, -4, 5.25, 6]}}}`},
	"linear/single-tensor": {kind: "linear", op: "ort",
		spec:   `{"tensor": {"dtype": "float32", "shape": [1, 3], "data": [1, 1, 1]}}`,
		pySpec: `{"tensors": {"x": {"dtype": "float32", "shape": [1, 3], "data": [1, 1, 1]}}}`},
	"iris_rf/frame": {kind: "iris_rf", op: "predict",
		spec: `{"frame": {"columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
			"data": [[5.1, 3.5, 1.4, 0.2], [7.0, 3.2, 4.7, 1.4], [6.3, 3.3, 6.0, 2.5], [6.0, 2.2, 5.0, 1.5]]}}`},
	"iris_rf/tensors": {kind: "iris_rf", op: "ort",
		spec: `{"tensors": {"input": {"dtype": "float32", "shape": [3, 4], "data": [5.1, 3.5, 1.4, 0.2, 6.0, 2.2, 5.0, 1.5, 5.9, 3.0, 5.1, 1.8]}}}`},
	"multi_input/frame-swapped": {kind: "multi_input", op: "predict",
		spec: `{"frame": {"columns": ["b", "a"], "data": [[1.0, 2.0], [3.5, -1.0], [0.25, 8.0]]}}`},
	"multi_input/tensors": {kind: "multi_input", op: "ort",
		spec: `{"tensors": {"a": {"dtype": "float32", "shape": [3], "data": [1, 2, 3]}, "b": {"dtype": "float32", "shape": [3], "data": [0.5, 0.25, -3]}}}`},
	"tensor_sig/tensors": {kind: "tensor_sig", op: "predict",
		spec: `{"tensors": {"x": {"dtype": "float32", "shape": [2, 2, 4], "data": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16.5]}}}`},
	"tensor_sig/single-tensor": {kind: "tensor_sig", op: "predict",
		spec: `{"tensor": {"dtype": "float32", "shape": [1, 2, 1], "data": [0.5, -0.5]}}`},
	"mlp/tensors":   {kind: "mlp", op: "predict", spec: mlpSpec("float32", 8)},
	"mlp/float64":   {kind: "mlp", op: "ort", spec: mlpSpec("float64", 3), pySpec: mlpSpec("float32", 3)},
	"types/tensors": {kind: "types", op: "predict", spec: typesSpec()},
}

func mlpSpec(dtype string, rows int) string {
	data := make([]string, rows*512)
	for i := range data {
		data[i] = fmt.Sprintf("%.4f", math.Sin(float64(i)*0.37))
	}
	return fmt.Sprintf(`{"tensors": {"x": {"dtype": %q, "shape": [%d, 512], "data": [%s]}}}`, dtype, rows, strings.Join(data, ","))
}

func typesSpec() string {
	parts := []string{
		`"f16": {"dtype": "float16", "shape": [3, 2], "data": [1.5, -2.25, 0.1, 65504, 3e-5, -0.0]}`,
		`"f32": {"dtype": "float32", "shape": [3, 2], "data": [1.5, -2.25, 0.1, 1e30, 3e-5, -7]}`,
		`"f64": {"dtype": "float64", "shape": [3, 2], "data": [1.5, -2.25, 0.1, 1e300, 3e-5, -7]}`,
		`"i8": {"dtype": "int8", "shape": [3, 2], "data": [1, -2, 126, -128, 0, 5]}`,
		`"i16": {"dtype": "int16", "shape": [3, 2], "data": [1, -2, 32766, -32768, 0, 5]}`,
		`"i32": {"dtype": "int32", "shape": [3, 2], "data": [1, -2, 2147483646, -2147483648, 0, 5]}`,
		`"i64": {"dtype": "int64", "shape": [3, 2], "data": [1, -2, 4503599627370496, -4503599627370496, 0, 5]}`,
		`"u8": {"dtype": "uint8", "shape": [3, 2], "data": [1, 2, 254, 0, 7, 5]}`,
		`"u16": {"dtype": "uint16", "shape": [3, 2], "data": [1, 2, 65534, 0, 7, 5]}`,
		`"u32": {"dtype": "uint32", "shape": [3, 2], "data": [1, 2, 4294967294, 0, 7, 5]}`,
		`"u64": {"dtype": "uint64", "shape": [3, 2], "data": [1, 2, 4503599627370496, 0, 7, 5]}`,
		`"b": {"dtype": "bool", "shape": [3, 2], "data": [true, false, false, true, true, true]}`,
		`"s": {"dtype": "str", "shape": [3, 2], "data": ["a", "bc", "", "déf", "日本", "x y"]}`,
	}
	return `{"tensors": {` + strings.Join(parts, ", ") + `}}`
}

func load(t testing.TB, kind string, lo flavors.LoadOptions) flavors.Predictor {
	t.Helper()
	dir := modelDir(t, kind)
	m, err := pkgformat.ReadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(WithLibrary(ortLib(t))).Load(t.Context(), dir, m, lo)
	if err != nil {
		t.Fatalf("load %s: %v", kind, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// TestMatchesPython predicts every case and compares with what
// mlflow.pyfunc / onnxruntime-python return for the same input.
func TestMatchesPython(t *testing.T) {
	setup(t)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := load(t, c.kind, flavors.LoadOptions{})
			// the second run of the same shapes uses learned output
			// shapes and pooled tensors: the same answer either way
			for range 3 {
				out, err := p.Predict(t.Context(), decodeInput(t, c.spec))
				if err != nil {
					t.Fatalf("predict: %v", err)
				}
				compareOutput(t, out, expected(t, name))
			}
		})
	}
}

// TestZipMapShape pins the ZipMap probabilities shape: a list of dicts
// (class label to probability), as onnxruntime-python returns them.
func TestZipMapShape(t *testing.T) {
	p := load(t, "iris_rf", flavors.LoadOptions{})
	out, err := p.Predict(t.Context(), decodeInput(t, cases["iris_rf/tensors"].spec))
	if err != nil {
		t.Fatal(err)
	}
	prob := out.Tensors["output_probability"]
	if prob == nil || prob.DType != flavors.Object || fmt.Sprint(prob.Shape) != "[3]" {
		t.Fatalf("output_probability = %+v, want an object tensor of shape [3]", prob)
	}
	for i, e := range prob.Data.([]any) {
		m, ok := e.(flavors.Map)
		if !ok || fmt.Sprint(m.Keys) != "[0 1 2]" || len(m.Values) != 3 {
			t.Fatalf("row %d = %#v, want the 3 classes in onnxruntime's order (0 1 2)", i, e)
		}
		sum := 0.0
		for j, k := range m.Keys {
			v, ok := m.Values[j].(float32)
			if !ok {
				t.Fatalf("row %d class %s = %#v, want float32", i, k, m.Values[j])
			}
			sum += float64(v)
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("row %d probabilities sum to %v", i, sum)
		}
	}
	if got := out.Order; fmt.Sprint(got) != "[output_label output_probability]" {
		t.Errorf("order %v", got)
	}
}

func TestExternalData(t *testing.T) {
	dir := modelDir(t, "mlp")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ext []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".data") {
			ext = append(ext, e.Name())
		}
	}
	st, err := os.Stat(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ext) != 1 || st.Size() > 100_000 {
		t.Fatalf("mlp model should keep its ~4 MB of weights in one external file; files %v, model.onnx %d bytes", ext, st.Size())
	}
	// Loading from another working directory still finds the weights.
	t.Chdir(t.TempDir())
	p := load(t, "mlp", flavors.LoadOptions{IntraOpThreads: 1, InterOpThreads: 1})
	out, err := p.Predict(t.Context(), decodeInput(t, cases["mlp/tensors"].spec))
	if err != nil {
		t.Fatal(err)
	}
	compareOutput(t, out, expected(t, "mlp/tensors"))
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name, kind, spec, wantMsg string
		frame                     *flavors.Frame
	}{
		{name: "wrong rank", kind: "linear",
			spec:    `{"tensors": {"x": {"dtype": "float32", "shape": [3], "data": [1, 2, 3]}}}`,
			wantMsg: "Invalid rank"},
		{name: "wrong static dim", kind: "linear",
			spec:    `{"tensors": {"x": {"dtype": "float32", "shape": [2, 2], "data": [1, 2, 3, 4]}}}`,
			wantMsg: "invalid dimensions"},
		{name: "wrong dtype", kind: "linear",
			spec:    `{"tensors": {"x": {"dtype": "int64", "shape": [1, 3], "data": [1, 2, 3]}}}`,
			wantMsg: "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Unexpected input data type. Actual: (tensor(int64)) , expected: (tensor(float))"},
		{name: "string into float", kind: "linear",
			spec:    `{"tensors": {"x": {"dtype": "str", "shape": [1, 3], "data": ["a", "b", "c"]}}}`,
			wantMsg: "Unexpected input data type"},
		{name: "int frame into float input", kind: "linear",
			spec:    `{"frame": {"columns": ["x1", "x2", "x3"], "data": [[1, 2, 3]]}}`,
			wantMsg: "tensor(int64)"},
		{name: "missing input", kind: "multi_input",
			spec:    `{"tensors": {"a": {"dtype": "float32", "shape": [1], "data": [1]}}}`,
			wantMsg: "Required inputs (['b']) are missing from input feed (['a'])"},
		{name: "unknown input", kind: "linear",
			spec:    `{"tensors": {"x": {"dtype": "float32", "shape": [1, 3], "data": [1, 2, 3]}, "y": {"dtype": "float32", "shape": [1], "data": [1]}}}`,
			wantMsg: "Invalid input name: y"},
		{name: "ndarray for two inputs", kind: "multi_input",
			spec:    `{"tensor": {"dtype": "float32", "shape": [1], "data": [1]}}`,
			wantMsg: "Numpy arrays can only be used as input for MLflow ONNX models that have a single input"},
		{name: "missing column", kind: "multi_input",
			spec:    `{"frame": {"columns": ["a"], "data": [[1.0]]}}`,
			wantMsg: "KeyError"},
		{name: "mismatched batch", kind: "multi_input",
			spec:    `{"tensors": {"a": {"dtype": "float32", "shape": [2], "data": [1, 2]}, "b": {"dtype": "float32", "shape": [3], "data": [1, 2, 3]}}}`,
			wantMsg: "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := load(t, tc.kind, flavors.LoadOptions{})
			_, err := p.Predict(t.Context(), decodeInput(t, tc.spec))
			if !errors.Is(err, flavors.ErrBadInput) {
				t.Fatalf("err = %v, want ErrBadInput", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
	t.Run("length does not match shape", func(t *testing.T) {
		p := load(t, "linear", flavors.LoadOptions{})
		in := &flavors.Input{Tensors: map[string]*flavors.Tensor{"x": {DType: flavors.Float32, Shape: []int64{2, 3}, Data: []float32{1, 2}}}}
		if _, err := p.Predict(t.Context(), in); !errors.Is(err, flavors.ErrBadInput) {
			t.Fatalf("err = %v, want ErrBadInput", err)
		}
	})
	t.Run("data type does not match dtype", func(t *testing.T) {
		p := load(t, "linear", flavors.LoadOptions{})
		in := &flavors.Input{Tensor: &flavors.Tensor{DType: flavors.Float64, Shape: []int64{1, 3}, Data: []float32{1, 2, 3}}}
		if _, err := p.Predict(t.Context(), in); !errors.Is(err, flavors.ErrBadInput) {
			t.Fatalf("err = %v, want ErrBadInput", err)
		}
	})
	t.Run("nil and empty input", func(t *testing.T) {
		p := load(t, "linear", flavors.LoadOptions{})
		for _, in := range []*flavors.Input{nil, {}, {Raw: json.RawMessage(`{}`)}} {
			if _, err := p.Predict(t.Context(), in); !errors.Is(err, flavors.ErrBadInput) {
				t.Fatalf("Predict(%+v) err = %v, want ErrBadInput", in, err)
			}
		}
	})
}

func TestCancelledContext(t *testing.T) {
	p := load(t, "linear", flavors.LoadOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := p.Predict(ctx, decodeInput(t, cases["linear/single-tensor"].spec))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestDescribeAndBatch(t *testing.T) {
	tests := []struct {
		kind     string
		canBatch bool
		inputs   string
		outputs  string
	}{
		{"linear", true, "[{x float32 [-1 3]}]", "[{variable float32 [-1 1]}]"},
		{"iris_rf", true, "[{input float32 [-1 4]}]", "[{output_label int64 [-1]} {output_probability object [-1]}]"},
		{"tensor_sig", true, "[{x float32 [-1 2 -1]}]", "[{rowsum float32 [-1 2]} {scaled float32 [-1 2 -1]}]"},
		{"mlp", true, "[{x float32 [-1 512]}]", "[{y float32 [-1 16]}]"},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			p := load(t, tc.kind, flavors.LoadOptions{})
			if got := p.(flavors.Batcher).CanBatch(); got != tc.canBatch {
				t.Errorf("CanBatch = %v, want %v", got, tc.canBatch)
			}
			md := p.(flavors.Describer).Describe()
			if got := fmt.Sprint(md.Inputs); got != tc.inputs {
				t.Errorf("inputs %s, want %s", got, tc.inputs)
			}
			if got := fmt.Sprint(md.Outputs); got != tc.outputs {
				t.Errorf("outputs %s, want %s", got, tc.outputs)
			}
		})
	}
	t.Run("types has every dtype", func(t *testing.T) {
		p := load(t, "types", flavors.LoadOptions{})
		var got []string
		for _, in := range p.(flavors.Describer).Describe().Inputs {
			got = append(got, string(in.DType))
		}
		want := "[float16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64 bool str]"
		if fmt.Sprint(got) != want {
			t.Errorf("dtypes %v, want %s", got, want)
		}
	})
}

func TestConformance(t *testing.T) {
	for _, name := range []string{"linear/frame", "iris_rf/frame", "multi_input/tensors", "tensor_sig/tensors", "mlp/tensors", "types/tensors"} {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			want := expected(t, name)
			flavortest.Run(t, flavortest.Harness{
				Flavor:        New(WithLibrary(ortLib(t))),
				Dir:           modelDir(t, c.kind),
				Input:         decodeInput(t, c.spec),
				Check:         func(t *testing.T, out *flavors.Output) { compareOutput(t, out, want) },
				Deterministic: true,
				Goroutines:    4,
				Iterations:    3,
			})
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := modelDir(t, "linear")
	base, err := pkgformat.ReadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	with := func(edit func(fl map[string]any)) *pkgformat.Model {
		fl := map[string]any{}
		for k, v := range base.Flavors["onnx"] {
			fl[k] = v
		}
		edit(fl)
		m := *base
		m.Flavors = map[string]map[string]any{"onnx": fl}
		return &m
	}
	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.MkdirAll(garbage, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(garbage, "model.onnx"), []byte("not an onnx file"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := New(WithLibrary(ortLib(t)))
	tests := []struct {
		name string
		dir  string
		m    *pkgformat.Model
		want string
	}{
		{"no onnx flavor", dir, &pkgformat.Model{Flavors: map[string]map[string]any{"python_function": {}}}, "no \"onnx\" flavor"},
		{"no data", dir, with(func(fl map[string]any) { delete(fl, "data") }), "no \"data\""},
		{"escaping data", dir, with(func(fl map[string]any) { fl["data"] = "../linear/model.onnx" }), "inside the model folder"},
		{"missing file", dir, with(func(fl map[string]any) { fl["data"] = "nope.onnx" }), "no such file"},
		{"bad thread count", dir, with(func(fl map[string]any) {
			fl["onnx_session_options"] = map[string]any{"intra_op_num_threads": "many"}
		}), "not an integer"},
		{"bad execution mode", dir, with(func(fl map[string]any) {
			fl["onnx_session_options"] = map[string]any{"execution_mode": "sideways"}
		}), "execution_mode"},
		{"corrupt model", garbage, base, "loading model.onnx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := f.Load(t.Context(), tc.dir, tc.m, flavors.LoadOptions{})
			if err == nil {
				_ = p.Close()
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("session options from MLmodel", func(t *testing.T) {
		m := with(func(fl map[string]any) {
			fl["onnx_session_options"] = map[string]any{
				"intra_op_num_threads": 1, "inter_op_num_threads": 1, "execution_mode": "SEQUENTIAL",
				"graph_optimization_level": 99, "extra_session_config": map[string]any{"session.use_env_allocators": "1"},
			}
		})
		p, err := f.Load(t.Context(), dir, m, flavors.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		out, err := p.Predict(t.Context(), decodeInput(t, cases["linear/frame"].spec))
		if err != nil {
			t.Fatal(err)
		}
		compareOutput(t, out, expected(t, "linear/frame"))
	})
	t.Run("another library path", func(t *testing.T) {
		other := New(WithLibrary(filepath.Join(t.TempDir(), "libonnxruntime.so.1")))
		if _, err := other.Load(t.Context(), dir, base, flavors.LoadOptions{}); err == nil || !strings.Contains(err.Error(), "already loaded") {
			t.Fatalf("err = %v, want already loaded", err)
		}
	})
}

// BenchmarkPredict measures one in-process prediction (conversion in and
// out included) for a tiny and a compute-bound model.
func BenchmarkPredict(b *testing.B) {
	for _, bc := range []struct{ name, kind, spec string }{
		{"linear/frame", "linear", cases["linear/frame"].spec},
		{"iris_rf/frame", "iris_rf", cases["iris_rf/frame"].spec},
		{"mlp/batch8", "mlp", mlpSpec("float32", 8)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := load(b, bc.kind, flavors.LoadOptions{IntraOpThreads: 1})
			in := decodeInput(b, bc.spec)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Predict(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
