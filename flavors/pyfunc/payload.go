package pyfunc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/mlgate/mlgate/flavors"
)

// encodeRequest renders in as the MLflow /invocations JSON body that the
// scoring server would have parsed into the same data: a Frame as
// dataframe_split, named Tensors as {"inputs": {name: nested list}}, a single
// Tensor as {"inputs": nested list}; Params as "params". Raw is the value of
// "inputs" for a model whose signature came from type hints (hinted), else
// an unwrapped LLM-style body (its params are merged back in).
// The worker re-applies the model's signature exactly as MLflow does, so the
// model sees the same pandas/numpy objects and dtypes.
func encodeRequest(in *flavors.Input, hinted bool) ([]byte, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: no input", flavors.ErrBadInput)
	}
	if in.Raw != nil && hinted {
		e := &encoder{buf: make([]byte, 0, len(in.Raw)+32)}
		e.buf = append(e.buf, `{"inputs":`...)
		e.buf = append(e.buf, in.Raw...)
		if len(in.Params) > 0 {
			e.buf = append(e.buf, `,"params":`...)
			e.value(in.Params)
		}
		e.buf = append(e.buf, '}')
		return e.buf, e.err
	}
	if in.Raw != nil {
		if len(in.Params) == 0 {
			return in.Raw, nil
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(in.Raw, &obj); err != nil {
			return nil, fmt.Errorf("%w: raw input with params must be a JSON object: %w", flavors.ErrBadInput, err)
		}
		p, err := json.Marshal(in.Params)
		if err != nil {
			return nil, fmt.Errorf("%w: params: %w", flavors.ErrBadInput, err)
		}
		obj["params"] = p
		return json.Marshal(obj)
	}
	e := &encoder{buf: make([]byte, 0, 256)}
	e.buf = append(e.buf, '{')
	switch {
	case in.Frame != nil:
		e.frame(in.Frame)
	case in.Tensors != nil:
		e.buf = append(e.buf, `"inputs":{`...)
		for i, name := range sortedKeys(in.Tensors) {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.str(name)
			e.buf = append(e.buf, ':')
			e.tensor(in.Tensors[name])
		}
		e.buf = append(e.buf, '}')
	case in.Tensor != nil:
		e.buf = append(e.buf, `"inputs":`...)
		e.tensor(in.Tensor)
	default:
		return nil, fmt.Errorf("%w: empty input", flavors.ErrBadInput)
	}
	if len(in.Params) > 0 {
		e.buf = append(e.buf, `,"params":`...)
		e.value(in.Params)
	}
	e.buf = append(e.buf, '}')
	if e.err != nil {
		return nil, e.err
	}
	return e.buf, nil
}

type encoder struct {
	buf []byte
	err error
}

func (e *encoder) frame(f *flavors.Frame) {
	e.buf = append(e.buf, `"dataframe_split":{`...)
	if len(f.Columns) > 0 {
		e.buf = append(e.buf, `"columns":[`...)
		for i, c := range f.Columns {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.str(c)
		}
		e.buf = append(e.buf, "],"...)
	}
	e.buf = append(e.buf, `"data":[`...)
	rows := f.Rows()
	for r := range rows {
		if r > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = append(e.buf, '[')
		for c := range f.Data {
			if c > 0 {
				e.buf = append(e.buf, ',')
			}
			if r < len(f.Data[c]) {
				e.value(f.Data[c][r])
			} else {
				e.buf = append(e.buf, "null"...)
			}
		}
		e.buf = append(e.buf, ']')
	}
	e.buf = append(e.buf, "]}"...)
}

// tensor writes t's data as a nested list of t's shape.
func (e *encoder) tensor(t *flavors.Tensor) {
	if t == nil {
		e.buf = append(e.buf, "null"...)
		return
	}
	n := tensorLen(t.Data)
	want := int64(1)
	for _, d := range t.Shape {
		want *= d
	}
	if len(t.Shape) == 0 {
		want = 1
	}
	if want < 0 || int64(n) != want {
		e.err = fmt.Errorf("%w: tensor of shape %v holds %d values", flavors.ErrBadInput, t.Shape, n)
		return
	}
	if len(t.Shape) == 0 {
		e.elem(t, 0)
		return
	}
	e.nested(t, t.Shape, 0)
}

