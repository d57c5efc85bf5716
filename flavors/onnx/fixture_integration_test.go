//go:build integration && cgo

package onnx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/mlgate/mlgate/flavors"
)

// The models this package's tests use, built once per test binary by the
// real mlflow (interop/models.py).
var onnxKinds = []string{"linear", "iris_rf", "multi_input", "tensor_sig", "mlp", "types"}

// job is one interop/models.py batch job.
type job struct {
	Op    string          `json:"op"`
	Kind  string          `json:"kind,omitempty"`
	Dir   string          `json:"dir,omitempty"`
	Model string          `json:"model,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	Feeds json.RawMessage `json:"feeds,omitempty"`
}

type jobResult struct {
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

var fixture struct {
	once     sync.Once
	err      error
	dir      string
	expected map[string]jobResult // by case name
}

func ortLib(t testing.TB) string {
	t.Helper()
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		t.Fatal("ONNXRUNTIME_LIB is not set: integration tests need ONNX Runtime 1.24.1 (make onnxruntime)")
	}
	return lib
}

func testPython(t testing.TB) string {
	t.Helper()
	py := os.Getenv("MLGATE_TEST_PYTHON")
	if py == "" {
		t.Fatal("MLGATE_TEST_PYTHON is not set: integration tests need the venv python with mlflow (make venv)")
	}
	return py
}

func modelsPy(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "interop", "models.py")
}

// modelDir returns the folder of a built model kind.
func modelDir(t testing.TB, kind string) string {
	t.Helper()
	setup(t)
	return filepath.Join(fixture.dir, kind)
}

// expected returns the Python result for the named case.
func expected(t testing.TB, name string) json.RawMessage {
	t.Helper()
	setup(t)
	r, ok := fixture.expected[name]
	if !ok {
		t.Fatalf("no expected result for case %q", name)
	}
	if r.Error != "" {
		t.Fatalf("python failed on case %q: %s", name, r.Error)
	}
	return r.Result
}

// setup builds every model and computes every case's expected output in
// one Python process (the mlflow import dominates its cost).
func setup(t testing.TB) {
	t.Helper()
	lib, py, script := ortLib(t), testPython(t), modelsPy(t)
	fixture.once.Do(func() {
		fixture.err = buildFixture(lib, py, script)
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
}

func buildFixture(_, py, script string) error {
	dir, err := os.MkdirTemp("", "mlgate-onnx-test-")
	if err != nil {
		return err
	}
	fixture.dir = dir // removed by TestMain
	var jobs []job
	for _, k := range onnxKinds {
		jobs = append(jobs, job{Op: "build", Kind: k, Dir: filepath.Join(dir, k)})
	}
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := cases[name]
		j := job{Op: c.op, Model: filepath.Join(dir, c.kind)}
		spec := c.pySpec
		if spec == "" {
			spec = c.spec
		}
		if c.op == "ort" {
			j.Model = filepath.Join(dir, c.kind, "model.onnx")
			var s struct {
				Tensors json.RawMessage `json:"tensors"`
			}
			if err := json.Unmarshal([]byte(spec), &s); err != nil {
				return fmt.Errorf("case %s: %w", name, err)
			}
			j.Feeds = s.Tensors
		} else {
			j.Input = json.RawMessage(spec)
		}
		jobs = append(jobs, j)
	}
	raw, err := json.Marshal(jobs)
	if err != nil {
		return err
	}
	jobsPath := filepath.Join(dir, "jobs.json")
	if err := os.WriteFile(jobsPath, raw, 0o600); err != nil {
		return err
	}
	cmd := exec.Command(py, script, "batch", jobsPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("interop/models.py batch: %w\n%s", err, tail(stderr.String(), 4000))
	}
	var results []jobResult
	if err := json.Unmarshal(out, &results); err != nil {
		return fmt.Errorf("interop/models.py batch output: %w", err)
	}
	if len(results) != len(jobs) {
		return fmt.Errorf("interop/models.py batch: %d results for %d jobs", len(results), len(jobs))
	}
	for i, k := range onnxKinds {
		if results[i].Error != "" {
			return fmt.Errorf("building %s: %s", k, results[i].Error)
		}
	}
	fixture.expected = map[string]jobResult{}
	for i, name := range names {
		fixture.expected[name] = results[len(onnxKinds)+i]
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		_ = os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// ---------------------------------------------------------------- inputs

// decodeInput turns the models.py input encoding into a flavors.Input.
func decodeInput(t testing.TB, spec string) *flavors.Input {
	t.Helper()
	var s struct {
		Frame *struct {
			Columns []string `json:"columns"`
			Data    [][]any  `json:"data"`
		} `json:"frame"`
		Tensors map[string]json.RawMessage `json:"tensors"`
		Tensor  json.RawMessage            `json:"tensor"`
	}
	dec := json.NewDecoder(strings.NewReader(spec))
	dec.UseNumber()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("bad spec %s: %v", spec, err)
	}
	switch {
	case s.Frame != nil:
		f := &flavors.Frame{Columns: s.Frame.Columns, Data: make([][]any, len(s.Frame.Columns))}
		for _, row := range s.Frame.Data {
			for c, v := range row {
				if n, ok := v.(json.Number); ok {
					if strings.ContainsAny(n.String(), ".eE") {
						v, _ = n.Float64()
					} else {
						v, _ = n.Int64()
					}
				}
				f.Data[c] = append(f.Data[c], v)
			}
		}
		return &flavors.Input{Frame: f}
	case s.Tensors != nil:
		in := &flavors.Input{Tensors: map[string]*flavors.Tensor{}}
		for k, v := range s.Tensors {
			in.Tensors[k] = decodeTensor(t, v)
		}
		return in
	default:
		return &flavors.Input{Tensor: decodeTensor(t, s.Tensor)}
	}
}

func decodeTensor(t testing.TB, raw json.RawMessage) *flavors.Tensor {
	t.Helper()
	var tj struct {
		DType string  `json:"dtype"`
		Shape []int64 `json:"shape"`
		Data  []any   `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&tj); err != nil {
		t.Fatal(err)
	}
	num := func(v any) float64 {
		f, err := v.(json.Number).Float64()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	d := flavors.DType(tj.DType)
	var data any
	switch d {
	case flavors.Float16, flavors.Float32:
		data = conv(tj.Data, func(v any) float32 { return float32(num(v)) })
	case flavors.Float64:
		data = conv(tj.Data, num)
	case flavors.Int8:
		data = conv(tj.Data, func(v any) int8 { return int8(num(v)) })
	case flavors.Int16:
		data = conv(tj.Data, func(v any) int16 { return int16(num(v)) })
	case flavors.Int32:
		data = conv(tj.Data, func(v any) int32 { return int32(num(v)) })
	case flavors.Int64:
		data = conv(tj.Data, func(v any) int64 { return int64(num(v)) })
	case flavors.Uint8:
		data = conv(tj.Data, func(v any) uint8 { return uint8(num(v)) })
	case flavors.Uint16:
		data = conv(tj.Data, func(v any) uint16 { return uint16(num(v)) })
	case flavors.Uint32:
		data = conv(tj.Data, func(v any) uint32 { return uint32(num(v)) })
	case flavors.Uint64:
		data = conv(tj.Data, func(v any) uint64 { return uint64(num(v)) })
	case flavors.Bool:
		data = conv(tj.Data, func(v any) bool { return v.(bool) })
	case flavors.String, "object":
		d = flavors.String
		data = conv(tj.Data, func(v any) string { return v.(string) })
	default:
		t.Fatalf("dtype %q", d)
	}
	return &flavors.Tensor{DType: d, Shape: tj.Shape, Data: data}
}

