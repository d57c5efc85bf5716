package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mlgate/mlgate/internal/pyfmt"
)

// pyJSON renders a JSON value as MLflow quotes it in its messages: Python's
// json.dumps(value, sort_keys=True, separators=(",", ":")), that is compact,
// object keys sorted, non-ASCII escaped and numbers as Python prints them.
// Text that is not JSON is returned as it is.
func pyJSON(raw []byte) string {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return string(raw)
	}
	var b strings.Builder
	writePy(&b, v)
	return b.String()
}

func writePy(b *strings.Builder, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(t))
	case json.Number:
		b.WriteString(pyNumber(string(t)))
	case string:
		pyfmt.String(b, t)
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writePy(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			pyfmt.String(b, k)
			b.WriteByte(':')
			writePy(b, t[k])
		}
		b.WriteByte('}')
	}
}

// pyNumber prints a JSON number as Python does once it is parsed: an
// integer as written, a float in repr's shortest form (1.0, 1e+16, 1e-05).
func pyNumber(s string) string {
	if !strings.ContainsAny(s, ".eE") {
		if s == "-0" {
			return "0"
		}
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return s
	}
	return pyfmt.Float(f)
}
