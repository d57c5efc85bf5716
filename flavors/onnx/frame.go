package onnx

import (
	"fmt"
	"math"

	"github.com/mlgate/mlgate/flavors"
)

// frameFeeds turns a data frame into feeds: several inputs take the column
// of the same name as a 1-D array (pandas df[name].values); a single input
// takes every column stacked into a 2-D array of the columns' common dtype
// (pandas df.values).
func frameFeeds(f *flavors.Frame, inputs []ioInfo) (map[string]*flavors.Tensor, error) {
	if len(f.Data) != len(f.Columns) {
		return nil, badInput("data frame has %d column names but %d columns", len(f.Columns), len(f.Data))
	}
	rows := f.Rows()
	for c, col := range f.Data {
		if len(col) != rows {
			return nil, badInput("data frame column %q has %d values, expected %d", f.Columns[c], len(col), rows)
		}
	}
	dtypes := make([]flavors.DType, len(f.Data))
	for c, col := range f.Data {
		typ := ""
		if c < len(f.Types) {
			typ = f.Types[c]
		}
		dtypes[c] = columnDType(col, typ)
	}
	if len(inputs) > 1 {
		feeds := make(map[string]*flavors.Tensor, len(inputs))
		for _, in := range inputs {
			c := indexOf(f.Columns, in.Name)
			if c < 0 {
				return nil, badInput("KeyError: %q: the model input %q is not a column of the input data frame (columns %s)",
					in.Name, in.Name, pyList(f.Columns))
			}
			data, err := columnData(f.Data[c], dtypes[c])
			if err != nil {
				return nil, badInput("column %q: %v", in.Name, err)
			}
			feeds[in.Name] = &flavors.Tensor{DType: dtypes[c], Shape: []int64{int64(rows)}, Data: data}
		}
		return feeds, nil
	}
	common := flavors.Object
	for c, d := range dtypes {
		if c == 0 {
			common = d
		} else {
			common = promote(common, d)
		}
	}
	if common == flavors.Float64 && inputs[0].Kind == kindTensor && inputs[0].Elem == flavors.Float32 {
		// what stacking to float64 and then buildFeeds' cast to float32
		// give, in one pass and one slice
		data, err := stackFloat32(f, rows)
		if err != nil {
			return nil, err
		}
		t := &flavors.Tensor{DType: flavors.Float32, Shape: []int64{int64(rows), int64(len(f.Data))}, Data: data}
		return map[string]*flavors.Tensor{inputs[0].Name: t}, nil
	}
	cols := make([]any, len(f.Data))
	for c, col := range f.Data {
		data, err := columnData(col, common)
		if err != nil {
			return nil, badInput("column %q: %v", f.Columns[c], err)
		}
		cols[c] = data
	}
	t := &flavors.Tensor{DType: common, Shape: []int64{int64(rows), int64(len(f.Data))}, Data: stack(common, cols, rows)}
	return map[string]*flavors.Tensor{inputs[0].Name: t}, nil
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// columnDType is the numpy dtype pandas gives a column: from the MLflow
// column type when known, else from the values.
func columnDType(col []any, mlflowType string) flavors.DType {
	switch mlflowType {
	case "double":
		return flavors.Float64
	case "float":
		return flavors.Float32
	case "long":
		return flavors.Int64
	case "integer":
		return flavors.Int32
	case "boolean":
		return flavors.Bool
	case "string":
		return flavors.String
	}
	var nFloat, nFloat32, nInt, nInt32, nBool, nStr, nNil, nOther int
	for _, v := range col {
		switch v.(type) {
		case nil:
			nNil++
		case float64:
			nFloat++
		case float32:
			nFloat32++
		case int64, int:
			nInt++
		case int32:
			nInt32++
		case bool:
			nBool++
		case string:
			nStr++
		default:
			nOther++
		}
	}
	n := len(col)
	switch {
	case n == 0 || nOther > 0:
		return flavors.Object
	case nFloat32 == n:
		return flavors.Float32
	case nInt32 == n:
		return flavors.Int32
	case nInt+nInt32 == n:
		return flavors.Int64
	case nFloat+nFloat32+nInt+nInt32+nNil == n && nNil < n:
		return flavors.Float64
	case nBool == n:
		return flavors.Bool
	case nStr == n:
		return flavors.String
	}
	return flavors.Object
}

func isInt(d flavors.DType) bool {
	switch d {
	case flavors.Int8, flavors.Int16, flavors.Int32, flavors.Int64,
		flavors.Uint8, flavors.Uint16, flavors.Uint32, flavors.Uint64:
		return true
	}
	return false
}

func isFloat(d flavors.DType) bool {
	return d == flavors.Float16 || d == flavors.Float32 || d == flavors.Float64
}

// promote is the common dtype of two frame columns as pandas' df.values
// computes it: equal types stay; integers widen to int64; floats with
// anything numeric become float64 (float32 only with float32 or small
// integers); anything with bool, strings or objects becomes object.
func promote(a, b flavors.DType) flavors.DType {
	switch {
	case a == b:
		return a
	case isInt(a) && isInt(b):
		return flavors.Int64
	case isFloat(a) && isFloat(b):
		return flavors.Float64
	case isFloat(a) && isInt(b), isInt(a) && isFloat(b):
		f, i := a, b
		if isInt(a) {
			f, i = b, a
		}
		if f == flavors.Float32 && (i == flavors.Int8 || i == flavors.Int16 || i == flavors.Uint8 || i == flavors.Uint16) {
			return flavors.Float32
		}
		return flavors.Float64
	}
	return flavors.Object
}

// columnData converts a column's values to the typed slice of dtype d.
func columnData(col []any, d flavors.DType) (any, error) {
	switch d {
	case flavors.Float64:
		return convert(col, func(v any) (float64, bool) {
			if v == nil {
				return math.NaN(), true
			}
			return toFloat(v)
		})
	case flavors.Float32:
		return convert(col, func(v any) (float32, bool) {
			if v == nil {
				return float32(math.NaN()), true
			}
			f, ok := toFloat(v)
			return float32(f), ok
		})
	case flavors.Int64:
		return convert(col, func(v any) (int64, bool) { return toInt(v) })
	case flavors.Int32:
		return convert(col, func(v any) (int32, bool) {
			i, ok := toInt(v)
			return int32(i), ok && i == int64(int32(i))
		})
	case flavors.Bool:
		return convert(col, func(v any) (bool, bool) { b, ok := v.(bool); return b, ok })
	case flavors.String:
		return convert(col, func(v any) (string, bool) { s, ok := v.(string); return s, ok })
	}
	return append([]any(nil), col...), nil
}

func convert[T any](col []any, conv func(any) (T, bool)) ([]T, error) {
	out := make([]T, len(col))
	for r, v := range col {
		x, ok := conv(v)
		if !ok {
			var zero T
			return nil, fmt.Errorf("value %v (%T) at row %d cannot be converted to %T", v, v, r, zero)
		}
		out[r] = x
	}
	return out, nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int:
		return int64(x), true
	}
	return 0, false
}

