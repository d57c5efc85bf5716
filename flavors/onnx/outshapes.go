//go:build cgo

package onnx

import (
	"context"
	"strconv"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/mlgate/mlgate/flavors"
)

// outputShapes remembers, per combination of input shapes, the shapes of
// a model's outputs, so that later runs hand ORT output tensors allocated
// in Go: the answer is read straight from Go memory instead of being
// copied out of an ORT-allocated value (several cgo calls per output).
// Only models whose outputs are all plain numeric or bool tensors take
// part. A learned shape that no longer fits (an output whose size depends
// on the data) makes ORT refuse the run; the run is then repeated with
// ORT-allocated outputs and the shape forgotten for good.
type outputShapes struct {
	on    bool     // every output can be preallocated
	known sync.Map // input-shape key -> []ort.Shape, or nil when data-dependent
	n     sync.Mutex
	count int
}

// maxShapeKeys bounds how many input-shape combinations are remembered.
const maxShapeKeys = 256

// preallocatable reports whether every output is a numeric or bool tensor.
func preallocatable(outputs []ioInfo) bool {
	for _, o := range outputs {
		if _, ok := emptyTensor[o.Elem]; !ok || o.Kind != kindTensor {
			return false
		}
	}
	return len(outputs) > 0
}

// shapeKey names the input shapes of one run.
func (p *Predictor) shapeKey(feeds map[string]*flavors.Tensor) string {
	b := make([]byte, 0, 32)
	for _, in := range p.inputs {
		for _, d := range feeds[in.Name].Shape {
			b = strconv.AppendInt(b, d, 10)
			b = append(b, 'x')
		}
		b = append(b, ';')
	}
	return string(b)
}

// runSized runs the session, on Go-allocated outputs when their shapes
// are known for these input shapes, learning them otherwise.
func (p *Predictor) runSized(ctx context.Context, ins, outs []ort.Value, feeds map[string]*flavors.Tensor) error {
	if !p.shapes.on {
		return p.run(ctx, ins, outs)
	}
	key := p.shapeKey(feeds)
	v, seen := p.shapes.known.Load(key)
	shapes, _ := v.([]ort.Shape)
	if shapes == nil {
		if err := p.run(ctx, ins, outs); err != nil {
			return err
		}
		if !seen {
			p.learn(key, outs)
		}
		return nil
	}
	for i, o := range p.outputs {
		outs[i] = newEmpty(o.Elem, shapes[i])
	}
	err := p.run(ctx, ins, outs)
	if err == nil || ctx.Err() != nil {
		return err
	}
	// the learned shapes did not fit: forget them, let ORT allocate
	p.shapes.known.Store(key, nil)
	for i, v := range outs {
		if v != nil {
			_ = v.Destroy()
			outs[i] = nil
		}
	}
	return p.run(ctx, ins, outs)
}

// learn records the output shapes of a run, within the bound.
func (p *Predictor) learn(key string, outs []ort.Value) {
	p.shapes.n.Lock()
	defer p.shapes.n.Unlock()
	if p.shapes.count >= maxShapeKeys {
		return
	}
	shapes := make([]ort.Shape, len(outs))
	for i, v := range outs {
		if v == nil {
			return
		}
		shapes[i] = v.GetShape().Clone()
	}
	if _, loaded := p.shapes.known.LoadOrStore(key, shapes); !loaded {
		p.shapes.count++
	}
}

// emptyTensor allocates a Go-backed tensor, per element type that can be
// preallocated (not strings or float16).
var emptyTensor = map[flavors.DType]func(ort.Shape) (ort.Value, error){
	flavors.Float32: empty[float32], flavors.Float64: empty[float64],
	flavors.Int8: empty[int8], flavors.Int16: empty[int16], flavors.Int32: empty[int32], flavors.Int64: empty[int64],
	flavors.Uint8: empty[uint8], flavors.Uint16: empty[uint16], flavors.Uint32: empty[uint32], flavors.Uint64: empty[uint64],
	flavors.Bool: empty[bool],
}

func empty[T ort.TensorData](shape ort.Shape) (ort.Value, error) { return ort.NewEmptyTensor[T](shape) }

// newEmpty allocates a Go-backed tensor of dt, or nil for element types
// that cannot be preallocated.
func newEmpty(dt flavors.DType, shape ort.Shape) ort.Value {
	f, ok := emptyTensor[dt]
	if !ok {
		return nil
	}
	v, err := f(shape)
	if err != nil {
		return nil
	}
	return v
}
