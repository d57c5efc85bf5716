//go:build integration

package pyfunc

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/flavors"
)

// slowPath predicts in through the 'P' frame (an /invocations body parsed
// by MLflow's scoring server), whatever the predictor would choose.
func slowPath(t *testing.T, p *predictor, in *flavors.Input) (*flavors.Output, error) {
	t.Helper()
	body, err := encodeRequest(in, p.hinted)
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.pool.predict(context.Background(), framePredict, body)
	if err != nil {
		t.Fatal(err)
	}
	return decodeAnswer(f)
}

// TestBatchFrameEqualsScoringServer: the decoded batch frame gives the
// model the same pandas DataFrame (dtypes, values, index) as MLflow's
// parsing of the same request, for every scalar column type, and the
// same answers (errors included) for the test models.
func TestBatchFrameEqualsScoringServer(t *testing.T) {
	f := testFlavor(t)
	t.Run("dtypes", func(t *testing.T) {
		p := load(t, f, "dtypes", 1, nil)
		if p.fast == nil {
			t.Fatal("a scalar column signature must use the batch frame")
		}
		cols := []string{"a", "b", "c", "d", "e", "f"}
		types := []string{"float", "long", "integer", "boolean", "string", "double"}
		cases := []frameCase{
			{columns: cols, types: types, rows: [][]any{{float32(1.5), int64(1), int32(2), true, "x", 0.1}}},
			{columns: cols, types: types, rows: [][]any{
				{float32(0.1), int64(math.MaxInt64), int32(math.MinInt32), false, "é\"\n", math.NaN()},
				{float32(math.Inf(1)), int64(-3), int32(0), true, "", math.Inf(-1)},
				{float32(3.4e38), int64(1 << 53), int32(7), false, "日本", 1e-300},
			}},
		}
		for i, c := range cases {
			in := c.input()
			if !p.fast.fits(in) {
				t.Fatalf("case %d does not fit the batch frame", i)
			}
			fast, err := p.Predict(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := slowPath(t, p, in)
			if err != nil {
				t.Fatal(err)
			}
			if string(fast.JSON) != string(slow.JSON) {
				t.Fatalf("case %d: batch frame gave\n%s\nthe scoring server path gave\n%s", i, fast.JSON, slow.JSON)
			}
			if !strings.Contains(string(fast.JSON), `"float32"`) || !strings.Contains(string(fast.JSON), `"int32"`) {
				t.Fatalf("case %d: unexpected dtypes %s", i, fast.JSON)
			}
		}
	})
	t.Run("models", func(t *testing.T) {
		for _, tc := range []struct {
			model string
			cases []frameCase
		}{
			{"sklearn_pipeline", []frameCase{
				{columns: []string{"x1", "x2", "color"}, types: []string{"double", "double", "string"},
					rows: [][]any{{0.1, -0.3, "red"}, {1.2, 0.4, "blue"}, {-0.5, 0.9, "green"}}},
				{columns: []string{"x1", "x2", "color"}, types: []string{"double", "double", "string"},
					rows: [][]any{{math.NaN(), 0.0, "purple"}}},
			}},
			{"custom_pyfunc", []frameCase{
				{columns: []string{"x"}, types: []string{"double"}, rows: [][]any{{1.0}, {3.0}},
					params: map[string]any{"scale": 10.0, "offset": 1.0, "label": "p"}},
				{columns: []string{"x"}, types: []string{"double"}, rows: [][]any{{1.0}},
					params: map[string]any{"scale": "big"}},
			}},
		} {
			t.Run(tc.model, func(t *testing.T) {
				p := load(t, f, tc.model, 1, nil)
				for i, c := range tc.cases {
					in := c.input()
					if !p.fast.fits(in) {
						t.Fatalf("case %d does not fit the batch frame", i)
					}
					fast, ferr := p.Predict(context.Background(), in)
					slow, serr := slowPath(t, p, in)
					sameAnswer(t, tc.model, fast, ferr, slow, serr)
				}
			})
		}
	})
}

// sameAnswer fails t unless both answers are the same output or the same
// MLflow error (code and message; stack traces differ in line numbers).
func sameAnswer(t *testing.T, what string, a *flavors.Output, aerr error, b *flavors.Output, berr error) {
	t.Helper()
	if (aerr == nil) != (berr == nil) {
		t.Fatalf("%s: %v / %v", what, aerr, berr)
	}
	if aerr != nil {
		var wa, wb *WorkerError
		if !errors.As(aerr, &wa) || !errors.As(berr, &wb) {
			t.Fatalf("%s: want worker errors, got %v / %v", what, aerr, berr)
		}
		if wa.Code != wb.Code || wa.Message != wb.Message {
			t.Fatalf("%s: errors differ:\n%s %s\n%s %s", what, wa.Code, wa.Message, wb.Code, wb.Message)
		}
		return
	}
	if string(a.JSON) != string(b.JSON) {
		t.Fatalf("%s: answers differ:\n%s\n%s", what, a.JSON, b.JSON)
	}
}

func xs(vals ...float64) *flavors.Input {
	rows := make([][]any, len(vals))
	for i, v := range vals {
		rows[i] = []any{v}
	}
	return frameCase{columns: []string{"x"}, types: []string{"double"}, rows: rows}.input()
}

// TestPredictMany: a batch of inputs gives the answers of single calls, a
// bad input fails only itself, an output that cannot be split falls back
// to one prediction per input, and inputs that cannot travel together are
// refused as a whole (the server then predicts them one by one).
func TestPredictMany(t *testing.T) {
	f := testFlavor(t)
	t.Run("sklearn_pipeline", func(t *testing.T) {
		p := load(t, f, "sklearn_pipeline", 1, nil)
		if !p.CanBatch() {
			t.Fatal("an sklearn model with a column signature must batch")
		}
		cols, types := []string{"x1", "x2", "color"}, []string{"double", "double", "string"}
		cases := []frameCase{
			{columns: cols, types: types, rows: [][]any{{0.1, -0.3, "red"}, {1.2, 0.4, "blue"}}},
			{columns: cols, types: types, rows: [][]any{{-0.5, 0.9, "green"}}},
			{columns: cols, types: types, rows: [][]any{{2.5, 1e-7, "purple"}, {0.0, 0.0, "red"}, {9.0, -9.0, "blue"}}},
		}
		ins := make([]*flavors.Input, len(cases))
		specs := make([]map[string]any, len(cases))
		for i, c := range cases {
			ins[i], specs[i] = c.input(), c.spec()
		}
		want := mlflowPredict(t, filepath.Join(testModels(t), "sklearn_pipeline"), specs)
		outs, errs, err := p.PredictMany(context.Background(), ins)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ins {
			if errs[i] != nil {
				t.Fatalf("input %d: %v", i, errs[i])
			}
			single, err := p.Predict(context.Background(), ins[i])
			if err != nil {
				t.Fatal(err)
			}
			if string(outs[i].JSON) != string(single.JSON) {
				t.Fatalf("input %d: batch answer %s, single answer %s", i, outs[i].JSON, single.JSON)
			}
			sameJSON(t, outs[i].JSON, want[i])
		}
	})
	t.Run("unsplittable_output", func(t *testing.T) {
		p := load(t, f, "summer", 1, map[string]string{ExtraBatch: "true"})
		outs, errs, err := p.PredictMany(context.Background(), []*flavors.Input{xs(1, 2), xs(10), xs(0.5, 0.25, 0.125)})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"[3.0]", "[10.0]", "[0.875]"} {
			if errs[i] != nil || string(outs[i].JSON) != want {
				t.Fatalf("input %d: %v %v, want %s", i, outs[i], errs[i], want)
			}
		}
	})
	t.Run("picky", func(t *testing.T) {
		p := load(t, f, "picky", 1, map[string]string{ExtraBatch: "true"})
		t.Run("bad_input_fails_alone", func(t *testing.T) {
			ins := []*flavors.Input{xs(1, 2), xs(-1), xs(3)}
			outs, errs, err := p.PredictMany(context.Background(), ins)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []string{`[{"y": 2.0}, {"y": 3.0}]`, "", `[{"y": 4.0}]`} {
				if want == "" {
					single, serr := p.Predict(context.Background(), ins[i])
					sameAnswer(t, "bad input", outs[i], errs[i], single, serr)
					slow, slowErr := slowPath(t, p, ins[i])
					sameAnswer(t, "bad input, scoring server path", outs[i], errs[i], slow, slowErr)
					if !errors.Is(errs[i], flavors.ErrBadInput) || !strings.Contains(errs[i].Error(), "unexpected error while evaluating the model") {
						t.Fatalf("input %d: want the model's BAD_REQUEST, got %v", i, errs[i])
					}
					continue
				}
				if errs[i] != nil || string(outs[i].JSON) != want {
					t.Fatalf("input %d: %v %v, want %s", i, outs[i], errs[i], want)
				}
			}
		})
		t.Run("refused", func(t *testing.T) {
			withParams := xs(1)
			withParams.Params = map[string]any{"k": 1.0}
			other := frameCase{columns: []string{"z"}, types: []string{"double"}, rows: [][]any{{1.0}}}.input()
			for name, ins := range map[string][]*flavors.Input{
				"params": {xs(1), withParams}, "other_columns": {xs(1), other}, "empty": nil,
			} {
				if _, _, err := p.PredictMany(context.Background(), ins); !errors.Is(err, errNoBatch) {
					t.Fatalf("%s: want errNoBatch, got %v", name, err)
				}
			}
			// A predictor that cannot batch refuses before any worker call.
			nb := &predictor{pool: p.pool, fast: p.fast}
			if _, _, err := nb.PredictMany(context.Background(), []*flavors.Input{xs(1)}); !errors.Is(err, errNoBatch) {
				t.Fatalf("a predictor that cannot batch: want errNoBatch, got %v", err)
			}
		})
	})
}
