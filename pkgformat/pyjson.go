package pkgformat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/internal/pyfmt"
)

// orderedMap is a JSON object whose keys are written in the given order.
type orderedMap struct {
	keys []string
	vals map[string]any
}

func newOrdered() *orderedMap { return &orderedMap{vals: map[string]any{}} }

func (o *orderedMap) set(k string, v any) *orderedMap {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
	return o
}

// pyJSON encodes v the way Python's json.dumps does with its defaults:
// ", " and ": " separators, non-ASCII escaped as \uXXXX, floats in repr
// form (1.0, 1e-05), NaN and Infinity as bare words. Maps are written with
// sorted keys, orderedMaps in their order.
func pyJSON(v any) (string, error) {
	var b strings.Builder
	if err := pyEncode(&b, v, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

const maxJSONDepth = 200

func pyEncode(b *strings.Builder, v any, depth int) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("value nested deeper than %d levels", maxJSONDepth)
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		pyfmt.String(b, x)
	case json.Number:
		b.WriteString(x.String())
	case float64:
		b.WriteString(pyfmt.Float(x))
	case float32:
		b.WriteString(pyfmt.Float(float64(x)))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case *orderedMap:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			pyfmt.String(b, k)
			b.WriteString(": ")
			if err := pyEncode(b, x.vals[k], depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := newOrdered()
		for _, k := range keys {
			o.set(k, x[k])
		}
		return pyEncode(b, o, depth)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := pyEncode(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []int64:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.FormatInt(e, 10))
		}
		b.WriteByte(']')
	default:
		rv := reflect.ValueOf(v)
		if rv.Kind() == reflect.Slice {
			items := make([]any, rv.Len())
			for i := range items {
				items[i] = rv.Index(i).Interface()
			}
			return pyEncode(b, items, depth)
		}
		// Anything else goes through encoding/json and back.
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&generic); err != nil {
			return err
		}
		return pyEncode(b, generic, depth+1)
	}
	return nil
}

// decodeOrdered decodes one JSON value keeping object key order (objects
// become *orderedMap) and numbers as written (json.Number).
func decodeOrdered(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := decodeOrderedValue(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err == nil {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func decodeOrderedValue(d *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := newOrdered()
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeOrderedValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				o.set(k, v)
			}
			_, err := d.Token() // '}'
			return o, err
		case '[':
			arr := []any{}
			for d.More() {
				v, err := decodeOrderedValue(d, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := d.Token() // ']'
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return tok, nil
	}
}

// without returns a copy of o without key k.
func (o *orderedMap) without(k string) *orderedMap {
	out := newOrdered()
	for _, key := range o.keys {
		if key != k {
			out.set(key, o.vals[key])
		}
	}
	return out
}

// plain converts o (recursively) to map[string]any.
func (o *orderedMap) plain() map[string]any {
	m := make(map[string]any, len(o.keys))
	for _, k := range o.keys {
		m[k] = plainValue(o.vals[k])
	}
	return m
}

func plainValue(v any) any {
	switch x := v.(type) {
	case *orderedMap:
		return x.plain()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e)
		}
		return out
	}
	return v
}
