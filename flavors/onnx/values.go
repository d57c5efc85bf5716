//go:build cgo

package onnx

import (
	"encoding/binary"
	"fmt"
	"strconv"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/mlgate/mlgate/flavors"
)

// toValue makes an ORT value that shares t's numeric data (ORT only reads
// inputs). The caller destroys it.
func toValue(name string, t *flavors.Tensor) (ort.Value, error) {
	shape := ort.NewShape(t.Shape...)
	if len(t.Shape) == 0 {
		return scalarValue(name, t)
	}
	switch d := t.Data.(type) {
	case []float32:
		if t.DType == flavors.Float16 {
			if len(d) == 0 {
				return nil, badInput("input %q: an empty float16 tensor is not supported", name)
			}
			buf := make([]byte, 2*len(d))
			for i, v := range d {
				binary.LittleEndian.PutUint16(buf[2*i:], halfBits(v))
			}
			return ort.NewCustomDataTensor(shape, buf, ort.TensorElementDataTypeFloat16)
		}
		return ort.NewTensor(shape, d)
	case []float64:
		return ort.NewTensor(shape, d)
	case []int8:
		return ort.NewTensor(shape, d)
	case []int16:
		return ort.NewTensor(shape, d)
	case []int32:
		return ort.NewTensor(shape, d)
	case []int64:
		return ort.NewTensor(shape, d)
	case []uint8:
		return ort.NewTensor(shape, d)
	case []uint16:
		return ort.NewTensor(shape, d)
	case []uint32:
		return ort.NewTensor(shape, d)
	case []uint64:
		return ort.NewTensor(shape, d)
	case []bool:
		return ort.NewTensor(shape, d)
	case []string:
		return stringValue(shape, d)
	case []any:
		s := make([]string, len(d))
		for i, v := range d {
			str, ok := v.(string)
			if !ok {
				return nil, badInput("input %q: element %d is %T; only strings can be fed from an object array", name, i, v)
			}
			s[i] = str
		}
		return stringValue(shape, s)
	}
	return nil, badInput("input %q: unsupported data %T", name, t.Data)
}

func stringValue(shape ort.Shape, s []string) (ort.Value, error) {
	st, err := ort.NewStringTensor(shape)
	if err != nil {
		return nil, err
	}
	if err := st.SetContents(s); err != nil {
		_ = st.Destroy()
		return nil, err
	}
	return st, nil
}

// scalarValue makes a rank-0 value.
func scalarValue(name string, t *flavors.Tensor) (ort.Value, error) {
	switch d := t.Data.(type) {
	case []float32:
		if t.DType == flavors.Float32 {
			return ort.NewScalar(d[0])
		}
	case []float64:
		return ort.NewScalar(d[0])
	case []int8:
		return ort.NewScalar(d[0])
	case []int16:
		return ort.NewScalar(d[0])
	case []int32:
		return ort.NewScalar(d[0])
	case []int64:
		return ort.NewScalar(d[0])
	case []uint8:
		return ort.NewScalar(d[0])
	case []uint16:
		return ort.NewScalar(d[0])
	case []uint32:
		return ort.NewScalar(d[0])
	case []uint64:
		return ort.NewScalar(d[0])
	case []bool:
		return ort.NewScalar(d[0])
	}
	return nil, badInput("input %q: a rank-0 %s tensor is not supported", name, t.DType)
}

