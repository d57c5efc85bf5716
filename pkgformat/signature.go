package pkgformat

// Signature is a model's input, output and params schema. In the MLmodel
// file each part is a JSON string inside the YAML.
type Signature struct {
	Inputs  *Schema      `json:"inputs,omitempty"`
	Outputs *Schema      `json:"outputs,omitempty"`
	Params  *ParamSchema `json:"params,omitempty"`
}

// Schema is a list of column specs or a list of tensor specs (never both).
type Schema struct {
	Columns []ColSpec
	Tensors []TensorSpec
}

// IsTensor reports whether the schema is tensor-based.
func (s *Schema) IsTensor() bool { return s != nil && len(s.Tensors) > 0 }

// HasNames reports whether the specs are named.
func (s *Schema) HasNames() bool {
	if s == nil {
		return false
	}
	if len(s.Tensors) > 0 {
		return s.Tensors[0].Name != ""
	}
	return len(s.Columns) > 0 && s.Columns[0].Name != ""
}

// DataType is an MLflow column type: a scalar (boolean, integer, long,
// float, double, string, binary, datetime) or a composite (array, object,
// map, any).
type DataType struct {
	// Type is the MLflow type name: "double", "array", "object", "map", "any", …
	Type string
	// Items is the element type of an array.
	Items *DataType
	// Properties are the fields of an object, in file order.
	Properties []Property
	// Values is the value type of a map.
	Values *DataType
}

// Property is one field of an object type.
type Property struct {
	Name     string
	Type     DataType
	Required bool
}

// ColSpec is a column-based signature entry.
type ColSpec struct {
	Name     string // empty when unnamed
	Type     DataType
	Required bool // true when absent in older files
}

// TensorSpec is a tensor-based signature entry.
type TensorSpec struct {
	Name  string  // empty when unnamed
	DType string  // numpy dtype name: float32, int64, str, object, bool, …
	Shape []int64 // -1 marks a free axis
}

// ParamSchema is the params part of a signature.
type ParamSchema struct {
	Params []ParamSpec
}

// ParamSpec describes one inference parameter.
type ParamSpec struct {
	Name    string
	Type    string // boolean, integer, long, float, double, string, datetime, …
	Default any
	Shape   []int64 // nil for a scalar, [-1] for a list
	// Properties are the fields when Type is "object".
	Properties []Property
}
