package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"unicode/utf16"
)

// MLflow reads parameters by their exact names: a member named RUN_ID is
// not run_id. encoding/json matches names case-insensitively, so before a
// body is decoded into a struct, exact drops the members whose name
// matches a field only when case is ignored (at every depth).

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// exact returns raw without the members that would reach a field of t only
// by a case-insensitive match (raw itself when there are none).
func exact(raw json.RawMessage, t reflect.Type) json.RawMessage {
	if !mayFold(raw) {
		return raw
	}
	out, _ := exactIn(raw, t)
	return out
}

// mayFold reports whether a body may hold a member name that matches a
// field name (all of them lower-case snake_case, as MLflow's) only when
// case is ignored: one with an
// upper-case ASCII letter or a non-ASCII byte (encoding/json also folds
// the Kelvin sign and the long s). Most bodies have neither and skip the
// walk.
func mayFold(raw []byte) bool {
	for i, c := range raw {
		if ('A' <= c && c <= 'Z') || c >= 0x80 || (c == '\\' && i+1 < len(raw) && raw[i+1] == 'u') {
			return true // \u escapes may spell either
		}
	}
	return false
}

// exactIn is exact, reporting whether anything was dropped.
func exactIn(raw json.RawMessage, t reflect.Type) (json.RawMessage, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return raw, false
	}
	raw = bytes.TrimSpace(raw)
	switch t.Kind() {
	case reflect.Struct:
		if len(raw) == 0 || raw[0] != '{' {
			return raw, false
		}
		fields := map[string]reflect.Type{}
		for _, f := range jsonFields(t) {
			fields[f.name] = f.typ
		}
		return eachMember(raw, func(k string) (reflect.Type, bool) {
			if ft, ok := fields[k]; ok {
				return ft, true
			}
			for name := range fields {
				if strings.EqualFold(name, k) {
					return nil, false
				}
			}
			return nil, true
		})
	case reflect.Map:
		if !structInside(t.Elem()) || len(raw) == 0 || raw[0] != '{' {
			return raw, false
		}
		return eachMember(raw, func(string) (reflect.Type, bool) { return t.Elem(), true })
	case reflect.Slice, reflect.Array:
		if !structInside(t.Elem()) || len(raw) == 0 || raw[0] != '[' {
			return raw, false
		}
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return raw, false
		}
		changed := false
		for i, it := range items {
			if nv, ch := exactIn(it, t.Elem()); ch {
				items[i], changed = nv, true
			}
		}
		return remarshal(raw, items, changed)
	}
	return raw, false
}

// eachMember applies exactIn to the members of the object raw: keep says
// which type a member decodes into (nil: no struct rule) and whether it
// stays.
func eachMember(raw json.RawMessage, keep func(name string) (reflect.Type, bool)) (json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw, false
	}
	changed := false
	for k, v := range m {
		t, ok := keep(k)
		switch {
		case !ok:
			delete(m, k)
			changed = true
		case t != nil:
			if nv, ch := exactIn(v, t); ch {
				m[k], changed = nv, true
			}
		}
	}
	return remarshal(raw, m, changed)
}

// remarshal is v's JSON when changed, else raw.
func remarshal(raw json.RawMessage, v any, changed bool) (json.RawMessage, bool) {
	if !changed {
		return raw, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return raw, false
	}
	return b, true
}

// structInside reports whether values of t may hold struct fields.
func structInside(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(unmarshalerType)
}

// jsonField is a struct field as encoding/json names it.
type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the JSON-named fields of the struct t in order,
// embedded structs flattened.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name, f.Type})
	}
	return out
}

// aliasConflict is MLflow's refusal of an object that spells a field two
// ways, run_id and runId (the protobuf name and its JSON name): nil when
// no object of the body, at any depth, does.
func aliasConflict(body []byte) error {
	if !bytes.ContainsAny(body, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		return nil // a JSON name has an upper-case letter
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil //nolint:nilerr // a body that does not parse is refused (or read as empty) by the reader's own rules
	}
	return conflictIn(v)
}

func conflictIn(v any) error {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if j := jsonName(k); j != k {
				if _, ok := x[j]; ok {
					return Invalid("Request specifies both '%s' and '%s'; provide only one of them.", k, j)
				}
			}
		}
		for _, k := range keys {
			if err := conflictIn(x[k]); err != nil {
				return err
			}
		}
	case []any:
		for _, it := range x {
			if err := conflictIn(it); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonName is protobuf's JSON name of a field name: each letter after an
// underscore upper-cased, the underscores dropped (run_id: runId).
func jsonName(name string) string {
	if !strings.Contains(name, "_") {
		return name
	}
	var b strings.Builder
	up := false
	for _, c := range name {
		switch {
		case c == '_':
			up = true
		case up && 'a' <= c && c <= 'z':
			b.WriteRune(c - 'a' + 'A')
			up = false
		default:
			b.WriteRune(c)
			up = false
		}
	}
	return b.String()
}

// loneSurrogate reports whether a JSON text holds a \u escape of a UTF-16
// surrogate that is not half of a pair (which encoding/json would turn
// into U+FFFD).
func loneSurrogate(body []byte) bool {
	if !bytes.Contains(body, []byte(`\u`)) && !bytes.Contains(body, []byte(`\U`)) {
		return false
	}
	inStr := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !inStr {
			inStr = c == '"'
			continue
		}
		switch c {
		case '"':
			inStr = false
		case '\\':
			if i+1 < len(body) && body[i+1] == 'u' {
				r, ok := hex4(body, i+2)
				if !ok {
					return false // malformed: encoding/json refuses it
				}
				if utf16.IsSurrogate(r) {
					if r >= 0xDC00 {
						return true
					}
					r2, ok := rune(0), false
					if i+7 < len(body) && body[i+6] == '\\' && body[i+7] == 'u' {
						r2, ok = hex4(body, i+8)
					}
					if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
						return true
					}
					i += 6
				}
				i += 5
			} else {
				i++
			}
		}
	}
	return false
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