// stack interleaves per-column typed slices into one row-major slice.
func stack(d flavors.DType, cols []any, rows int) any {
	switch d {
	case flavors.Float64:
		return interleave[float64](cols, rows)
	case flavors.Float32:
		return interleave[float32](cols, rows)
	case flavors.Int64:
		return interleave[int64](cols, rows)
	case flavors.Int32:
		return interleave[int32](cols, rows)
	case flavors.Bool:
		return interleave[bool](cols, rows)
	case flavors.String:
		return interleave[string](cols, rows)
	}
	return interleave[any](cols, rows)
}

func interleave[T any](cols []any, rows int) []T {
	nc := len(cols)
	out := make([]T, rows*nc)
	for c, col := range cols {
		vals := col.([]T)
		for r, v := range vals {
			out[r*nc+c] = v
		}
	}
	return out
}

// stackFloat32 is float32(float64(v)) of every value, row-major, for
// columns whose common dtype is float64 (None is NaN, as in pandas).
func stackFloat32(f *flavors.Frame, rows int) ([]float32, error) {
	nc := len(f.Data)
	out := make([]float32, rows*nc)
	for c, col := range f.Data {
		for r, v := range col {
			x := math.NaN()
			if v != nil {
				var ok bool
				if x, ok = toFloat(v); !ok {
					return nil, badInput("column %q: value %v (%T) at row %d cannot be converted to float64", f.Columns[c], v, v, r)
				}
			}
			out[r*nc+c] = float32(x)
		}
	}
	return out, nil
}