func conv[T any](in []any, f func(any) T) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// ---------------------------------------------------------------- compare

// compareOutput checks got against the models.py encoding of Python's result.
func compareOutput(t *testing.T, got *flavors.Output, want json.RawMessage) {
	t.Helper()
	var w struct {
		Frame *struct {
			Columns []string `json:"columns"`
			Data    [][]any  `json:"data"`
		} `json:"frame"`
		Tensors map[string]json.RawMessage `json:"tensors"`
		Order   []string                   `json:"order"`
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	switch {
	case w.Frame != nil:
		if got.Frame == nil {
			t.Fatalf("got %+v, want a frame", got)
		}
		if fmt.Sprint(got.Frame.Columns) != fmt.Sprint(w.Frame.Columns) {
			t.Fatalf("columns %v, want %v", got.Frame.Columns, w.Frame.Columns)
		}
		for c := range w.Frame.Data {
			if err := near(got.Frame.Data[c], w.Frame.Data[c]); err != nil {
				t.Errorf("column %q: %v", w.Frame.Columns[c], err)
			}
		}
	case w.Tensors != nil:
		if got.Tensors == nil {
			t.Fatalf("got %+v, want tensors", got)
		}
		if fmt.Sprint(got.Order) != fmt.Sprint(w.Order) {
			t.Errorf("order %v, want %v", got.Order, w.Order)
		}
		for name, raw := range w.Tensors {
			g := got.Tensors[name]
			if g == nil {
				t.Errorf("output %q missing", name)
				continue
			}
			var wt struct {
				DType    string  `json:"dtype"`
				Shape    []int64 `json:"shape"`
				Data     []any   `json:"data"`
				Sequence []any   `json:"sequence"`
			}
			if err := json.Unmarshal(raw, &wt); err != nil {
				t.Fatal(err)
			}
			if wt.Sequence != nil {
				if g.DType != flavors.Object {
					t.Errorf("output %q: dtype %s, want a sequence (object)", name, g.DType)
				}
				if err := near(flatten(g), wt.Sequence); err != nil {
					t.Errorf("output %q: %v", name, err)
				}
				continue
			}
			if string(g.DType) != wt.DType {
				t.Errorf("output %q: dtype %s, want %s", name, g.DType, wt.DType)
			}
			if fmt.Sprint(g.Shape) != fmt.Sprint(wt.Shape) {
				t.Errorf("output %q: shape %v, want %v", name, g.Shape, wt.Shape)
			}
			if err := near(flatten(g), wt.Data); err != nil {
				t.Errorf("output %q: %v", name, err)
			}
		}
	default:
		t.Fatalf("unexpected python result %s", want)
	}
}

// near compares values: numbers within float32 tolerance, maps by key,
// lists element-wise, everything else exactly.
func near(got, want any) error {
	switch w := want.(type) {
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("got %T, want a list", got)
		}
		if len(g) != len(w) {
			return fmt.Errorf("got %d values, want %d", len(g), len(w))
		}
		for i := range w {
			if err := near(g[i], w[i]); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	case map[string]any:
		fm, ok := got.(flavors.Map)
		if !ok {
			return fmt.Errorf("got %T, want a flavors.Map", got)
		}
		g := make(map[string]any, len(fm.Keys))
		for i, k := range fm.Keys {
			g[k] = fm.Values[i]
		}
		if len(g) != len(w) {
			return fmt.Errorf("got %d keys, want %d", len(g), len(w))
		}
		for k := range w {
			if err := near(g[k], w[k]); err != nil {
				return fmt.Errorf("[%q]: %w", k, err)
			}
		}
		return nil
	case float64:
		g, ok := toFloat(got)
		if !ok {
			if _, bad := got.(bool); bad {
				return fmt.Errorf("got %v (%T), want number %v", got, got, w)
			}
			if _, err := fmt.Sscan(fmt.Sprint(got), &g); err != nil {
				return fmt.Errorf("got %v (%T), want number %v", got, got, w)
			}
		}
		switch got.(type) {
		case int8, int16, int32, int64, uint8, uint16, uint32, uint64:
			if g != w {
				return fmt.Errorf("got integer %v, want %v", got, w)
			}
			return nil
		}
		if math.IsNaN(w) && math.IsNaN(g) {
			return nil
		}
		if math.Abs(g-w) > 1e-5+1e-4*math.Abs(w) {
			return fmt.Errorf("got %v, want %v", g, w)
		}
		return nil
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("got %v (%T), want %v (%T)", got, got, want, want)
	}
	return nil
}
