package serve

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/internal/pyfmt"
)

// renderPredictions writes {"predictions": P} as MLflow's scoring server
// does (json.dump with NumpyEncoder: floats in Python repr, NaN bare).
func renderPredictions(out *flavors.Output) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, `{"predictions": `...)
	var err error
	b, err = appendOutput(b, out)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendOutput renders the value of "predictions".
func appendOutput(b []byte, out *flavors.Output) ([]byte, error) {
	switch {
	case out == nil:
		return append(b, "null"...), nil
	case out.JSON != nil:
		return append(b, out.JSON...), nil
	case out.Frame != nil:
		return appendRecords(b, out.Frame), nil
	case out.Tensor != nil:
		return appendTensor(b, out.Tensor)
	case out.Tensors != nil:
		order := out.Order
		if len(order) == 0 {
			for k := range out.Tensors {
				order = append(order, k)
			}
		}
		b = append(b, '{')
		for i, name := range order {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, name)
			b = append(b, ": "...)
			var err error
			if b, err = appendTensor(b, out.Tensors[name]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return append(b, "null"...), nil
}

// appendRecords renders a frame as pandas to_dict(orient="records").
func appendRecords(b []byte, f *flavors.Frame) []byte {
	b = append(b, '[')
	for r := 0; r < f.Rows(); r++ {
		if r > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '{')
		for c, name := range f.Columns {
			if c > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, name)
			b = append(b, ": "...)
			b = appendJSON(b, f.Data[c][r])
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendTensor renders a tensor as ndarray.tolist().
func appendTensor(b []byte, t *flavors.Tensor) ([]byte, error) {
	if t == nil {
		return append(b, "null"...), nil
	}
	n := numel(t.Shape)
	var at func(int) any
	switch d := t.Data.(type) {
	case []float32:
		at = func(i int) any { return d[i] }
		n = checkLen(n, len(d))
	case []float64:
		at = func(i int) any { return d[i] }
		n = checkLen(n, len(d))
	case []int8:
		at = func(i int) any { return int64(d[i]) }
		n = checkLen(n, len(d))
	case []int16:
		at = func(i int) any { return int64(d[i]) }
		n = checkLen(n, len(d))
	case []int32:
		at = func(i int) any { return int64(d[i]) }
		n = checkLen(n, len(d))
	case []int64:
		at = func(i int) any { return d[i] }
		n = checkLen(n, len(d))
	case []uint8:
		at = func(i int) any { return uint64(d[i]) }
		n = checkLen(n, len(d))
	case []uint16:
		at = func(i int) any { return uint64(d[i]) }
		n = checkLen(n, len(d))
	case []uint32:
		at = func(i int) any { return uint64(d[i]) }
		n = checkLen(n, len(d))
	case []uint64:
		at = func(i int) any { return d[i] }
		n = checkLen(n, len(d))
	case []bool:
		at = func(i int) any { return d[i] }
		n = checkLen(n, len(d))
	case []string:
		at = func(i int) any { return d[i] }
		n = checkLen(n, len(d))
	case []any:
		at = func(i int) any { return d[i] }
		n = checkLen(n, len(d))
	default:
		return nil, fmt.Errorf("tensor data of type %T cannot be rendered", t.Data)
	}
	if n < 0 {
		return nil, fmt.Errorf("tensor data length does not match shape %v", t.Shape)
	}
	idx := 0
	var rec func(dim int) []byte
	rec = func(dim int) []byte {
		if dim == len(t.Shape) {
			b = appendJSON(b, at(idx))
			idx++
			return b
		}
		b = append(b, '[')
		for i := int64(0); i < t.Shape[dim]; i++ {
			if i > 0 {
				b = append(b, ", "...)
			}
			rec(dim + 1)
		}
		b = append(b, ']')
		return b
	}
	return rec(0), nil
}

func checkLen(want, have int) int {
	if want != have {
		return -1
	}
	return want
}

// appendJSON renders a Go value as Python's json.dumps would.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if x {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case float32:
		return append(b, pyfmt.Float(float64(x))...)
	case float64:
		return append(b, pyfmt.Float(x)...)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case string:
		return appendString(b, x)
	case []byte:
		// NumpyEncoder: base64.encodebytes (76-char lines, trailing newline).
		return appendString(b, encodeBytes(x))
	case time.Time:
		return appendString(b, x.Format("2006-01-02T15:04:05.999999"))
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case flavors.Map:
		b = append(b, '{')
		for i, k := range x.Keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, k)
			b = append(b, ": "...)
			b = appendJSON(b, x.Values[i])
		}
		return append(b, '}')
	case map[string]any:
		// no order to keep: sorted, so that answers are stable
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, k)
			b = append(b, ": "...)
			b = appendJSON(b, x[k])
		}
		return append(b, '}')
	case []float32:
		l := make([]any, len(x))
		for i := range x {
			l[i] = x[i]
		}
		return appendJSON(b, l)
	case []float64:
		l := make([]any, len(x))
		for i := range x {
			l[i] = x[i]
		}
		return appendJSON(b, l)
	case []int64:
		l := make([]any, len(x))
		for i := range x {
			l[i] = x[i]
		}
		return appendJSON(b, l)
	case []string:
		l := make([]any, len(x))
		for i := range x {
			l[i] = x[i]
		}
		return appendJSON(b, l)
	case *flavors.Tensor:
		out, err := appendTensor(b, x)
		if err != nil {
			return append(b, "null"...)
		}
		return out
	}
	return appendString(b, fmt.Sprint(v))
}

func encodeBytes(x []byte) string {
	s := base64.StdEncoding.EncodeToString(x)
	var sb strings.Builder
	for len(s) > 76 {
		sb.WriteString(s[:76])
		sb.WriteByte('\n')
		s = s[76:]
	}
	sb.WriteString(s)
	sb.WriteByte('\n')
	return sb.String()
}

// appendString writes a JSON string with Python's ensure_ascii escaping.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				b = append(b, '\\', '"')
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == 0x7f:
				b = fmt.Appendf(b, `\u%04x`, c)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			b = fmt.Appendf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		} else {
			b = fmt.Appendf(b, `\u%04x`, r)
		}
	}
	return append(b, '"')
}
