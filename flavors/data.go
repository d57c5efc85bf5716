package flavors

import "encoding/json"

// DType is a tensor element type, named as numpy names it ("float32",
// "int64", "bool", "str", …).
type DType string

// The element types mlgate handles.
const (
	Float16 DType = "float16"
	Float32 DType = "float32"
	Float64 DType = "float64"
	Int8    DType = "int8"
	Int16   DType = "int16"
	Int32   DType = "int32"
	Int64   DType = "int64"
	Uint8   DType = "uint8"
	Uint16  DType = "uint16"
	Uint32  DType = "uint32"
	Uint64  DType = "uint64"
	Bool    DType = "bool"
	String  DType = "str"
	Object  DType = "object"
)

// Tensor is a dense n-dimensional array in row-major order. Data is a typed
// slice matching DType: []float32 (also for Float16 values), []float64,
// []int8 … []uint64, []bool, []string, or []any for Object.
type Tensor struct {
	DType DType
	Shape []int64
	Data  any
}

// Frame is a data frame: named columns of equal length. Each column holds
// values already cast per the signature (float64, int64, int32, float32,
// string, bool, []byte, nil for missing, or []any / map[string]any for
// composite types).
type Frame struct {
	Columns []string
	Data    [][]any // Data[c][r]: column-major
	// Types, when known from the signature, are the MLflow column types.
	Types []string
}

// Rows returns the number of rows.
func (f *Frame) Rows() int {
	if f == nil || len(f.Data) == 0 {
		return 0
	}
	return len(f.Data[0])
}

// Input is what the server hands a predictor: exactly one of Frame,
// Tensors (named) or Tensor (a single unnamed one) is set, or Raw for a
// model that takes JSON as it came (LLM-style or type-hinted models).
type Input struct {
	Frame   *Frame
	Tensors map[string]*Tensor
	Tensor  *Tensor
	Raw     json.RawMessage
	// Params are inference parameters, checked against the params schema.
	Params map[string]any
}

// Output is what a predictor returns. Exactly one of the fields is set; the
// server renders it as MLflow's scoring server does: Frame as a list of
// records, Tensors as an object of nested lists, Tensor as a nested list,
// JSON verbatim (already the value of "predictions").
type Output struct {
	Frame   *Frame
	Tensors map[string]*Tensor
	// Order lists Tensors' keys in model output order.
	Order  []string
	Tensor *Tensor
	JSON   json.RawMessage
}

// Map is a JSON object whose keys keep their order: a classifier's
// per-class probabilities (ONNX ZipMap) in the order the runtime returns
// them, which is the order mlflow's answer lists them in.
type Map struct {
	Keys   []string
	Values []any
}

// MarshalJSON writes the object in key order.
func (m Map) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, k := range m.Keys {
		if i > 0 {
			b = append(b, ',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(m.Values[i])
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, kb...), ':'), vb...)
	}
	return append(b, '}'), nil
}
