package serve

import (
	"encoding/base64"
	"fmt"
	"math"
	"strings"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/internal/apierr"
	"github.com/mlgate/mlgate/pkgformat"
)

// schemaError is a failure of MLflow's _enforce_schema: INVALID_PARAMETER_VALUE.
func schemaError(format string, args ...any) *apierr.Error {
	e := apierr.New(apierr.InvalidParameterValue,
		"Failed to predict data. \nError: Failed to enforce schema of data with the model signature. Error: "+format, args...)
	e.Class = apierr.ClassSchemaEnforcementFailed
	return e
}

// buildInput turns a parsed request into a predictor input, applying the
// input schema as MLflow's scoring server and pyfunc do.
func buildInput(req *request, sig *pkgformat.Signature) (*flavors.Input, error) {
	var schema *pkgformat.Schema
	if sig != nil {
		schema = sig.Inputs
	}
	in := &flavors.Input{}
	var err error
	switch {
	case req.llm:
		return llmInput(req, sig)
	case req.frame != nil:
		err = frameInput(in, req.frame, schema)
	default:
		err = dataInput(in, req, schema)
	}
	if err != nil {
		return nil, err
	}
	var ps *pkgformat.ParamSchema
	if sig != nil {
		ps = sig.Params
	}
	in.Params, err = enforceParams(req.params, ps)
	if err != nil {
		return nil, err
	}
	return in, nil
}

// llmInput passes an unwrapped body (or a type-hinted model's "inputs")
// through as JSON; for unwrapped bodies, keys named in the params schema
// become params.
func llmInput(req *request, sig *pkgformat.Signature) (*flavors.Input, error) {
	var ps *pkgformat.ParamSchema
	if sig != nil {
		ps = sig.Params
	}
	data, params := req.data, req.params
	if !req.hinted && ps != nil && data.k == kObject {
		d := &value{k: kObject}
		p := &value{k: kObject}
		for i, k := range data.keys {
			dst := d
			for _, spec := range ps.Params {
				if spec.Name == k {
					dst = p
				}
			}
			dst.keys = append(dst.keys, k)
			dst.vals = append(dst.vals, data.vals[i])
		}
		data, params = d, p
	}
	in := &flavors.Input{Raw: rawJSON(data)}
	var err error
	if in.Params, err = enforceParams(params, ps); err != nil {
		return nil, err
	}
	return in, nil
}

func rawJSON(v *value) []byte {
	return appendJSONValue(nil, v)
}

// appendJSONValue re-encodes a parsed value, keeping key order.
func appendJSONValue(b []byte, v *value) []byte {
	switch v.k {
	case kArray:
		b = append(b, '[')
		for i := range v.items() {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendJSONValue(b, &v.items()[i])
		}
		return append(b, ']')
	case kObject:
		b = append(b, '{')
		for i, k := range v.keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, k)
			b = append(b, ": "...)
			b = appendJSONValue(b, &v.vals[i])
		}
		return append(b, '}')
	case kNumber:
		return append(b, v.num...)
	}
	return appendJSON(b, goValue(v))
}

// --- data frames -----------------------------------------------------------

// frameInput applies the schema to a data frame (dataframe_split,
// dataframe_records, CSV).
func frameInput(in *flavors.Input, f *rframe, schema *pkgformat.Schema) error {
	if schema == nil || (len(schema.Columns) == 0 && len(schema.Tensors) == 0) {
		in.Frame = inferFrame(f)
		return nil
	}
	if schema.IsTensor() {
		return frameToTensors(in, f, schema)
	}
	named := schema.HasNames()
	out := &flavors.Frame{}
	if named {
		// MLflow casts the columns it has first, then checks for missing ones.
		var missing []string
		for _, cs := range schema.Columns {
			c := f.index(cs.Name)
			if c < 0 {
				if cs.Required {
					missing = append(missing, "'"+cs.Name+"'")
				}
				continue
			}
			col, err := castColumn(cs.Name, f.cols[c], cs.Type)
			if err != nil {
				return err
			}
			out.Columns = append(out.Columns, cs.Name)
			out.Data = append(out.Data, col)
			out.Types = append(out.Types, cs.Type.Type)
		}
		if len(missing) > 0 {
			return schemaError("Model is missing inputs [%s].%s", strings.Join(missing, ", "), extraNote(f.names, schema))
		}
	} else {
		if len(f.names) < len(schema.Columns) {
			return schemaError("Model inference is missing inputs. The model signature declares %d inputs  but the provided value only has %d inputs. Note: the inputs were not named in the signature so we can only verify their count.",
				len(schema.Columns), len(f.names))
		}
		for i, cs := range schema.Columns {
			col, err := castColumn(f.names[i], f.cols[i], cs.Type)
			if err != nil {
				return err
			}
			out.Columns = append(out.Columns, f.names[i])
			out.Data = append(out.Data, col)
			out.Types = append(out.Types, cs.Type.Type)
		}
	}
	in.Frame = out
	return nil
}