func (e *encoder) nested(t *flavors.Tensor, shape []int64, off int) int {
	e.buf = append(e.buf, '[')
	for i := range shape[0] {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if len(shape) == 1 {
			e.elem(t, off)
			off++
		} else {
			off = e.nested(t, shape[1:], off)
		}
	}
	e.buf = append(e.buf, ']')
	return off
}

func (e *encoder) elem(t *flavors.Tensor, i int) {
	switch d := t.Data.(type) {
	case []float32:
		e.float(float64(d[i]), 32)
	case []float64:
		e.float(d[i], 64)
	case []int8:
		e.buf = strconv.AppendInt(e.buf, int64(d[i]), 10)
	case []int16:
		e.buf = strconv.AppendInt(e.buf, int64(d[i]), 10)
	case []int32:
		e.buf = strconv.AppendInt(e.buf, int64(d[i]), 10)
	case []int64:
		e.buf = strconv.AppendInt(e.buf, d[i], 10)
	case []uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(d[i]), 10)
	case []uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(d[i]), 10)
	case []uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(d[i]), 10)
	case []uint64:
		e.buf = strconv.AppendUint(e.buf, d[i], 10)
	case []bool:
		e.buf = strconv.AppendBool(e.buf, d[i])
	case []string:
		e.str(d[i])
	case []any:
		e.value(d[i])
	}
}

func tensorLen(data any) int {
	switch d := data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []int8:
		return len(d)
	case []int16:
		return len(d)
	case []int32:
		return len(d)
	case []int64:
		return len(d)
	case []uint8:
		return len(d)
	case []uint16:
		return len(d)
	case []uint32:
		return len(d)
	case []uint64:
		return len(d)
	case []bool:
		return len(d)
	case []string:
		return len(d)
	case []any:
		return len(d)
	}
	return -1
}

// float writes v the way Python's json module reads it back to the same
// value: shortest round-trip digits at the value's precision, and the
// NaN/Infinity tokens Python accepts.
func (e *encoder) float(v float64, bits int) {
	switch {
	case math.IsNaN(v):
		e.buf = append(e.buf, "NaN"...)
	case math.IsInf(v, 1):
		e.buf = append(e.buf, "Infinity"...)
	case math.IsInf(v, -1):
		e.buf = append(e.buf, "-Infinity"...)
	default:
		start := len(e.buf)
		e.buf = strconv.AppendFloat(e.buf, v, 'g', -1, bits)
		// Keep it a float for Python: 1 would become an int64 column.
		if !bytes.ContainsAny(e.buf[start:], ".eE") {
			e.buf = append(e.buf, ".0"...)
		}
	}
}

// value writes a Frame cell, a param or a composite value.
func (e *encoder) value(v any) {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case float64:
		e.float(x, 64)
	case float32:
		e.float(float64(x), 32)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case string:
		e.str(x)
	case []byte: // binary columns travel base64-encoded, as MLflow expects
		e.str(base64.StdEncoding.EncodeToString(x))
	case []any:
		e.buf = append(e.buf, '[')
		for i, y := range x {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.value(y)
		}
		e.buf = append(e.buf, ']')
	case map[string]any:
		e.buf = append(e.buf, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.str(k)
			e.buf = append(e.buf, ':')
			e.value(x[k])
		}
		e.buf = append(e.buf, '}')
	case json.RawMessage:
		e.buf = append(e.buf, x...)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			e.err = fmt.Errorf("%w: cannot encode %T: %w", flavors.ErrBadInput, v, err)
			return
		}
		e.buf = append(e.buf, b...)
	}
}

// str writes s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func (e *encoder) str(s string) {
	const hex = "0123456789abcdef"
	e.buf = append(e.buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				e.buf = append(e.buf, '\\', c)
			case c == '\n':
				e.buf = append(e.buf, '\\', 'n')
			case c == '\r':
				e.buf = append(e.buf, '\\', 'r')
			case c == '\t':
				e.buf = append(e.buf, '\\', 't')
			case c < 0x20:
				e.buf = append(e.buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				e.buf = append(e.buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			e.buf = append(e.buf, `\ufffd`...)
		} else {
			e.buf = append(e.buf, s[i:i+size]...)
		}
		i += size
	}
	e.buf = append(e.buf, '"')
}
