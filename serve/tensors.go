package serve

import (
	"strconv"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// dataInput applies the schema to the "instances" or "inputs" formats
// (MLflow's parse_tf_serving_input followed by pyfunc's _enforce_schema).
func dataInput(in *flavors.Input, req *request, schema *pkgformat.Schema) error {
	data := req.data
	if req.format == fmtInstances && data.k == kArray && len(data.items()) > 0 && data.items()[0].k == kObject {
		// list of records → columns, one list per key
		cols := &value{k: kObject}
		idx := map[string]int{}
		for i := range data.items() {
			rec := &data.items()[i]
			if rec.k != kObject {
				return invalidInput("Ensure that the input is a valid JSON-formatted string.\nError: AttributeError(\"'%s' object has no attribute 'items'\")", rec.typeName())
			}
			for j, k := range rec.keys {
				c, ok := idx[k]
				if !ok {
					c = len(cols.keys)
					idx[k] = c
					cols.keys = append(cols.keys, k)
					cols.vals = append(cols.vals, value{k: kArray, arr: []value{}})
				}
				cols.vals[c].arr = append(cols.vals[c].arr, rec.vals[j])
			}
		}
		data = cols
	}
	named := schema != nil && schema.HasNames()
	if schema != nil && named && schemaLen(schema) == 1 && data.k == kArray && !anyObject(data) {
		data = &value{k: kObject, keys: []string{schemaNames(schema)[0]}, vals: []value{*data}}
	} else if schema != nil && !named && schemaLen(schema) > 0 && data.k == kObject {
		return invalidInput("Failed to parse input data. This model contains an un-named " +
			" model signature which expects a single n-dimensional array or " +
			"a single value as input, however, an input of type " +
			"<class 'dict'> was found.")
	}
	if req.format == fmtInstances && data.k == kObject {
		if err := checkEqualLengths(data, schema); err != nil {
			return err
		}
	}
	switch {
	case schema == nil || schemaLen(schema) == 0:
		return noSchemaInput(in, data)
	case schema.IsTensor():
		return tensorSchemaInput(in, data, schema)
	default:
		return columnSchemaInput(in, data, schema)
	}
}

func schemaLen(s *pkgformat.Schema) int { return len(s.Columns) + len(s.Tensors) }

func schemaNames(s *pkgformat.Schema) []string {
	var out []string
	for _, c := range s.Columns {
		out = append(out, c.Name)
	}
	for _, t := range s.Tensors {
		out = append(out, t.Name)
	}
	return out
}

func anyObject(v *value) bool {
	for i := range v.items() {
		if v.items()[i].k == kObject {
			return true
		}
	}
	return false
}

func checkEqualLengths(data *value, schema *pkgformat.Schema) error {
	check := map[string]bool{}
	if schema != nil && schema.HasNames() {
		for _, c := range schema.Columns {
			if c.Required && c.Type.Type != "array" {
				check[c.Name] = true
			}
		}
		for _, t := range schema.Tensors {
			check[t.Name] = true
		}
	}
	n := -1
	for i, k := range data.keys {
		v := &data.vals[i]
		if v.k != kArray || (schema != nil && schema.HasNames() && !check[k]) {
			continue
		}
		if n < 0 {
			n = len(v.items())
		} else if len(v.items()) != n {
			return invalidInput("The length of values for each input/column name are not the same")
		}
	}
	return nil
}

// noSchemaInput infers types as np.array does.
func noSchemaInput(in *flavors.Input, data *value) error {
	switch data.k {
	case kObject:
		in.Tensors = map[string]*flavors.Tensor{}
		for i, k := range data.keys {
			t, err := toTensor(&data.vals[i], "")
			if err != nil {
				return invalidInput("%s", err.Error())
			}
			in.Tensors[k] = t
		}
		return nil
	case kArray:
		if len(data.items()) > 0 && data.items()[0].k == kObject {
			f, err := recordsFrame(data)
			if err != nil {
				return err
			}
			in.Frame = inferFrame(f)
			return nil
		}
	}
	t, err := toTensor(data, "")
	if err != nil {
		return invalidInput("%s", err.Error())
	}
	in.Tensor = t
	return nil
}

// tensorSchemaInput casts to the spec dtypes and checks shapes.
func tensorSchemaInput(in *flavors.Input, data *value, schema *pkgformat.Schema) error {
	if data.k == kArray && anyObject(data) {
		return schemaError("This model contains a tensor-based model signature with input names, which" +
			" suggests a dictionary input mapping input name to tensor, or a pandas" +
			" DataFrame input containing columns mapping input name to flattened list value" +
			" from tensor, but an input of type <class 'list'> was found.")
	}
	if !schema.HasNames() {
		ts := schema.Tensors[0]
		t, err := toTensor(data, normDType(ts.DType))
		if err != nil {
			return invalidInput("%s", err.Error())
		}
		if err := checkShape(t, ts); err != nil {
			return err
		}
		in.Tensor = t
		return nil
	}
	if data.k != kObject {
		// several named inputs but one array: every input is missing
		if _, err := toTensor(data, normDType(schema.Tensors[0].DType)); err != nil {
			return invalidInput("%s", err.Error())
		}
		return schemaError("Model is missing inputs %s.", pyList(schemaNames(schema)))
	}
	// MLflow converts every given key first (np.array with the spec dtype,
	// or inferred for keys the schema does not name), then checks names.
	specs := map[string]pkgformat.TensorSpec{}
	for _, ts := range schema.Tensors {
		specs[ts.Name] = ts
	}
	conv := make(map[string]*flavors.Tensor, len(data.keys))
	for i, k := range data.keys {
		var dt flavors.DType
		if ts, ok := specs[k]; ok {
			dt = normDType(ts.DType)
		}
		t, err := toTensor(&data.vals[i], dt)
		if err != nil {
			return invalidInput("%s", err.Error())
		}
		conv[k] = t
	}
	var missing []string
	for _, ts := range schema.Tensors {
		if _, ok := conv[ts.Name]; !ok {
			missing = append(missing, ts.Name)
		}
	}
	if len(missing) > 0 {
		return schemaError("Model is missing inputs %s.%s", pyList(missing), extraNote(data.keys, schema))
	}
	in.Tensors = make(map[string]*flavors.Tensor, len(schema.Tensors))
	for _, ts := range schema.Tensors {
		t := conv[ts.Name]
		if err := checkShape(t, ts); err != nil {
			return err
		}
		in.Tensors[ts.Name] = t
	}
	return nil
}

// checkShape is MLflow's _enforce_tensor_spec shape rule.
func checkShape(t *flavors.Tensor, ts pkgformat.TensorSpec) error {
	obj := normDType(ts.DType) == flavors.Object
	if len(ts.Shape) == 1 && ts.Shape[0] == -1 && obj {
		return nil
	}
	mismatch := func() error {
		return schemaError("Shape of input %s does not match expected shape %s.", pyTuple(t.Shape), pyTuple(ts.Shape))
	}
	if len(ts.Shape) != len(t.Shape) {
		return mismatch()
	}
	for i, d := range ts.Shape {
		if d != -1 && d != t.Shape[i] {
			return mismatch()
		}
	}
	return nil
}

func pyList(names []string) string {
	b := []byte{'['}
	for i, n := range names {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '\'')
		b = append(b, n...)
		b = append(b, '\'')
	}
	return string(append(b, ']'))
}

