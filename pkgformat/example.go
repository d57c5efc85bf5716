package pkgformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File names of input examples in a model folder.
const (
	InputExampleFile        = "input_example.json"
	ServingInputExampleFile = "serving_input_example.json"
)

// Input example types as recorded in saved_input_example_info.type.
const (
	ExampleDataframe  = "dataframe"
	ExampleNdarray    = "ndarray"
	ExampleJSONObject = "json_object"
)

// MaxExampleSize caps the size of an input example file that is read.
const MaxExampleSize = 64 << 20

// ErrBadExample is wrapped by input example parse errors.
var ErrBadExample error = formatError("invalid input example")

// InputExample is a model's input example. Data is the example as stored in
// input_example.json without the params wrapper: a pandas split object
// {"columns", "data"} for a dataframe, a nested list or {name: nested list}
// for tensors, or any JSON value for json_object.
type InputExample struct {
	// Type is dataframe, ndarray, json_object, sparse_matrix_csc or
	// sparse_matrix_csr.
	Type string
	// PandasOrient is split or values (dataframes only).
	PandasOrient string
	// Data is the example JSON, numbers kept as written.
	Data json.RawMessage
	// Params are inference params stored with the example, or nil.
	Params map[string]any
}

// ReadInputExample reads the input example of the model in dir, using
// m.SavedInputExampleInfo. It returns nil and no error when the model has
// none.
func ReadInputExample(dir string, m *Model) (*InputExample, error) {
	info := m.SavedInputExampleInfo
	if info == nil {
		return nil, nil
	}
	name, _ := info["artifact_path"].(string)
	if name == "" {
		name = InputExampleFile
	}
	raw, err := readContained(dir, name, MaxExampleSize)
	if err != nil {
		return nil, err
	}
	ex := &InputExample{}
	ex.Type, _ = info["type"].(string)
	ex.PandasOrient, _ = info["pandas_orient"].(string)
	hasParams := fmt.Sprint(info["params"]) == "true"
	if err := ex.setData(raw, hasParams || fmt.Sprint(info["format"]) == "tf-serving"); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ex, nil
}

func (ex *InputExample) setData(raw []byte, wrapped bool) error {
	if !json.Valid(raw) {
		return fmt.Errorf("%w: not valid JSON", ErrBadExample)
	}
	if !wrapped {
		ex.Data = json.RawMessage(bytes.TrimSpace(raw))
		return nil
	}
	var w struct {
		Inputs json.RawMessage `json:"inputs"`
		Params map[string]any  `json:"params"`
	}
	if err := decodeJSONNumbers(raw, &w); err != nil || w.Inputs == nil {
		return fmt.Errorf("%w: want an object with \"inputs\" (and \"params\")", ErrBadExample)
	}
	ex.Data, ex.Params = w.Inputs, w.Params
	return nil
}

// ServingPayload returns the example as an /invocations request body:
// {"dataframe_split": …} for a dataframe, {"inputs": …} otherwise, plus
// "params" when there are any (what serving_input_example.json holds).
func (ex *InputExample) ServingPayload() ([]byte, error) {
	data, err := numberValue(ex.Data)
	if err != nil {
		return nil, err
	}
	o := newOrdered()
	switch {
	case ex.Type == ExampleDataframe && ex.PandasOrient == "values":
		o.set("dataframe_values", data)
	case ex.Type == ExampleDataframe:
		o.set("dataframe_split", data)
	default:
		o.set("inputs", data)
	}
	if ex.Params != nil {
		o.set("params", ex.Params)
	}
	return indentPy(o)
}

