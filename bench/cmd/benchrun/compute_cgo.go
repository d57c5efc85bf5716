//go:build cgo

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mlgate/mlgate/bench"
	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/flavors/onnx"
	"github.com/mlgate/mlgate/internal/ortlib"
	"github.com/mlgate/mlgate/pkgformat"
)

// computeFloor loads m with the onnx flavor in this process and returns an
// Op that runs one prediction on a float32 tensor built once from the
// model's request body (no HTTP, no JSON).
func computeFloor(ctx context.Context, m *model) (bench.Op, func(), error) {
	return computeFloorRows(ctx, m, 0)
}

// computeFloorRows is computeFloor with the body's first row repeated rows
// times (0: the body as it is).
func computeFloorRows(ctx context.Context, m *model, rows int) (bench.Op, func(), error) {
	userCache, _ := os.UserCacheDir()
	lib, err := ortlib.Find(ortlib.Options{Env: os.Getenv("ONNXRUNTIME_LIB"),
		CacheDir: ortlib.DefaultCacheDir(os.Getenv("MLGATE_CACHE"), userCache)})
	if err != nil {
		return nil, nil, err
	}
	mm, err := pkgformat.ReadModel(m.Dir)
	if err != nil {
		return nil, nil, err
	}
	p, err := onnx.New(onnx.WithLibrary(lib)).Load(ctx, m.Dir, mm, flavors.LoadOptions{})
	if err != nil {
		return nil, nil, err
	}
	name, err := onnxInputName(m.Dir, p)
	if err != nil {
		_ = p.Close()
		return nil, nil, err
	}
	t, err := floatTensor(m.Body)
	if err != nil {
		_ = p.Close()
		return nil, nil, err
	}
	if rows > 0 && len(t.Shape) == 2 && t.Shape[0] > 0 {
		w := int(t.Shape[1])
		row := t.Data.([]float32)[:w]
		data := make([]float32, 0, rows*w)
		for range rows {
			data = append(data, row...)
		}
		t = &flavors.Tensor{DType: flavors.Float32, Shape: []int64{int64(rows), t.Shape[1]}, Data: data}
	}
	in := &flavors.Input{Tensors: map[string]*flavors.Tensor{name: t}}
	op := func(ctx context.Context) error {
		out, err := p.Predict(ctx, in)
		if err == nil && out == nil {
			return errors.New("nil output")
		}
		return err
	}
	return op, func() { _ = p.Close() }, nil
}

// rowCost is ONNX Runtime's own time per row of m at batch size rows: the
// model's first request row repeated, one goroutine, about one second.
func rowCost(ctx context.Context, m *model, rows int) (time.Duration, error) {
	op, closeFn, err := computeFloorRows(ctx, m, rows)
	if err != nil {
		return 0, err
	}
	defer closeFn()
	_ = op(ctx) // warm-up
	n, start := 0, time.Now()
	for time.Since(start) < time.Second && ctx.Err() == nil {
		if err := op(ctx); err != nil {
			return 0, err
		}
		n++
	}
	return time.Since(start) / time.Duration(n*rows), nil
}

// onnxInputName is the model's single input name (from the predictor's
// metadata when it describes itself).
func onnxInputName(dir string, p flavors.Predictor) (string, error) {
	if d, ok := p.(flavors.Describer); ok {
		md := d.Describe()
		if len(md.Inputs) == 1 {
			return md.Inputs[0].Name, nil
		}
		return "", fmt.Errorf("compute floor needs a single-input model, %s has %d", filepath.Base(dir), len(md.Inputs))
	}
	return "", fmt.Errorf("the onnx predictor does not describe its inputs")
}

// floatTensor builds a float32 matrix from a dataframe_split body (rows ×
// columns) or an {"inputs": {name: nested list}} body.
func floatTensor(body []byte) (*flavors.Tensor, error) {
	var b struct {
		Split *struct {
			Data [][]float64 `json:"data"`
		} `json:"dataframe_split"`
		Inputs map[string]any `json:"inputs"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("compute floor input: %w", err)
	}
	var shape []int64
	var data []float32
	switch {
	case b.Split != nil && len(b.Split.Data) > 0:
		shape = []int64{int64(len(b.Split.Data)), int64(len(b.Split.Data[0]))}
		for _, row := range b.Split.Data {
			for _, v := range row {
				data = append(data, float32(v))
			}
		}
	case len(b.Inputs) == 1:
		for _, v := range b.Inputs {
			s, flat := flatten(v)
			for _, d := range s {
				shape = append(shape, int64(d))
			}
			for _, x := range flat {
				f, ok := x.(float64)
				if !ok {
					return nil, fmt.Errorf("compute floor input: non-number %v", x)
				}
				data = append(data, float32(f))
			}
		}
	default:
		return nil, errors.New("compute floor input: unsupported body")
	}
	return &flavors.Tensor{DType: flavors.Float32, Shape: shape, Data: data}, nil
}