func (f *rframe) index(name string) int {
	for i, n := range f.names {
		if n == name {
			return i
		}
	}
	return -1
}

func extraNote(have []string, schema *pkgformat.Schema) string {
	known := map[string]bool{}
	for _, c := range schema.Columns {
		known[c.Name] = true
	}
	for _, t := range schema.Tensors {
		known[t.Name] = true
	}
	var extra []string
	for _, n := range have {
		if !known[n] {
			extra = append(extra, "'"+n+"'")
		}
	}
	if len(extra) == 0 {
		return ""
	}
	return fmt.Sprintf(" Note that there were extra inputs: [%s].", strings.Join(extra, ", "))
}

// inferFrame types each column as pandas infers it from JSON values.
func inferFrame(f *rframe) *flavors.Frame {
	out := &flavors.Frame{Columns: f.names, Data: make([][]any, len(f.cols)), Types: make([]string, len(f.cols))}
	for c, col := range f.cols {
		dt := inferDType(col)
		switch dt {
		case flavors.Int64:
			out.Types[c] = "long"
		case flavors.Float64:
			out.Types[c] = "double"
		case flavors.Bool:
			out.Types[c] = "boolean"
		case flavors.String:
			out.Types[c] = "string"
		}
		// numbers with missing values are float64 with NaN in pandas
		numOrNull := true
		for _, v := range col {
			if v.k != kNumber && v.k != kNull {
				numOrNull = false
				break
			}
		}
		vals := make([]any, len(col))
		for r, v := range col {
			switch {
			case numOrNull && dt == flavors.Object:
				x, _ := toFloat(v)
				vals[r] = x
			case dt == flavors.Float64:
				vals[r] = v.float()
			default:
				vals[r] = goValue(v)
			}
		}
		if numOrNull && dt == flavors.Object {
			out.Types[c] = "double"
		}
		out.Data[c] = vals
	}
	return out
}

// pandasType names the dtype pandas casts an MLflow column type to.
func pandasType(t pkgformat.DataType) string {
	switch t.Type {
	case "double":
		return "float64"
	case "float":
		return "float32"
	case "long":
		return "int64"
	case "integer":
		return "int32"
	case "boolean":
		return "bool"
	case "datetime":
		return "datetime64[ns]"
	}
	return "object"
}

// castColumn casts a column to an MLflow column type (pandas astype).
func castColumn(name string, col []*value, t pkgformat.DataType) ([]any, error) {
	out := make([]any, len(col))
	for r, v := range col {
		x, err := castScalar(v, t)
		if err != nil {
			return nil, invalidInput("Data is not compatible with model signature. Failed to convert column %s to type '%s'. Error: '%s'",
				name, pandasType(t), err.Error())
		}
		out[r] = x
	}
	return out, nil
}

