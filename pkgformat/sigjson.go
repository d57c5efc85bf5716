package pkgformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// ErrBadSignature is wrapped by every signature parse error.
var ErrBadSignature error = formatError("invalid model signature")

// scalarTypes are MLflow's scalar column types.
var scalarTypes = map[string]bool{
	"boolean": true, "integer": true, "long": true, "float": true, "double": true,
	"string": true, "binary": true, "datetime": true,
}

// IsScalarType reports whether name is an MLflow scalar column type.
func IsScalarType(name string) bool { return scalarTypes[name] }

func sigErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadSignature}, args...)...)
}

func decodeJSONNumbers(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// ParseSchema parses a schema as MLflow stores it: a JSON array of column
// specs or of tensor specs.
func ParseSchema(data []byte) (*Schema, error) {
	var items []map[string]any
	if err := decodeJSONNumbers(data, &items); err != nil {
		return nil, sigErrorf("schema is not a JSON array of objects: %v", err)
	}
	s := &Schema{}
	for i, it := range items {
		if it == nil {
			return nil, sigErrorf("schema entry %d is null", i)
		}
		name, err := optString(it, "name")
		if err != nil {
			return nil, sigErrorf("schema entry %d: %v", i, err)
		}
		if t, _ := it["type"].(string); t == "tensor" {
			ts, err := parseTensorSpec(it)
			if err != nil {
				return nil, sigErrorf("schema entry %d: %v", i, err)
			}
			ts.Name = name
			s.Tensors = append(s.Tensors, ts)
			continue
		}
		dt, err := parseDataType(it, 0)
		if err != nil {
			return nil, sigErrorf("schema entry %d: %v", i, err)
		}
		req, err := optBool(it, "required", true)
		if err != nil {
			return nil, sigErrorf("schema entry %d: %v", i, err)
		}
		s.Columns = append(s.Columns, ColSpec{Name: name, Type: dt, Required: req})
	}
	if len(s.Columns) > 0 && len(s.Tensors) > 0 {
		return nil, sigErrorf("schema mixes column and tensor specs")
	}
	return s, nil
}

func optString(m map[string]any, key string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%q must be a string, got %s", key, jsonKind(v))
	}
	return s, nil
}

func optBool(m map[string]any, key string, def bool) (bool, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%q must be a boolean, got %s", key, jsonKind(v))
	}
	return b, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func parseTensorSpec(m map[string]any) (TensorSpec, error) {
	info, ok := m["tensor-spec"].(map[string]any)
	if !ok {
		return TensorSpec{}, errors.New(`tensor spec needs a "tensor-spec" object with "dtype" and "shape"`)
	}
	dtype, ok := info["dtype"].(string)
	if !ok || dtype == "" {
		return TensorSpec{}, errors.New(`"tensor-spec" needs a string "dtype"`)
	}
	shape, err := parseShape(info["shape"], false)
	if err != nil {
		return TensorSpec{}, err
	}
	return TensorSpec{DType: dtype, Shape: shape}, nil
}

func parseShape(v any, nullable bool) ([]int64, error) {
	if v == nil && nullable {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf(`"shape" must be an array of integers, got %s`, jsonKind(v))
	}
	shape := make([]int64, len(arr))
	for i, d := range arr {
		n, ok := d.(json.Number)
		if !ok {
			return nil, fmt.Errorf(`"shape" must be an array of integers, element %d is %s`, i, jsonKind(d))
		}
		x, err := n.Int64()
		if err != nil || x < -1 {
			return nil, fmt.Errorf(`"shape" element %d is %s, want an integer >= -1`, i, n)
		}
		shape[i] = x
	}
	return shape, nil
}

const maxTypeDepth = 64