// columnSchemaInput turns inputs/instances data into a frame and applies
// the column schema.
func columnSchemaInput(in *flavors.Input, data *value, schema *pkgformat.Schema) error {
	var f *rframe
	switch data.k {
	case kObject:
		oneRow := false
		for _, c := range schema.Columns {
			if c.Type.Type == "array" || c.Type.Type == "object" {
				oneRow = true
			}
		}
		if !oneRow {
			oneRow = true
			for i := range data.vals {
				v := &data.vals[i]
				if v.k == kObject || (v.k == kArray && !allStrings(v)) {
					oneRow = false
				}
			}
		}
		f = &rframe{}
		if oneRow {
			f.rows = 1
			for i, k := range data.keys {
				f.names = append(f.names, k)
				f.cols = append(f.cols, []*value{&data.vals[i]})
			}
			break
		}
		n := -1
		for i := range data.vals {
			if v := &data.vals[i]; v.k == kArray {
				if n >= 0 && len(v.items()) != n {
					return schemaError("This model contains a column-based signature, which suggests a DataFrame" +
						" input. There was an error casting the input data to a DataFrame: All arrays must be of the same length")
				}
				n = len(v.items())
			}
		}
		f.rows = n
		for i, k := range data.keys {
			v := &data.vals[i]
			col := make([]*value, n)
			for r := range col {
				if v.k == kArray {
					col[r] = &v.items()[r]
				} else {
					col[r] = v
				}
			}
			f.names = append(f.names, k)
			f.cols = append(f.cols, col)
		}
	case kArray:
		if anyObject(data) {
			rf, err := recordsFrame(data)
			if err != nil {
				return err
			}
			return frameInput(in, rf, schema)
		}
		shape, err := shapeOf(data)
		if err != nil {
			return invalidInput("%s", err.Error())
		}
		if len(shape) > 2 {
			return schemaError("This model contains a column-based signature, which suggests a DataFrame input. " +
				"There was an error casting the input data to a DataFrame: Must pass 2-d input.")
		}
		rows := data.items()
		width := 1
		if len(shape) == 2 {
			width = int(shape[1])
		}
		f = &rframe{rows: len(rows)}
		for c := 0; c < width; c++ {
			col := make([]*value, len(rows))
			for r := range rows {
				if len(shape) == 2 {
					col[r] = &rows[r].items()[c]
				} else {
					col[r] = &rows[r]
				}
			}
			f.names = append(f.names, strconv.Itoa(c))
			f.cols = append(f.cols, col)
		}
		if !schema.HasNames() {
			// np.array(data, dtype of the first spec) first, then pandas
			// upcast rules per column.
			first := schema.Columns[0].Type
			for c := range f.cols {
				if _, err := castColumn(f.names[c], f.cols[c], first); err != nil {
					return invalidInput("%s", err.Error())
				}
				if c < len(schema.Columns) && !safeCast(first.Type, schema.Columns[c].Type.Type) {
					return schemaError("Incompatible input types for column %d. Can not safely convert %s to %s.",
						c, pandasType(first), pandasType(schema.Columns[c].Type))
				}
			}
		}
	default:
		f = &rframe{names: []string{"0"}, cols: [][]*value{{data}}, rows: 1}
	}
	return frameInput(in, f, schema)
}

func allStrings(v *value) bool {
	for i := range v.items() {
		if v.items()[i].k != kString {
			return false
		}
	}
	return true
}

// safeCast reports whether pandas' _enforce_mlflow_datatype accepts a
// column of MLflow type from where type to is declared.
func safeCast(from, to string) bool {
	if from == to {
		return true
	}
	switch to {
	case "long":
		return from == "integer"
	case "double":
		return from == "integer" || from == "float"
	case "string", "binary", "boolean":
		return false
	}
	return false
}
