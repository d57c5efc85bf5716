//go:build integration

package pyfunc

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlgate/mlgate/flavors"
)

// frameCase is one DataFrame request: rows, with Go-typed cells as the
// serve layer hands them over.
type frameCase struct {
	name    string
	columns []string
	types   []string
	rows    [][]any
	params  map[string]any
}

func (c frameCase) input() *flavors.Input {
	f := &flavors.Frame{Columns: c.columns, Types: c.types, Data: make([][]any, len(c.columns))}
	for _, r := range c.rows {
		for j, v := range r {
			f.Data[j] = append(f.Data[j], v)
		}
	}
	return &flavors.Input{Frame: f, Params: c.params}
}

func (c frameCase) spec() map[string]any {
	s := map[string]any{"frame": map[string]any{"columns": c.columns, "types": c.types, "data": c.rows}}
	if c.params != nil {
		s["params"] = c.params
	}
	return s
}

func TestPredictionsEqualMLflow(t *testing.T) {
	f := testFlavor(t)
	tests := []struct {
		model string
		cases []frameCase
	}{
		{"sklearn_pipeline", []frameCase{
			{name: "three_rows", columns: []string{"x1", "x2", "color"}, types: []string{"double", "double", "string"},
				rows: [][]any{{0.1, -0.3, "red"}, {1.2, 0.4, "blue"}, {-0.5, 0.9, "green"}}},
			{name: "unknown_category", columns: []string{"x1", "x2", "color"}, types: []string{"double", "double", "string"},
				rows: [][]any{{2.5, 1e-7, "purple"}}},
		}},
		{"custom_pyfunc", []frameCase{
			{name: "defaults", columns: []string{"x"}, types: []string{"double"}, rows: [][]any{{1.0}, {3.0}}},
			{name: "params", columns: []string{"x"}, types: []string{"double"}, rows: [][]any{{1.0}, {3.0}},
				params: map[string]any{"scale": 10.0, "offset": 1.0, "label": "p"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			p := load(t, f, tc.model, 1, nil)
			specs := make([]map[string]any, len(tc.cases))
			for i, c := range tc.cases {
				specs[i] = c.spec()
			}
			want := mlflowPredict(t, filepath.Join(testModels(t), tc.model), specs)
			if tc.model == "custom_pyfunc" {
				t.Run("errors", func(t *testing.T) { checkModelErrors(t, p) })
			}
			for i, c := range tc.cases {
				t.Run(c.name, func(t *testing.T) {
					out, err := p.Predict(context.Background(), c.input())
					if err != nil {
						t.Fatal(err)
					}
					sameJSON(t, out.JSON, want[i])
				})
			}
		})
	}
	t.Run("tensor_sig", func(t *testing.T) {
		p := load(t, f, "tensor_sig", 1, nil)
		data := []float32{0, 1, 2, 3, 4, 5, 6, 7.5}
		want := mlflowPredict(t, filepath.Join(testModels(t), "tensor_sig"), []map[string]any{
			{"tensors": map[string]any{"x": map[string]any{"dtype": "float32", "data": [][][]float32{{{0, 1, 2, 3}, {4, 5, 6, 7.5}}}}}},
		})
		in := &flavors.Input{Tensors: map[string]*flavors.Tensor{"x": {DType: flavors.Float32, Shape: []int64{1, 2, 4}, Data: data}}}
		out, err := p.Predict(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, out.JSON, want[0])
		// The single unnamed tensor form gives the same answer.
		out, err = p.Predict(context.Background(), &flavors.Input{Tensor: in.Tensors["x"]})
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, out.JSON, want[0])
	})
}

func TestTypeHintedModelGetsRawInputs(t *testing.T) {
	p := load(t, testFlavor(t), "hinted", 1, nil)
	if !p.hinted {
		t.Fatal("the model's signature comes from type hints but the predictor does not know")
	}
	want := mlflowPredict(t, filepath.Join(testModels(t), "hinted"), []map[string]any{
		{"raw": []string{"ab", "c"}},
		{"raw": []string{"x"}, "params": map[string]any{"suffix": "!"}},
	})
	for i, in := range []*flavors.Input{
		{Raw: []byte(`["ab", "c"]`)},
		{Raw: []byte(`["x"]`), Params: map[string]any{"suffix": "!"}},
	} {
		out, err := p.Predict(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, out.JSON, want[i])
	}
}

func sleepy(sec float64) *flavors.Input {
	return frameCase{columns: []string{"x"}, types: []string{"double"}, rows: [][]any{{1.0}}, params: map[string]any{"sleep": sec}}.input()
}

func TestLeastBusyUsesEveryWorker(t *testing.T) {
	p := load(t, testFlavor(t), "sleepy", 2, nil)
	if n := len(workerPIDs(p)); n != 2 {
		t.Fatalf("%d workers, want 2", n)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := p.Predict(context.Background(), sleepy(0.5))
			if err == nil && string(out.JSON) != `[{"y": 2.0}]` {
				err = errors.New("unexpected answer " + string(out.JSON))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Four 0.5 s requests on two workers take about 1 s, not 2 s.
	if d := time.Since(start); d > 1800*time.Millisecond {
		t.Fatalf("4 requests took %s on 2 workers: requests were not spread", d)
	}
}

// checkModelErrors checks that custom_pyfunc's errors are MLflow errors.
func checkModelErrors(t *testing.T, p *predictor) {
	cases := []struct {
		name string
		in   *flavors.Input
		code string
		msg  string
	}{
		{"bad_param_type", frameCase{columns: []string{"x"}, types: []string{"double"}, rows: [][]any{{1.0}}, params: map[string]any{"scale": "big"}}.input(),
			"INVALID_PARAMETER_VALUE", "scale"},
		{"missing_column", frameCase{columns: []string{"z"}, types: []string{"double"}, rows: [][]any{{1.0}}}.input(),
			"INVALID_PARAMETER_VALUE", "missing inputs ['x']"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := p.Predict(context.Background(), c.in)
			var we *WorkerError
			if !errors.As(err, &we) {
				t.Fatalf("want a WorkerError, got %T %v", err, err)
			}
			if we.ErrorCode() != c.code || !strings.Contains(we.Message, c.msg) {
				t.Fatalf("got %s %q, want code %s mentioning %q", we.ErrorCode(), we.Message, c.code, c.msg)
			}
			if !errors.Is(err, flavors.ErrBadInput) {
				t.Fatal("a 4xx worker error must match flavors.ErrBadInput")
			}
		})
	}
	// The worker is still usable after errors.
	if _, err := p.Predict(context.Background(), frameCase{columns: []string{"x"}, types: []string{"double"}, rows: [][]any{{1.0}}}.input()); err != nil {
		t.Fatal(err)
	}
}