func parseDataType(m map[string]any, depth int) (DataType, error) {
	if depth > maxTypeDepth {
		return DataType{}, fmt.Errorf("type nested deeper than %d levels", maxTypeDepth)
	}
	t, ok := m["type"].(string)
	if !ok {
		return DataType{}, fmt.Errorf(`missing string "type", got %s`, jsonKind(m["type"]))
	}
	switch t {
	case "array":
		items, ok := m["items"].(map[string]any)
		if !ok {
			return DataType{}, errors.New(`array type needs an "items" object`)
		}
		it, err := parseDataType(items, depth+1)
		if err != nil {
			return DataType{}, fmt.Errorf("array items: %w", err)
		}
		return DataType{Type: t, Items: &it}, nil
	case "map":
		values, ok := m["values"].(map[string]any)
		if !ok {
			return DataType{}, errors.New(`map type needs a "values" object`)
		}
		vt, err := parseDataType(values, depth+1)
		if err != nil {
			return DataType{}, fmt.Errorf("map values: %w", err)
		}
		return DataType{Type: t, Values: &vt}, nil
	case "object":
		props, err := parseProperties(m["properties"], depth)
		if err != nil {
			return DataType{}, err
		}
		return DataType{Type: t, Properties: props}, nil
	case "any", "sparkml_vector":
		return DataType{Type: t}, nil
	}
	if !scalarTypes[t] {
		return DataType{}, fmt.Errorf("unknown type %q (want one of boolean, integer, long, float, double, string, binary, datetime, array, object, map, any)", t)
	}
	return DataType{Type: t}, nil
}

func parseProperties(v any, depth int) ([]Property, error) {
	pm, ok := v.(map[string]any)
	if !ok || len(pm) == 0 {
		return nil, errors.New(`object type needs a non-empty "properties" object`)
	}
	names := make([]string, 0, len(pm))
	for k := range pm {
		names = append(names, k)
	}
	sort.Strings(names)
	props := make([]Property, 0, len(names))
	for _, n := range names {
		pd, ok := pm[n].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("property %q must be an object", n)
		}
		pt, err := parseDataType(pd, depth+1)
		if err != nil {
			return nil, fmt.Errorf("property %q: %w", n, err)
		}
		req, err := optBool(pd, "required", true)
		if err != nil {
			return nil, fmt.Errorf("property %q: %w", n, err)
		}
		props = append(props, Property{Name: n, Type: pt, Required: req})
	}
	return props, nil
}

// dataTypeJSON returns the MLflow dict for t, with keys in MLflow's order.
func dataTypeJSON(t DataType) *orderedMap {
	o := newOrdered().set("type", t.Type)
	switch t.Type {
	case "array":
		if t.Items != nil {
			o.set("items", dataTypeJSON(*t.Items))
		}
	case "map":
		if t.Values != nil {
			o.set("values", dataTypeJSON(*t.Values))
		}
	case "object":
		props := append([]Property(nil), t.Properties...)
		sort.SliceStable(props, func(i, j int) bool { return props[i].Name < props[j].Name })
		pm := newOrdered()
		for _, p := range props {
			pm.set(p.Name, dataTypeJSON(p.Type).set("required", p.Required))
		}
		o.set("properties", pm)
	}
	return o
}

// schemaValue returns the schema as MLflow's list of dicts.
func (s *Schema) schemaValue() []any {
	out := []any{}
	for _, c := range s.Columns {
		o := dataTypeJSON(c.Type)
		if c.Name != "" {
			o.set("name", c.Name)
		}
		o.set("required", c.Required)
		out = append(out, o)
	}
	for _, t := range s.Tensors {
		shape := t.Shape
		if shape == nil {
			shape = []int64{}
		}
		info := newOrdered().set("dtype", t.DType).set("shape", shape)
		o := newOrdered()
		if t.Name != "" {
			o.set("name", t.Name)
		}
		o.set("type", "tensor").set("tensor-spec", info)
		out = append(out, o)
	}
	return out
}

// JSON returns the schema exactly as MLflow writes it (json.dumps of the
// spec list).
func (s *Schema) JSON() string {
	out, err := pyJSON(s.schemaValue())
	if err != nil {
		// Only bounded, well-typed values are in a schema.
		panic("pkgformat: schema JSON: " + err.Error())
	}
	return out
}

// MarshalJSON writes the schema as MLflow's JSON array of specs.
func (s *Schema) MarshalJSON() ([]byte, error) { return []byte(s.JSON()), nil }

// UnmarshalJSON reads MLflow's JSON array of specs.
func (s *Schema) UnmarshalJSON(data []byte) error {
	p, err := ParseSchema(data)
	if err != nil {
		return err
	}
	*s = *p
	return nil
}