// castScalar casts one value to an MLflow type.
func castScalar(v *value, t pkgformat.DataType) (any, error) {
	switch t.Type {
	case "double":
		return toFloat(v)
	case "float":
		f, err := toFloat(v)
		return float32(f), err
	case "long":
		if v.k == kNull {
			return nil, pyErrorf("IntCastingNaNError('Cannot convert non-finite values (NA or inf) to integer')")
		}
		return intCaster[int64](flavors.Int64, math.MinInt64, math.MaxInt64)(v)
	case "integer":
		if v.k == kNull {
			return nil, pyErrorf("IntCastingNaNError('Cannot convert non-finite values (NA or inf) to integer')")
		}
		return intCaster[int32](flavors.Int32, math.MinInt32, math.MaxInt32)(v)
	case "boolean":
		if v.k == kNull {
			return nil, nil
		}
		return truthy(v), nil
	case "string":
		if v.csv != "" {
			return v.csv, nil
		}
		return goValue(v), nil
	case "binary":
		if v.k != kString {
			return nil, pyErrorf("TypeError(\"encoding without a string argument\")")
		}
		b, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, v.s))
		if err != nil {
			return nil, pyErrorf("Error('Incorrect padding')")
		}
		return b, nil
	case "datetime":
		if v.k == kNull {
			return nil, nil
		}
		if v.k != kString && v.k != kNumber {
			return nil, pyErrorf("TypeError('%s is not convertible to datetime')", v.typeName())
		}
		return pyStr(v), nil
	case "array":
		if v.k == kNull {
			return nil, nil
		}
		if v.k != kArray {
			return nil, pyErrorf("MlflowException('Expected data to be list or numpy array, got %s')", v.typeName())
		}
		out := make([]any, len(v.items()))
		for i := range v.items() {
			x, err := castScalar(&v.items()[i], itemsOf(t))
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case "object":
		if v.k == kNull {
			return nil, nil
		}
		if v.k != kObject {
			return nil, pyErrorf("MlflowException('Expected data to be dictionary, got %s')", v.typeName())
		}
		out := map[string]any{}
		for _, p := range t.Properties {
			pv, ok := v.get(p.Name)
			if !ok {
				if p.Required {
					return nil, pyErrorf("MlflowException(\"Missing required properties: {'%s'}\")", p.Name)
				}
				continue
			}
			x, err := castScalar(pv, p.Type)
			if err != nil {
				return nil, err
			}
			out[p.Name] = x
		}
		for _, k := range v.keys {
			if _, ok := out[k]; !ok && !hasProp(t, k) {
				return nil, pyErrorf("MlflowException(\"Invalid properties not defined in the schema found: {'%s'}\")", k)
			}
		}
		return out, nil
	case "map":
		if v.k == kNull {
			return nil, nil
		}
		if v.k != kObject {
			return nil, pyErrorf("MlflowException('Expected data to be a dict, got %s')", v.typeName())
		}
		out := map[string]any{}
		for i, k := range v.keys {
			var vt pkgformat.DataType
			if t.Values != nil {
				vt = *t.Values
			}
			x, err := castScalar(&v.vals[i], vt)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	}
	return goValue(v), nil
}

func itemsOf(t pkgformat.DataType) pkgformat.DataType {
	if t.Items != nil {
		return *t.Items
	}
	return pkgformat.DataType{Type: "any"}
}

func hasProp(t pkgformat.DataType, k string) bool {
	for _, p := range t.Properties {
		if p.Name == k {
			return true
		}
	}
	return false
}

func dropSpace(r rune) rune {
	if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
		return -1
	}
	return r
}

