package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Int64 is an int64 that accepts a JSON number or a decimal string, as
// MLflow's int64 fields do. A number with a fraction or a boolean passes
// MLflow's type check (Python's int() takes it) but not its proto parsing,
// which leaves the field unset: Int64 reads it as absent.
type Int64 struct {
	V   int64
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (i *Int64) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" || s == "true" || s == "false" {
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f != math.Trunc(f) {
		return nil
	}
	if len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return fmt.Errorf("expected an integer, got %s", s)
		}
		n = int64(f)
	}
	i.V, i.Set = n, true
	return nil
}

// Float is a float64 that accepts a JSON number, a numeric string or
// "NaN", "Infinity", "-Infinity".
type Float struct {
	V   float64
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	switch s {
	case "null":
		return nil
	case "true", "false":
		return fmt.Errorf("expected a number, got %s", s)
	}
	if len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	var v float64
	switch strings.ToLower(s) {
	case "nan":
		v = math.NaN()
	case "infinity", "inf", "+infinity":
		v = math.Inf(1)
	case "-infinity", "-inf":
		v = math.Inf(-1)
	default:
		var err error
		if v, err = strconv.ParseFloat(s, 64); err != nil {
			return fmt.Errorf("expected a number, got %s", s)
		}
	}
	f.V, f.Set = v, true
	return nil
}

// Double is a float64 written as MLflow writes doubles: "NaN",
// "Infinity" and "-Infinity" as strings.
type Double float64

// MarshalJSON implements json.Marshaler.
func (f Double) MarshalJSON() ([]byte, error) { return f.AppendJSON(nil), nil }

// AppendJSON appends f as MarshalJSON writes it: NaN and the infinities as
// MLflow's strings, other values as encoding/json writes a float64 (plain
// decimals from 1e-6 to 1e21 directly, the rare others through
// encoding/json itself).
func (f Double) AppendJSON(b []byte) []byte {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	if a := math.Abs(v); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	out, _ := json.Marshal(v) // finite: cannot fail
	return append(b, out...)
}

// Bool accepts a JSON bool or "true"/"false" (any case), 1 or 0.
type Bool struct {
	V   bool
	Set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *Bool) UnmarshalJSON(b []byte) error {
	s := strings.ToLower(strings.Trim(string(bytes.TrimSpace(b)), `"`))
	switch s {
	case "null":
		return nil
	case "true", "1":
		v.V, v.Set = true, true
	case "false", "0":
		v.V, v.Set = false, true
	default:
		return fmt.Errorf("expected a boolean, got %s", s)
	}
	return nil
}
