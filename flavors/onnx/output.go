package onnx

import (
	"github.com/mlgate/mlgate/flavors"
)

// shapeOutput arranges the session outputs as mlflow.onnx returns them: for
// a data frame input, a frame with one column per output, each output
// flattened (numpy reshape(-1)); otherwise the named tensors in output order.
// Sequence outputs (ZipMap) are Object tensors of shape [n] whose elements
// are maps, as onnxruntime-python returns a list of dicts.
func shapeOutput(frameIn bool, names []string, outs []*flavors.Tensor) (*flavors.Output, error) {
	if !frameIn {
		m := make(map[string]*flavors.Tensor, len(outs))
		for i, t := range outs {
			m[names[i]] = t
		}
		return &flavors.Output{Tensors: m, Order: append([]string(nil), names...)}, nil
	}
	f := &flavors.Frame{
		Columns: append([]string(nil), names...),
		Data:    make([][]any, len(outs)),
		Types:   make([]string, len(outs)),
	}
	for i, t := range outs {
		f.Data[i] = flatten(t)
		f.Types[i] = mlflowType(t.DType)
		if i > 0 && len(f.Data[i]) != len(f.Data[0]) {
			return nil, badInput("All arrays must be of the same length: output %q has %d values after flattening, %q has %d",
				names[i], len(f.Data[i]), names[0], len(f.Data[0]))
		}
	}
	return &flavors.Output{Frame: f}, nil
}

// flatten returns the tensor's values as a column.
func flatten(t *flavors.Tensor) []any {
	switch d := t.Data.(type) {
	case []float32:
		return boxed(d)
	case []float64:
		return boxed(d)
	case []int8:
		return boxed(d)
	case []int16:
		return boxed(d)
	case []int32:
		return boxed(d)
	case []int64:
		return boxed(d)
	case []uint8:
		return boxed(d)
	case []uint16:
		return boxed(d)
	case []uint32:
		return boxed(d)
	case []uint64:
		return boxed(d)
	case []bool:
		return boxed(d)
	case []string:
		return boxed(d)
	case []any:
		return append([]any(nil), d...)
	}
	return nil
}

func boxed[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// mlflowType is the MLflow column type of a dtype, or "" when MLflow has none.
func mlflowType(d flavors.DType) string {
	switch d {
	case flavors.Float64:
		return "double"
	case flavors.Float32:
		return "float"
	case flavors.Int64:
		return "long"
	case flavors.Int32:
		return "integer"
	case flavors.Bool:
		return "boolean"
	case flavors.String:
		return "string"
	}
	return ""
}
