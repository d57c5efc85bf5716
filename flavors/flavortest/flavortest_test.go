package flavortest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// echo is a minimal well-behaved flavor: it returns its input tensor.
type echo struct{}

func (echo) Name() string { return "echo" }

func (echo) Load(context.Context, string, *pkgformat.Model, flavors.LoadOptions) (flavors.Predictor, error) {
	return &echoPredictor{}, nil
}

type echoPredictor struct {
	mu     sync.RWMutex
	closed bool
	calls  int
}

func (p *echoPredictor) Predict(_ context.Context, in *flavors.Input) (*flavors.Output, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, flavors.ErrUnavailable
	}
	if in.Tensor == nil {
		return nil, flavors.ErrBadInput
	}
	p.calls++
	return &flavors.Output{Tensor: in.Tensor}, nil
}

func (p *echoPredictor) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

func TestRunAcceptsAConformingFlavor(t *testing.T) {
	in := &flavors.Input{Tensor: &flavors.Tensor{DType: flavors.Float32, Shape: []int64{2}, Data: []float32{1, 2}}}
	checked := false
	Run(t, Harness{
		Flavor:        echo{},
		Dir:           t.TempDir(),
		Model:         &pkgformat.Model{Flavors: map[string]map[string]any{"echo": {}}},
		Input:         in,
		Deterministic: true,
		Check: func(t *testing.T, out *flavors.Output) {
			checked = true
			if out.Tensor != in.Tensor {
				t.Errorf("echo returned %+v", out)
			}
		},
	})
	if !checked {
		t.Error("Check was not called")
	}
}

func TestPredictNoPanicReportsPanics(t *testing.T) {
	_, err := predictNoPanic(panicky{}, &flavors.Input{})
	var pe panicError
	if !errors.As(err, &pe) || err.Error() != "panic: boom" {
		t.Fatalf("err = %v", err)
	}
}

type panicky struct{}

func (panicky) Predict(context.Context, *flavors.Input) (*flavors.Output, error) { panic("boom") }
func (panicky) Close() error                                                     { return nil }
