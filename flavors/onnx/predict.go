//go:build cgo

package onnx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/mlgate/mlgate/flavors"
)

// ErrClosed is returned by Predict after Close; it wraps flavors.ErrUnavailable.
var ErrClosed = fmt.Errorf("%w: the ONNX model was closed", flavors.ErrUnavailable)

// Predictor runs one ONNX Runtime session. ORT sessions are safe for
// concurrent Run calls; the lock only keeps Close from freeing the session
// under a running Predict.
type Predictor struct {
	mu      sync.RWMutex
	sess    *ort.DynamicAdvancedSession
	inputs  []ioInfo
	outputs []ioInfo
	shapes  outputShapes
	bind    bindings
	opts    runOptsPool
}

// Predict maps in onto the session inputs (see buildFeeds), runs the
// session and shapes the outputs as mlflow.onnx does. Input errors, ORT's
// included, wrap flavors.ErrBadInput. Cancelling ctx terminates the run.
func (p *Predictor) Predict(ctx context.Context, in *flavors.Input) (*flavors.Output, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.sess == nil {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	feeds, err := buildFeeds(in, p.inputs)
	if err != nil {
		return nil, err
	}
	if out, done, err := p.predictBound(ctx, in, feeds); done {
		return out, err
	}
	ins := make([]ort.Value, len(p.inputs))
	outs := make([]ort.Value, len(p.outputs))
	defer func() {
		for _, v := range append(ins, outs...) {
			if v != nil {
				_ = v.Destroy()
			}
		}
	}()
	for i, info := range p.inputs {
		if ins[i], err = toValue(info.Name, feeds[info.Name]); err != nil {
			if !errors.Is(err, flavors.ErrBadInput) {
				err = badInput("input %q: %v", info.Name, err)
			}
			return nil, err
		}
	}
	if err := p.allocFloat16(outs, feeds); err != nil {
		return nil, err
	}
	if err := p.runSized(ctx, ins, outs, feeds); err != nil {
		return nil, err
	}
	res := make([]*flavors.Tensor, len(outs))
	for i, v := range outs {
		if res[i], err = fromValue(v); err != nil {
			return nil, fmt.Errorf("output %q: %w", p.outputs[i].Name, err)
		}
	}
	return shapeOutput(in.Frame != nil, inputNames(p.outputs), res)
}

// run calls ORT, terminating the run when ctx is cancelled.
func (p *Predictor) run(ctx context.Context, ins, outs []ort.Value) error {
	err := p.opts.cancellable(ctx, func(o *ort.RunOptions) error {
		return p.sess.RunWithOptions(ins, outs, o)
	})
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("onnx: run cancelled: %w", cerr)
	}
	return &inputError{msg: pythonORTMessage(strings.TrimPrefix(err.Error(), "Error running network: "))}
}

// invalidArgument lists the starts of ORT's INVALID_ARGUMENT messages
// about feeds (onnxruntime_go drops the status code).
var invalidArgument = []string{
	"Invalid input name", "Unexpected input data type", "Got invalid dimensions", "Invalid rank",
}

// pythonORTMessage formats an ORT message about the feeds as
// onnxruntime-python's exception reads, so that the text mlgate quotes in a
// 400 answer is the one mlflow quotes.
func pythonORTMessage(msg string) string {
	for _, p := range invalidArgument {
		if strings.HasPrefix(msg, p) {
			return "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : " + msg
		}
	}
	if strings.HasPrefix(msg, "Non-zero status code returned while running") {
		return "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : " + msg
	}
	return msg
}

// allocFloat16 preallocates float16 tensor outputs: onnxruntime_go cannot
// copy an ORT-allocated float16 output. The shape is the declared one, its
// free first axis taken from the first input's first axis.
func (p *Predictor) allocFloat16(outs []ort.Value, feeds map[string]*flavors.Tensor) error {
	for i, o := range p.outputs {
		if o.Kind != kindTensor || o.Elem != flavors.Float16 {
			continue
		}
		shape := append(ort.Shape{}, o.Dims...)
		n := int64(1)
		for ax, d := range shape {
			if d < 0 {
				first := feeds[p.inputs[0].Name]
				if ax != 0 || len(first.Shape) == 0 {
					return fmt.Errorf("onnx: float16 output %q has a free axis %d that mlgate cannot size before the run", o.Name, ax)
				}
				shape[ax] = first.Shape[0]
			}
			n *= shape[ax]
		}
		if n == 0 {
			return badInput("output %q would be an empty float16 tensor", o.Name)
		}
		v, err := ort.NewCustomDataTensor(shape, make([]byte, 2*n), ort.TensorElementDataTypeFloat16)
		if err != nil {
			return err
		}
		outs[i] = v
	}
	return nil
}

// CanBatch reports whether every input and tensor output has a free first
// axis, so that requests can be concatenated and results split by row.
func (p *Predictor) CanBatch() bool {
	for _, in := range p.inputs {
		if in.Kind != kindTensor || len(in.Dims) == 0 || in.Dims[0] != -1 {
			return false
		}
	}
	for _, o := range p.outputs {
		switch {
		case o.Kind == kindSequence:
		case o.Kind == kindTensor && len(o.Dims) > 0 && o.Dims[0] == -1:
		default:
			return false
		}
	}
	return true
}

// Describe lists the session's inputs and outputs; sequences and maps are
// Object with shape [-1].
func (p *Predictor) Describe() flavors.Metadata {
	conv := func(infos []ioInfo) []flavors.TensorMeta {
		out := make([]flavors.TensorMeta, len(infos))
		for i, in := range infos {
			if in.Kind == kindTensor {
				out[i] = flavors.TensorMeta{Name: in.Name, DType: in.Elem, Shape: append([]int64{}, in.Dims...)}
			} else {
				out[i] = flavors.TensorMeta{Name: in.Name, DType: flavors.Object, Shape: []int64{-1}}
			}
		}
		return out
	}
	return flavors.Metadata{Inputs: conv(p.inputs), Outputs: conv(p.outputs)}
}

// Close frees the session after running Predicts return. It is idempotent.
func (p *Predictor) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sess == nil {
		return nil
	}
	p.bind.drain()
	p.opts.drain()
	err := p.sess.Destroy()
	p.sess = nil
	return err
}

var (
	_ flavors.Predictor = (*Predictor)(nil)
	_ flavors.Batcher   = (*Predictor)(nil)
	_ flavors.Describer = (*Predictor)(nil)
)