// ParseParamSchema parses the params part of a signature: a JSON array of
// {"name", "type" (or "dtype"), "default", "shape"} objects.
func ParseParamSchema(data []byte) (*ParamSchema, error) {
	var items []map[string]any
	if err := decodeJSONNumbers(data, &items); err != nil {
		return nil, sigErrorf("params schema is not a JSON array of objects: %v", err)
	}
	ps := &ParamSchema{}
	seen := map[string]bool{}
	for i, it := range items {
		if it == nil {
			return nil, sigErrorf("param %d is null", i)
		}
		name, ok := it["name"].(string)
		if !ok {
			return nil, sigErrorf(`param %d: missing string "name"`, i)
		}
		if seen[name] {
			return nil, sigErrorf("duplicated param %q", name)
		}
		seen[name] = true
		typ, _ := it["type"].(string)
		if typ == "" {
			typ, _ = it["dtype"].(string)
		}
		if typ == "" {
			return nil, sigErrorf(`param %q: missing string "type"`, name)
		}
		if _, ok := it["default"]; !ok {
			return nil, sigErrorf(`param %q: missing "default"`, name)
		}
		shape, err := parseShape(it["shape"], true)
		if err != nil {
			return nil, sigErrorf("param %q: %v", name, err)
		}
		spec := ParamSpec{Name: name, Type: typ, Default: it["default"], Shape: shape}
		switch {
		case typ == "object":
			props, err := parseProperties(it["properties"], 0)
			if err != nil {
				return nil, sigErrorf("param %q: %v", name, err)
			}
			spec.Properties = props
		case !scalarTypes[typ]:
			return nil, sigErrorf("param %q: unknown type %q", name, typ)
		}
		ps.Params = append(ps.Params, spec)
	}
	return ps, nil
}

// JSON returns the params schema exactly as MLflow writes it.
func (p *ParamSchema) JSON() string {
	out := []any{}
	for _, s := range p.Params {
		o := newOrdered().set("name", s.Name).set("default", s.Default)
		if s.Shape == nil {
			o.set("shape", nil)
		} else {
			o.set("shape", s.Shape)
		}
		if s.Type == "object" {
			t := dataTypeJSON(DataType{Type: "object", Properties: s.Properties})
			for _, k := range t.keys {
				o.set(k, t.vals[k])
			}
		} else {
			o.set("type", s.Type)
		}
		out = append(out, o)
	}
	js, err := pyJSON(out)
	if err != nil {
		return "[]"
	}
	return js
}

// MarshalJSON writes the params schema as MLflow's JSON array.
func (p *ParamSchema) MarshalJSON() ([]byte, error) { return []byte(p.JSON()), nil }

// UnmarshalJSON reads MLflow's params JSON array.
func (p *ParamSchema) UnmarshalJSON(data []byte) error {
	q, err := ParseParamSchema(data)
	if err != nil {
		return err
	}
	*p = *q
	return nil
}

// ParseSignature builds a signature from the three JSON strings of an
// MLmodel signature block; empty strings are absent parts.
func ParseSignature(inputs, outputs, params string) (*Signature, error) {
	sig := &Signature{}
	var err error
	if inputs != "" {
		if sig.Inputs, err = ParseSchema([]byte(inputs)); err != nil {
			return nil, fmt.Errorf("signature inputs: %w", err)
		}
	}
	if outputs != "" {
		if sig.Outputs, err = ParseSchema([]byte(outputs)); err != nil {
			return nil, fmt.Errorf("signature outputs: %w", err)
		}
	}
	if params != "" {
		if sig.Params, err = ParseParamSchema([]byte(params)); err != nil {
			return nil, fmt.Errorf("signature params: %w", err)
		}
	}
	return sig, nil
}

// Strings returns the signature as MLflow's signature.to_dict(): JSON
// strings for inputs and outputs, and for params (nil when absent).
func (s *Signature) Strings() (inputs, outputs string, params *string) {
	if s.Inputs != nil {
		inputs = s.Inputs.JSON()
	}
	if s.Outputs != nil {
		outputs = s.Outputs.JSON()
	}
	if s.Params != nil {
		p := s.Params.JSON()
		params = &p
	}
	return inputs, outputs, params
}
