package flavortest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// Harness describes one model to put through the conformance checks.
type Harness struct {
	// Flavor is the implementation under test.
	Flavor flavors.Flavor
	// Dir is the model folder; Model its parsed MLmodel (read from Dir when nil).
	Dir   string
	Model *pkgformat.Model
	// Options are passed to Load.
	Options flavors.LoadOptions
	// Input is a valid input, usually the model's input example.
	Input *flavors.Input
	// Check, when set, verifies the output of Input (values, not just shape).
	Check func(t *testing.T, out *flavors.Output)
	// Goroutines and Iterations size the concurrent phase (defaults 8 and 4).
	Goroutines, Iterations int
	// Deterministic says that repeated predictions of Input are identical
	// (checked with reflect.DeepEqual in the concurrent phase).
	Deterministic bool
	// LoadTimeout bounds Load (default one minute).
	LoadTimeout time.Duration
}

// Run loads the model and checks the Predictor contract: a prediction on
// Input returns exactly one kind of output; concurrent predictions all
// succeed (run it under -race); Close twice returns nil the second time;
// Predict after Close fails with an error (no panic). It returns nothing:
// failures are reported on t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Flavor == nil || h.Input == nil {
		t.Fatal("flavortest: Harness needs Flavor and Input")
	}
	m := h.Model
	if m == nil {
		var err error
		if m, err = pkgformat.ReadModel(h.Dir); err != nil {
			t.Fatalf("flavortest: reading MLmodel: %v", err)
		}
	}
	if _, ok := m.Flavor(h.Flavor.Name()); !ok {
		t.Fatalf("flavortest: model in %s has no %q flavor", h.Dir, h.Flavor.Name())
	}
	timeout := h.LoadTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	p, err := h.Flavor.Load(ctx, h.Dir, m, h.Options)
	if err != nil {
		t.Fatalf("flavortest: Load: %v", err)
	}
	if p == nil {
		t.Fatal("flavortest: Load returned a nil Predictor and no error")
	}
	closed := false
	defer func() {
		if !closed {
			_ = p.Close()
		}
	}()

	first := predictOK(t, p, h.Input, "first Predict")
	if h.Check != nil {
		h.Check(t, first)
	}
	checkCapabilities(t, p)
	concurrent(t, p, h, first)

	if err := p.Close(); err != nil {
		t.Errorf("flavortest: Close: %v", err)
	}
	closed = true
	if err := p.Close(); err != nil {
		t.Errorf("flavortest: second Close: %v, want nil (Close is idempotent)", err)
	}
	out, err := predictNoPanic(p, h.Input)
	if err == nil {
		t.Errorf("flavortest: Predict after Close returned %v and no error", out)
	}
}

// predictOK predicts and checks that exactly one output field is set.
func predictOK(t *testing.T, p flavors.Predictor, in *flavors.Input, what string) *flavors.Output {
	t.Helper()
	out, err := predictNoPanic(p, in)
	if err != nil {
		t.Fatalf("flavortest: %s: %v", what, err)
	}
	if out == nil {
		t.Fatalf("flavortest: %s returned a nil Output and no error", what)
	}
	if n := countSet(out); n != 1 {
		t.Fatalf("flavortest: %s: %d of Output's fields are set, want exactly 1: %+v", what, n, out)
	}
	if out.Tensors != nil {
		if len(out.Order) != len(out.Tensors) {
			t.Errorf("flavortest: %s: Order %v does not list the %d tensors", what, out.Order, len(out.Tensors))
		}
		for _, k := range out.Order {
			if out.Tensors[k] == nil {
				t.Errorf("flavortest: %s: Order names %q, which is not in Tensors", what, k)
			}
		}
	}
	if f := out.Frame; f != nil {
		if len(f.Columns) != len(f.Data) {
			t.Errorf("flavortest: %s: frame has %d names for %d columns", what, len(f.Columns), len(f.Data))
		}
		for c := range f.Data {
			if len(f.Data[c]) != f.Rows() {
				t.Errorf("flavortest: %s: frame column %d has %d rows, want %d", what, c, len(f.Data[c]), f.Rows())
			}
		}
	}
	return out
}

func countSet(o *flavors.Output) int {
	n := 0
	for _, set := range []bool{o.Frame != nil, o.Tensors != nil, o.Tensor != nil, o.JSON != nil} {
		if set {
			n++
		}
	}
	return n
}

// predictNoPanic turns a panic into an error, so that the harness reports it.
func predictNoPanic(p flavors.Predictor, in *flavors.Input) (out *flavors.Output, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError{r}
		}
	}()
	return p.Predict(context.Background(), in)
}

type panicError struct{ v any }

func (e panicError) Error() string { return fmt.Sprint("panic: ", e.v) }

func checkCapabilities(t *testing.T, p flavors.Predictor) {
	t.Helper()
	if d, ok := p.(flavors.Describer); ok {
		md := d.Describe()
		if len(md.Inputs) == 0 {
			t.Errorf("flavortest: Describe lists no inputs")
		}
		for _, tm := range append(append([]flavors.TensorMeta{}, md.Inputs...), md.Outputs...) {
			if tm.DType == "" {
				t.Errorf("flavortest: Describe: %q has no dtype", tm.Name)
			}
		}
	}
	if b, ok := p.(flavors.Batcher); ok {
		_ = b.CanBatch() // must not panic
	}
}

func concurrent(t *testing.T, p flavors.Predictor, h Harness, first *flavors.Output) {
	t.Helper()
	g, n := h.Goroutines, h.Iterations
	if g == 0 {
		g = 8
	}
	if n == 0 {
		n = 4
	}
	var wg sync.WaitGroup
	errs := make(chan error, g*n)
	for range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				out, err := predictNoPanic(p, h.Input)
				if err != nil {
					errs <- err
					return
				}
				if h.Deterministic && !reflect.DeepEqual(out, first) {
					errs <- errors.New("a concurrent prediction differs from the first one")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("flavortest: concurrent Predict: %v", err)
	}
}
