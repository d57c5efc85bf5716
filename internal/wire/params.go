package wire

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// The parameter readers below record the first error they meet on the
// request instead of returning it, so that a handler reads all its
// parameters and then checks Err once:
//
//	name, key := r.Required("name"), r.Required("key")
//	if err := r.Err(); err != nil {
//		return nil, err
//	}
//
// The error is the one of the first parameter read that was wrong, as if
// each had been checked in turn.

// Err returns the first error met reading a parameter.
func (r *Request) Err() error { return r.err }

// Fail records err (when not nil) unless an earlier error is recorded.
func (r *Request) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// raw returns a body member that is present and not null.
func (r *Request) raw(name string) (json.RawMessage, bool) {
	raw, ok := r.members()[name]
	return raw, ok && string(raw) != "null"
}

// Str returns a string parameter and whether it was present (and not null).
func (r *Request) Str(name string) (string, bool) {
	if r.query != nil {
		if _, ok := r.query[name]; !ok {
			return "", false
		}
		return r.query.Get(name), true
	}
	var s string
	has := r.Decode(name, &s)
	return s, has
}

// Optional returns a string parameter, "" when absent.
func (r *Request) Optional(name string) string {
	s, _ := r.Str(name)
	return s
}

// Required returns a string parameter that must be present and not empty.
func (r *Request) Required(name string) string {
	s, _ := r.Str(name)
	if s == "" {
		r.Fail(Missing(name))
	}
	return s
}

// Bool returns a boolean parameter, false when absent.
func (r *Request) Bool(name string) bool {
	if r.query == nil {
		var b bool
		r.Decode(name, &b)
		return b
	}
	v, ok := r.query[name]
	if !ok {
		return false
	}
	switch strings.ToLower(v[0]) {
	case "true":
		return true
	case "false":
		return false
	}
	r.Fail(Invalid("Invalid boolean value: %s, must be 'true' or 'false'.", v[0]))
	return false
}

// Int returns an int64-like parameter (a number or a numeric string), def
// when absent.
func (r *Request) Int(name string, def int) int {
	var s string
	if r.query != nil {
		if _, ok := r.query[name]; !ok {
			return def
		}
		s = r.query.Get(name)
	} else {
		raw, ok := r.raw(name)
		if !ok {
			return def
		}
		switch typeName(raw) {
		case "int", "str":
		case "float", "bool": // MLflow's int() check takes them, its proto parsing leaves the field unset
			if typeName(raw) == "bool" || !isIntegral(raw) {
				return def
			}
		default:
			r.Fail(&FieldError{Param: name, Value: raw})
			return 0
		}
		s = strings.Trim(strings.TrimSpace(string(raw)), `"`)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if f, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil && ferr == nil && f == math.Trunc(f) && math.Abs(f) < 1<<62 {
		n, err = int(f), nil
	}
	if err != nil {
		raw, _ := json.Marshal(s)
		r.Fail(&FieldError{Param: name, Value: raw})
		return 0
	}
	return n
}

// IntAtMost is Int for a parameter MLflow caps at most: a larger value is
// refused as MLflow's schema check refuses it, with the type error text
// quoting the value as sent (a *FieldError).
func (r *Request) IntAtMost(name string, def, most int) int {
	n := r.Int(name, def)
	if n > most {
		r.Fail(r.Misfit(name))
	}
	return n
}

// Misfit is the *FieldError for the parameter name as sent (a query string
// value reads as a JSON string).
func (r *Request) Misfit(name string) error {
	if r.query != nil {
		raw, _ := json.Marshal(r.query.Get(name))
		return &FieldError{Param: name, Value: raw}
	}
	raw, _ := member(r.members(), name)
	return &FieldError{Param: name, Value: raw}
}

// List returns a repeated string parameter.
func (r *Request) List(name string) []string {
	if r.query != nil {
		return r.query[name]
	}
	var out []string
	r.Decode(name, &out)
	return out
}

// Decode decodes a body parameter into v and reports whether it was
// present (and not null); a value that does not fit v records a
// *FieldError. A query string has no structured parameters: Decode reports
// them absent.
func (r *Request) Decode(name string, v any) bool {
	if r.query != nil {
		return false
	}
	raw, ok := r.raw(name)
	if !ok {
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		r.Fail(&FieldError{Param: name, Value: raw})
		return false
	}
	return true
}

// isIntegral reports whether a JSON number has no fraction (1.0, 1e3).
func isIntegral(raw []byte) bool {
	f, err := strconv.ParseFloat(strings.TrimSpace(string(raw)), 64)
	return err == nil && f == math.Trunc(f)
}
