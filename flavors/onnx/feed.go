package onnx

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/mlgate/mlgate/flavors"
)

// ioKind is the ONNX value kind of a session input or output.
type ioKind int

const (
	kindTensor ioKind = iota
	kindSequence
	kindMap
	kindOther
)

// ioInfo describes one session input or output.
type ioInfo struct {
	Name string
	Kind ioKind
	// Elem is the tensor element type (tensors only).
	Elem flavors.DType
	// Dims is the declared shape, -1 for a free axis (tensors only).
	Dims []int64
}

// inputError is a user error: it wraps flavors.ErrBadInput but reads as
// the message alone, the way Python's exception text reads, so that the
// server can quote it after MLflow's own preamble.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }
func (e *inputError) Unwrap() error { return flavors.ErrBadInput }

// badInput returns an error wrapping flavors.ErrBadInput.
func badInput(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}

// buildFeeds maps in onto the session inputs exactly as mlflow.onnx's
// _OnnxModelWrapper.predict does: a dict of tensors is the feed dict; a
// single tensor feeds the only input; a data frame feeds the only input with
// all columns stacked as a 2-D array, or each of several inputs with the
// column of the same name. float64 feeds of tensor(float) inputs are cast to
// float32; nothing else is cast.
func buildFeeds(in *flavors.Input, inputs []ioInfo) (map[string]*flavors.Tensor, error) {
	if in == nil {
		return nil, badInput("no input")
	}
	var feeds map[string]*flavors.Tensor
	switch {
	case in.Tensors != nil:
		feeds = make(map[string]*flavors.Tensor, len(in.Tensors))
		for k, v := range in.Tensors {
			feeds[k] = v
		}
	case in.Tensor != nil:
		if len(inputs) != 1 {
			return nil, badInput("Unable to map numpy array input to the expected model input. Numpy arrays "+
				"can only be used as input for MLflow ONNX models that have a single input. This model "+
				"requires %d inputs. Please pass in data as either a dictionary or a DataFrame with the "+
				"following tensors: %s.", len(inputs), pyList(inputNames(inputs)))
		}
		feeds = map[string]*flavors.Tensor{inputs[0].Name: in.Tensor}
	case in.Frame != nil:
		var err error
		if feeds, err = frameFeeds(in.Frame, inputs); err != nil {
			return nil, err
		}
	case in.Raw != nil:
		return nil, badInput("Input should be a dictionary or a numpy array or a pandas.DataFrame, got raw JSON")
	default:
		return nil, badInput("no input")
	}
	var missing []string
	for _, inp := range inputs {
		if feeds[inp.Name] == nil {
			missing = append(missing, inp.Name)
		}
	}
	if len(missing) > 0 {
		have := make([]string, 0, len(feeds))
		for k := range feeds {
			have = append(have, k)
		}
		slices.Sort(have)
		return nil, badInput("Required inputs (%s) are missing from input feed (%s).", pyList(missing), pyList(have))
	}
	if len(feeds) > len(inputs) {
		for k := range feeds {
			if !slices.ContainsFunc(inputs, func(i ioInfo) bool { return i.Name == k }) {
				return nil, badInput("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Invalid input name: %s", k)
			}
		}
	}
	for _, inp := range inputs {
		t := feeds[inp.Name]
		if err := checkTensor(inp.Name, t); err != nil {
			return nil, err
		}
		if inp.Kind == kindTensor && inp.Elem == flavors.Float32 && t.DType == flavors.Float64 {
			feeds[inp.Name] = castFloat32(t)
		}
	}
	return feeds, nil
}

// checkTensor verifies that t's data slice type matches its dtype and that
// its length matches its shape.
func checkTensor(name string, t *flavors.Tensor) error {
	n, err := dataLen(t)
	if err != nil {
		return badInput("input %q: %v", name, err)
	}
	want := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return badInput("input %q: negative dimension in shape %v", name, t.Shape)
		}
		if d != 0 && want > math.MaxInt32*int64(1024)/d {
			return badInput("input %q: shape %v is too large", name, t.Shape)
		}
		want *= d
	}
	if int64(n) != want {
		return badInput("input %q: shape %v needs %d values, got %d", name, t.Shape, want, n)
	}
	return nil
}

// dataLen returns the number of elements in t.Data, checking its Go type
// against t.DType.
func dataLen(t *flavors.Tensor) (int, error) {
	ok := false
	n := 0
	switch d := t.Data.(type) {
	case []float32:
		ok, n = t.DType == flavors.Float32 || t.DType == flavors.Float16, len(d)
	case []float64:
		ok, n = t.DType == flavors.Float64, len(d)
	case []int8:
		ok, n = t.DType == flavors.Int8, len(d)
	case []int16:
		ok, n = t.DType == flavors.Int16, len(d)
	case []int32:
		ok, n = t.DType == flavors.Int32, len(d)
	case []int64:
		ok, n = t.DType == flavors.Int64, len(d)
	case []uint8:
		ok, n = t.DType == flavors.Uint8, len(d)
	case []uint16:
		ok, n = t.DType == flavors.Uint16, len(d)
	case []uint32:
		ok, n = t.DType == flavors.Uint32, len(d)
	case []uint64:
		ok, n = t.DType == flavors.Uint64, len(d)
	case []bool:
		ok, n = t.DType == flavors.Bool, len(d)
	case []string:
		ok, n = t.DType == flavors.String || t.DType == flavors.Object, len(d)
	case []any:
		ok, n = t.DType == flavors.Object || t.DType == flavors.String, len(d)
	}
	if !ok {
		return 0, fmt.Errorf("data of Go type %T does not hold dtype %q", t.Data, t.DType)
	}
	return n, nil
}

// castFloat32 returns a float32 copy of a float64 tensor.
func castFloat32(t *flavors.Tensor) *flavors.Tensor {
	src := t.Data.([]float64)
	dst := make([]float32, len(src))
	for i, v := range src {
		dst[i] = float32(v)
	}
	return &flavors.Tensor{DType: flavors.Float32, Shape: t.Shape, Data: dst}
}

func inputNames(inputs []ioInfo) []string {
	names := make([]string, len(inputs))
	for i, in := range inputs {
		names[i] = in.Name
	}
	return names
}

// pyList formats names as Python prints a list of strings.
func pyList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}