// ReadServingInputExample returns the model's serving_input_example.json, or
// builds it from input_example.json for older models. It returns nil and no
// error when the model has no example.
func ReadServingInputExample(dir string, m *Model) ([]byte, error) {
	if m.SavedInputExampleInfo == nil {
		return nil, nil
	}
	name, _ := m.SavedInputExampleInfo["serving_input_path"].(string)
	if name != "" {
		raw, err := readContained(dir, name, MaxExampleSize)
		if err == nil {
			return raw, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	ex, err := ReadInputExample(dir, m)
	if err != nil || ex == nil {
		return nil, err
	}
	return ex.ServingPayload()
}

// WriteInputExample writes input_example.json and serving_input_example.json
// into dir and returns the saved_input_example_info to put in MLmodel.
func WriteInputExample(dir string, ex *InputExample) (map[string]any, error) {
	data, err := numberValue(ex.Data)
	if err != nil {
		return nil, err
	}
	stored := data
	if ex.Params != nil {
		stored = newOrdered().set("inputs", data).set("params", ex.Params)
	}
	compact, err := pyJSON(stored)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, InputExampleFile), []byte(compact)); err != nil {
		return nil, err
	}
	serving, err := ex.ServingPayload()
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dir, ServingInputExampleFile), serving); err != nil {
		return nil, err
	}
	info := map[string]any{
		"artifact_path":      InputExampleFile,
		"type":               ex.Type,
		"serving_input_path": ServingInputExampleFile,
	}
	if ex.Type == ExampleDataframe {
		orient := ex.PandasOrient
		if orient == "" {
			orient = "split"
		}
		info["pandas_orient"] = orient
	}
	if ex.Params != nil {
		info["params"] = "true"
	}
	return info, nil
}

// ExampleFromPayload turns a user-supplied example into an InputExample. It
// accepts a scoring payload ({"dataframe_split"}, {"dataframe_records"},
// {"inputs"} or {"instances"}, with optional "params"), a pandas split object
// {"columns", "data"}, a {name: nested list} object or a nested list.
func ExampleFromPayload(raw []byte) (*InputExample, error) {
	v, err := decodeOrdered(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadExample, err)
	}
	ex := &InputExample{Type: ExampleNdarray}
	obj, isObj := v.(*orderedMap)
	if isObj {
		for _, k := range []string{"dataframe_split", "dataframe_records", "inputs", "instances"} {
			inner, ok := obj.vals[k]
			if !ok {
				continue
			}
			if p, ok := obj.vals["params"].(*orderedMap); ok {
				ex.Params = p.plain()
			}
			switch k {
			case "dataframe_split":
				ex.Type, ex.PandasOrient = ExampleDataframe, "split"
				if m, ok := inner.(*orderedMap); ok {
					inner = m.without("index")
				}
			case "dataframe_records":
				split, err := recordsToSplit(inner)
				if err != nil {
					return nil, err
				}
				inner = split
				ex.Type, ex.PandasOrient = ExampleDataframe, "split"
			}
			return ex.withData(inner)
		}
		_, hasCols := obj.vals["columns"]
		_, hasData := obj.vals["data"]
		if hasCols && hasData {
			ex.Type, ex.PandasOrient = ExampleDataframe, "split"
			v = obj.without("index")
		}
	}
	return ex.withData(v)
}

func (ex *InputExample) withData(v any) (*InputExample, error) {
	s, err := pyJSON(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadExample, err)
	}
	ex.Data = json.RawMessage(s)
	return ex, nil
}

// recordsToSplit turns pandas records into a split object, columns in
// order of first appearance (as pandas.DataFrame(records) orders them).
func recordsToSplit(v any) (any, error) {
	recs, ok := v.([]any)
	if !ok || len(recs) == 0 {
		return nil, fmt.Errorf("%w: dataframe_records must be a non-empty list of objects", ErrBadExample)
	}
	var cols []any
	seen := map[string]bool{}
	for _, r := range recs {
		m, ok := r.(*orderedMap)
		if !ok {
			return nil, fmt.Errorf("%w: dataframe_records must be a list of objects", ErrBadExample)
		}
		for _, k := range m.keys {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	data := make([]any, len(recs))
	for i, r := range recs {
		m := r.(*orderedMap)
		row := make([]any, len(cols))
		for j, c := range cols {
			row[j] = m.vals[c.(string)]
		}
		data[i] = row
	}
	return newOrdered().set("columns", cols).set("data", data), nil
}

// numberValue decodes JSON keeping numbers as written.
func numberValue(raw json.RawMessage) (any, error) {
	var v any
	if err := decodeJSONNumbers(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadExample, err)
	}
	return v, nil
}

// indentPy encodes v like Python's json.dumps(v, indent=2).
func indentPy(v any) ([]byte, error) {
	s, err := pyJSON(v)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "  "); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadExample, err)
	}
	return buf.Bytes(), nil
}