// frameToTensors applies a tensor schema to a data frame.
func frameToTensors(in *flavors.Input, f *rframe, schema *pkgformat.Schema) error {
	if schema.HasNames() {
		// pandas astype of scalar columns comes before the missing check
		for _, ts := range schema.Tensors {
			c := f.index(ts.Name)
			if c < 0 || len(f.cols[c]) == 0 || f.cols[c][0].k == kArray {
				continue
			}
			arr := value{k: kArray, arr: make([]value, len(f.cols[c]))}
			for i, v := range f.cols[c] {
				arr.arr[i] = *v
			}
			if _, err := toTensor(&arr, normDType(ts.DType)); err != nil {
				return invalidInput("Data is not compatible with model signature. Failed to convert column %s to type '%s'. Error: '%s'",
					ts.Name, ts.DType, err.Error())
			}
		}
		var missing []string
		for _, ts := range schema.Tensors {
			if f.index(ts.Name) < 0 {
				missing = append(missing, "'"+ts.Name+"'")
			}
		}
		if len(missing) > 0 {
			return schemaError("Model is missing inputs [%s].%s", strings.Join(missing, ", "), extraNote(f.names, schema))
		}
		in.Tensors = map[string]*flavors.Tensor{}
		for _, ts := range schema.Tensors {
			t, err := columnTensor(ts.Name, f.cols[f.index(ts.Name)], ts)
			if err != nil {
				return err
			}
			in.Tensors[ts.Name] = t
		}
		return nil
	}
	ts := schema.Tensors[0]
	if f.rows == 0 || len(f.names) == 0 {
		return schemaError("Input DataFrame is empty.")
	}
	if len(f.names) == 1 {
		t, err := columnTensor("", f.cols[0], ts)
		if err != nil {
			return err
		}
		in.Tensor = t
		return nil
	}
	if len(ts.Shape) != 2 || ts.Shape[0] != -1 || ts.Shape[1] != int64(len(f.names)) {
		return schemaError("This model contains a model signature with an unnamed input. Since the "+
			"input data is a pandas DataFrame containing multiple columns, "+
			"the input shape must be of the structure "+
			"(-1, number_of_dataframe_columns). "+
			"Instead, the input DataFrame passed had %d columns and "+
			"an input shape of %s with all values within the "+
			"DataFrame of scalar type. Please adjust the passed in DataFrame to "+
			"match the expected structure", len(f.names), pyTuple(ts.Shape))
	}
	rows := make([]value, f.rows)
	for r := range rows {
		row := value{k: kArray, arr: make([]value, len(f.names))}
		for c := range f.names {
			row.arr[c] = *f.cols[c][r]
		}
		rows[r] = row
	}
	dt := normDType(ts.DType)
	t, err := toTensor(&value{k: kArray, arr: rows}, dt)
	if err != nil {
		return invalidInput("Data is not compatible with model signature. Failed to convert column %s to type '%s'. Error: '%s'",
			f.names[0], ts.DType, err.Error())
	}
	in.Tensor = t
	return nil
}

// columnTensor is _reshape_and_cast_pandas_column_values.
func columnTensor(name string, col []*value, ts pkgformat.TensorSpec) (*flavors.Tensor, error) {
	label := "the unnamed input"
	if name != "" {
		label = "input " + name
	}
	if len(ts.Shape) == 0 || ts.Shape[0] != -1 || containsFree(ts.Shape[1:]) {
		return nil, schemaError("For pandas dataframe input, the first dimension of shape must be a variable "+
			"dimension and other dimensions must be fixed, but in model signature the shape "+
			"of %s is %s.", label, pyTuple(ts.Shape))
	}
	dt := normDType(ts.DType)
	if len(col) == 0 {
		return nil, schemaError("Input DataFrame is empty.")
	}
	arr := value{k: kArray, arr: make([]value, len(col))}
	for i, v := range col {
		arr.arr[i] = *v
	}
	if col[0].k != kArray {
		if len(ts.Shape) != 1 && (len(ts.Shape) != 2 || ts.Shape[1] != 1) {
			return nil, schemaError("The input pandas dataframe column '%s' contains scalar "+
				"values, which requires the shape to be (-1,) or (-1, 1), but got tensor spec "+
				"shape of %s.", name, pyTuple(ts.Shape))
		}
		t, err := toTensor(&arr, dt)
		if err != nil {
			return nil, invalidInput("Data is not compatible with model signature. Failed to convert column %s to type '%s'. Error: '%s'",
				name, ts.DType, err.Error())
		}
		if len(ts.Shape) == 2 {
			t.Shape = []int64{int64(len(col)), 1}
		}
		return t, nil
	}
	reshapeErr := schemaError("The value in the Input DataFrame column '%s' could not be converted to the "+
		"expected shape of: '%s'. Ensure that each of the input list "+
		"elements are of uniform length and that the data can be coerced to the tensor "+
		"type '%s'", name, pyTuple(ts.Shape), ts.DType)
	t, err := toTensor(&arr, dt)
	if err != nil {
		return nil, reshapeErr
	}
	inner := int64(1)
	for _, d := range ts.Shape[1:] {
		inner *= d
	}
	total := int64(numel(t.Shape))
	if inner == 0 || total%inner != 0 || total/inner != int64(len(col)) {
		return nil, reshapeErr
	}
	t.Shape = append([]int64{total / inner}, ts.Shape[1:]...)
	return t, nil
}

func containsFree(s []int64) bool {
	for _, d := range s {
		if d == -1 {
			return true
		}
	}
	return false
}
