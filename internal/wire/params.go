package wire

import (
	"encoding/json"
	"strconv"
	"strings"
)

// raw returns a body member that is present and not null.
func (r *Request) raw(name string) (json.RawMessage, bool) {
	raw, ok := r.members()[name]
	return raw, ok && string(raw) != "null"
}

// Str returns a string parameter and whether it was present (and not null).
func (r *Request) Str(name string) (string, bool, error) {
	if r.query != nil {
		if _, ok := r.query[name]; !ok {
			return "", false, nil
		}
		return r.query.Get(name), true, nil
	}
	raw, ok := r.raw(name)
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, &FieldError{Param: name, Value: raw}
	}
	return s, true, nil
}

// Optional returns a string parameter, "" when absent.
func (r *Request) Optional(name string) (string, error) {
	s, _, err := r.Str(name)
	return s, err
}

// Required returns a string parameter that must be present and not empty.
func (r *Request) Required(name string) (string, error) {
	s, _, err := r.Str(name)
	if err == nil && s == "" {
		err = Missing(name)
	}
	return s, err
}

// Bool returns a boolean parameter, false when absent.
func (r *Request) Bool(name string) (bool, error) {
	if r.query != nil {
		v, ok := r.query[name]
		if !ok {
			return false, nil
		}
		switch strings.ToLower(v[0]) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, Invalid("Invalid boolean value: %s, must be 'true' or 'false'.", v[0])
	}
	var b bool
	_, err := r.Decode(name, &b)
	return b, err
}

// Int returns an int64-like parameter (a number or a numeric string), def
// when absent.
func (r *Request) Int(name string, def int) (int, error) {
	var s string
	if r.query != nil {
		if _, ok := r.query[name]; !ok {
			return def, nil
		}
		s = r.query.Get(name)
	} else {
		raw, ok := r.raw(name)
		if !ok {
			return def, nil
		}
		if t := typeName(raw); t != "int" && t != "str" {
			return 0, &FieldError{Param: name, Value: raw}
		}
		s = strings.Trim(strings.TrimSpace(string(raw)), `"`)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, Invalid("Invalid value %q for parameter '%s' supplied.%s", s, name, apiHint)
	}
	return n, nil
}

// List returns a repeated string parameter.
func (r *Request) List(name string) ([]string, error) {
	if r.query != nil {
		return r.query[name], nil
	}
	var out []string
	_, err := r.Decode(name, &out)
	return out, err
}

// Decode decodes a body parameter into v and reports whether it was
// present (and not null); a value that does not fit v is a *FieldError.
// A query string has no structured parameters: Decode reports them absent.
func (r *Request) Decode(name string, v any) (bool, error) {
	if r.query != nil {
		return false, nil
	}
	raw, ok := r.raw(name)
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, &FieldError{Param: name, Value: raw}
	}
	return true, nil
}
