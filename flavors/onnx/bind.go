//go:build cgo

package onnx

import (
	"context"
	"fmt"
	"slices"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/mlgate/mlgate/flavors"
)

// A binding is the ORT values of one run (inputs and outputs), made once
// for a combination of input shapes whose output shapes are known and
// reused: a run then copies the feeds in and the outputs out instead of
// creating and releasing every value, which is two cgo calls per value
// and, for a small model, as much time as the run itself.
type binding struct {
	ins, outs []ort.Value
}

func (b *binding) destroy() {
	for _, v := range append(b.ins, b.outs...) {
		if v != nil {
			_ = v.Destroy()
		}
	}
}

// bindings pools idle bindings per input-shape key.
type bindings struct {
	pools sync.Map // shape key -> chan *binding
	mu    sync.Mutex
	keys  int
}

// Bounds: bindings are kept for at most maxBindKeys shape keys, at most
// bindingsPerKey per key (the runs that overlap), and only for runs of at
// most maxBindElems elements in all, so that the pool stays small whatever
// the requests.
const (
	maxBindKeys    = 64
	bindingsPerKey = 8
	maxBindElems   = 1 << 16
)

// predictBound runs a prediction on a pooled binding when its input shapes
// have known output shapes. done is false when it could not, and the
// caller runs the prediction the ordinary way (which also reports input
// errors and forgets output shapes that turn out to depend on the data).
func (p *Predictor) predictBound(ctx context.Context, in *flavors.Input, feeds map[string]*flavors.Tensor) (out *flavors.Output, done bool, err error) {
	if !p.shapes.on {
		return nil, false, nil
	}
	key := p.shapeKey(feeds)
	v, _ := p.shapes.known.Load(key)
	shapes, _ := v.([]ort.Shape)
	if shapes == nil {
		return nil, false, nil
	}
	b := p.bindingFor(key, feeds, shapes)
	if b == nil {
		return nil, false, nil
	}
	if !b.fill(p.inputs, feeds) {
		p.bind.put(key, b)
		return nil, false, nil
	}
	if err := p.run(ctx, b.ins, b.outs); err != nil {
		b.destroy()
		if ctx.Err() != nil {
			return nil, true, err
		}
		return nil, false, nil
	}
	res := make([]*flavors.Tensor, len(b.outs))
	for i, v := range b.outs {
		t, err := fromValue(v)
		if err != nil {
			b.destroy()
			return nil, true, fmt.Errorf("output %q: %w", p.outputs[i].Name, err)
		}
		detach(t)
		res[i] = t
	}
	p.bind.put(key, b)
	out, err = shapeOutput(in.Frame != nil, inputNames(p.outputs), res)
	return out, true, err
}

// bindingFor returns an idle binding for key, or a new one made from the feeds'
// and the learned output shapes; nil when this run cannot use one.
func (p *Predictor) bindingFor(key string, feeds map[string]*flavors.Tensor, outShapes []ort.Shape) *binding {
	if v, ok := p.bind.pools.Load(key); ok {
		select {
		case b := <-v.(chan *binding):
			return b
		default:
		}
	} else if !p.bind.reserve(key) {
		return nil
	}
	elems := int64(0)
	for _, in := range p.inputs {
		f := feeds[in.Name]
		if f == nil || in.Kind != kindTensor || f.DType != in.Elem || len(f.Shape) == 0 {
			return nil
		}
		elems += ort.Shape(f.Shape).FlattenedSize()
	}
	for _, s := range outShapes {
		elems += s.FlattenedSize()
	}
	if elems > maxBindElems {
		return nil
	}
	b := &binding{ins: make([]ort.Value, len(p.inputs)), outs: make([]ort.Value, len(p.outputs))}
	for i, in := range p.inputs {
		f := feeds[in.Name]
		if b.ins[i] = newEmpty(f.DType, ort.NewShape(f.Shape...)); b.ins[i] == nil {
			b.destroy()
			return nil
		}
	}
	for i, o := range p.outputs {
		if b.outs[i] = newEmpty(o.Elem, outShapes[i]); b.outs[i] == nil {
			b.destroy()
			return nil
		}
	}
	return b
}

// reserve makes a pool for key unless maxBindKeys are taken.
func (bs *bindings) reserve(key string) bool {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if _, ok := bs.pools.Load(key); ok {
		return true
	}
	if bs.keys >= maxBindKeys {
		return false
	}
	bs.pools.Store(key, make(chan *binding, bindingsPerKey))
	bs.keys++
	return true
}

// put returns b to key's pool, or frees it when the pool is full.
func (bs *bindings) put(key string, b *binding) {
	if v, ok := bs.pools.Load(key); ok {
		select {
		case v.(chan *binding) <- b:
			return
		default:
		}
	}
	b.destroy()
}

// drain frees every idle binding. Predictor.Close calls it with no run in
// flight.
func (bs *bindings) drain() {
	bs.pools.Range(func(_, v any) bool {
		ch := v.(chan *binding)
		for {
			select {
			case b := <-ch:
				b.destroy()
			default:
				return true
			}
		}
	})
}

// fill copies the feeds into b's inputs; false when a feed does not fit.
func (b *binding) fill(inputs []ioInfo, feeds map[string]*flavors.Tensor) bool {
	for i, in := range inputs {
		if !copyInto(b.ins[i], feeds[in.Name].Data) {
			return false
		}
	}
	return true
}

// copyInto copies src into the Go-backed tensor v of the same element type
// and size.
func copyInto(v ort.Value, src any) bool {
	switch d := src.(type) {
	case []float32:
		return copyData(v, d)
	case []float64:
		return copyData(v, d)
	case []int8:
		return copyData(v, d)
	case []int16:
		return copyData(v, d)
	case []int32:
		return copyData(v, d)
	case []int64:
		return copyData(v, d)
	case []uint8:
		return copyData(v, d)
	case []uint16:
		return copyData(v, d)
	case []uint32:
		return copyData(v, d)
	case []uint64:
		return copyData(v, d)
	case []bool:
		return copyData(v, d)
	}
	return false
}

func copyData[T ort.TensorData](v ort.Value, src []T) bool {
	t, ok := v.(*ort.Tensor[T])
	if !ok || len(t.GetData()) != len(src) {
		return false
	}
	copy(t.GetData(), src)
	return true
}

// detach gives t data of its own: a binding's output buffer is reused by
// the next run.
func detach(t *flavors.Tensor) {
	switch d := t.Data.(type) {
	case []float32:
		t.Data = slices.Clone(d)
	case []float64:
		t.Data = slices.Clone(d)
	case []int8:
		t.Data = slices.Clone(d)
	case []int16:
		t.Data = slices.Clone(d)
	case []int32:
		t.Data = slices.Clone(d)
	case []int64:
		t.Data = slices.Clone(d)
	case []uint8:
		t.Data = slices.Clone(d)
	case []uint16:
		t.Data = slices.Clone(d)
	case []uint32:
		t.Data = slices.Clone(d)
	case []uint64:
		t.Data = slices.Clone(d)
	case []bool:
		t.Data = slices.Clone(d)
	}
	t.Shape = slices.Clone(t.Shape)
}