// fromValue copies an ORT output into an mlgate tensor. Sequences become
// Object tensors of shape [n]; their map elements become flavors.Map (keys
// formatted as JSON object keys, in ONNX Runtime's order: sorted), their
// tensor elements nested lists.
func fromValue(v ort.Value) (*flavors.Tensor, error) {
	shape := []int64(v.GetShape())
	switch x := v.(type) {
	case *ort.Tensor[float32]:
		return &flavors.Tensor{DType: flavors.Float32, Shape: shape, Data: x.GetData()}, nil
	case *ort.Tensor[float64]:
		return &flavors.Tensor{DType: flavors.Float64, Shape: shape, Data: x.GetData()}, nil
	case *ort.Tensor[int8]:
		return &flavors.Tensor{DType: flavors.Int8, Shape: shape, Data: x.GetData()}, nil
	case *ort.Tensor[int16]:
		return &flavors.Tensor{DType: flavors.Int16, Shape: shape, Data: x.GetData()}, nil
	case *ort.Tensor[int32]:
		return &flavors.Tensor{DType: flavors.Int32, Shape: shape, Data: x.GetData()}, nil
	case *ort.Tensor[int64]:
		return &flavors.Tensor{DType: flavors.Int64, Shape: shape, Data: x.GetData()}, nil
	case *ort.Tensor[uint8]:
		return &flavors.Tensor{DType: flavors.Uint8, Shape: shape, Data: x.GetData()}, nil
	case *ort.Tensor[uint16]:
		return &flavors.Tensor{DType: flavors.Uint16, Shape: shape, Data: x.GetData()}, nil
	case *ort.Tensor[uint32]:
		return &flavors.Tensor{DType: flavors.Uint32, Shape: shape, Data: x.GetData()}, nil
	case *ort.Tensor[uint64]:
		return &flavors.Tensor{DType: flavors.Uint64, Shape: shape, Data: x.GetData()}, nil
	case *ort.Tensor[bool]:
		return &flavors.Tensor{DType: flavors.Bool, Shape: shape, Data: x.GetData()}, nil
	case *ort.StringTensor:
		s, err := x.GetContents()
		if err != nil {
			return nil, err
		}
		return &flavors.Tensor{DType: flavors.String, Shape: shape, Data: s}, nil
	case *ort.CustomDataTensor:
		if ort.TensorElementDataType(x.DataType()) != ort.TensorElementDataTypeFloat16 {
			return nil, fmt.Errorf("onnx: output element type %s is not supported", dtypeOf(ort.TensorElementDataType(x.DataType())))
		}
		b := x.GetData()
		f := make([]float32, len(b)/2)
		for i := range f {
			f[i] = halfFloat(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return &flavors.Tensor{DType: flavors.Float16, Shape: shape, Data: f}, nil
	case *ort.Sequence:
		vals, err := x.GetValues()
		if err != nil {
			return nil, err
		}
		out := make([]any, len(vals))
		for i, e := range vals {
			if out[i], err = element(e); err != nil {
				return nil, err
			}
		}
		return &flavors.Tensor{DType: flavors.Object, Shape: []int64{int64(len(out))}, Data: out}, nil
	case *ort.Map:
		m, err := element(x)
		if err != nil {
			return nil, err
		}
		return &flavors.Tensor{DType: flavors.Object, Shape: []int64{}, Data: []any{m}}, nil
	}
	return nil, fmt.Errorf("onnx: output value %T is not supported", v)
}

// element converts a sequence element or map to a plain Go value.
func element(v ort.Value) (any, error) {
	if m, ok := v.(*ort.Map); ok {
		kv, vv, err := m.GetKeysAndValues()
		if err != nil {
			return nil, err
		}
		keys, err := fromValue(kv)
		if err != nil {
			return nil, err
		}
		vals, err := fromValue(vv)
		if err != nil {
			return nil, err
		}
		ks, vs := flatten(keys), flatten(vals)
		if len(ks) != len(vs) {
			return nil, fmt.Errorf("onnx: map output has %d keys and %d values", len(ks), len(vs))
		}
		out := flavors.Map{Keys: make([]string, len(ks)), Values: vs}
		for i, k := range ks {
			out.Keys[i] = keyString(k)
		}
		return out, nil
	}
	t, err := fromValue(v)
	if err != nil {
		return nil, err
	}
	return nested(flatten(t), t.Shape), nil
}

func keyString(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return fmt.Sprint(k)
}

// nested turns a flat row-major list into nested lists of shape.
func nested(flat []any, shape []int64) any {
	if len(shape) == 0 {
		if len(flat) == 1 {
			return flat[0]
		}
		return flat
	}
	if len(shape) == 1 {
		return flat
	}
	n := int(shape[0])
	if n == 0 {
		return []any{}
	}
	step := len(flat) / n
	out := make([]any, n)
	for i := range out {
		out[i] = nested(flat[i*step:(i+1)*step], shape[1:])
	}
	return out
}
