package serve

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/internal/pyfmt"
)

// shapeOf returns the shape numpy gives np.array(v): nested lists must be
// rectangular ("inhomogeneous" otherwise), objects count as scalars.
func shapeOf(v *value) ([]int64, error) {
	var shape []int64
	level := []*value{v}
	for {
		if level[0].k != kArray {
			for _, e := range level[1:] {
				if e.k == kArray {
					return nil, inhomogeneous(shape)
				}
			}
			return shape, nil
		}
		n := level[0].length()
		if allPacked(level, n) {
			return append(shape, int64(n)), nil
		}
		next := make([]*value, 0, n*len(level))
		for _, e := range level {
			if e.k != kArray || e.length() != n {
				return nil, inhomogeneous(shape)
			}
			items := e.items()
			for i := range items {
				next = append(next, &items[i])
			}
		}
		shape = append(shape, int64(n))
		if n == 0 {
			return shape, nil
		}
		level = next
	}
}

// allPacked reports whether every value of a level is a packed number
// array of n elements: the level below is all scalars.
func allPacked(level []*value, n int) bool {
	for _, e := range level {
		if e.nums == nil || e.nums.len() != n {
			return false
		}
	}
	return n > 0
}

// packedLeaves returns the packed innermost arrays of a rectangular nested
// list, in row-major order, when they hold all n of its scalars; ok is
// false otherwise.
func packedLeaves(v *value, n int) (blocks []*packedNums, ok bool) {
	total := 0
	var walk func(v *value) bool
	walk = func(v *value) bool {
		if v.nums != nil {
			blocks = append(blocks, v.nums)
			total += v.nums.len()
			return true
		}
		if v.k != kArray || len(v.arr) == 0 {
			return false
		}
		for i := range v.arr {
			if !walk(&v.arr[i]) {
				return false
			}
		}
		return true
	}
	return blocks, walk(v) && total == n
}

// packedFloats is Python's float() of every packed literal, as T (packed
// literals are plain numbers: no NaN or Infinity).
func packedFloats[T float32 | float64](blocks []*packedNums, n int) []T {
	out := make([]T, 0, n)
	for _, b := range blocks {
		for i := range b.len() {
			out = append(out, T(b.float(i)))
		}
	}
	return out
}

// blockCursor reads packed blocks' literals in order (i must count up
// from 0 by one).
func blockCursor(blocks []*packedNums) func(int) *value {
	tmp := &value{k: kNumber}
	b, j := 0, 0
	return func(int) *value {
		for j >= blocks[b].len() {
			b, j = b+1, 0
		}
		tmp.num = blocks[b].at(j)
		j++
		return tmp
	}
}

func inhomogeneous(shape []int64) error {
	return pyErrorf("setting an array element with a sequence. The requested array has an "+
		"inhomogeneous shape after %d dimensions. The detected shape was %s + inhomogeneous part.",
		len(shape), pyTuple(shape))
}

// leaves appends the scalars of a rectangular nested list in row-major order.
func leaves(v *value, out []*value) []*value {
	if v.k != kArray {
		return append(out, v)
	}
	items := v.items()
	for i := range items {
		out = leaves(&items[i], out)
	}
	return out
}

// inferDType is the dtype np.array gives a list of JSON scalars.
func inferDType(vs []*value) flavors.DType {
	allBool, allInt, allNum, anyStr, anyNull, anyObj := true, true, true, false, false, false
	for _, v := range vs {
		switch v.k {
		case kBool:
			allNum = allNum && true
		case kNumber:
			allBool = false
			if !v.isInt() {
				allInt = false
			}
		case kString:
			anyStr = true
			allBool, allInt, allNum = false, false, false
		case kNull:
			anyNull = true
			allBool, allInt, allNum = false, false, false
		default:
			anyObj = true
			allBool, allInt, allNum = false, false, false
		}
	}
	switch {
	case len(vs) == 0:
		return flavors.Float64
	case anyObj || anyNull:
		return flavors.Object
	case anyStr:
		return flavors.String
	case allBool:
		return flavors.Bool
	case allInt:
		return flavors.Int64
	case allNum:
		return flavors.Float64
	}
	return flavors.Object
}

// normDType maps numpy dtype names from signatures to flavors.DType.
func normDType(s string) flavors.DType {
	switch s {
	case "str", "string", "unicode", "bytes", "<U0":
		return flavors.String
	case "object", "O":
		return flavors.Object
	case "bool", "bool_":
		return flavors.Bool
	}
	return flavors.DType(s)
}

// toTensor converts a JSON value as np.array(v, dtype=dt) would; dt empty
// means numpy's own inference.
func toTensor(v *value, dt flavors.DType) (*flavors.Tensor, error) {
	shape, err := shapeOf(v)
	if err != nil {
		return nil, err
	}
	var data any
	if blocks, ok := packedLeaves(v, numel(shape)); ok && isNumeric(dt) {
		switch dt {
		case flavors.Float32, flavors.Float16:
			data = packedFloats[float32](blocks, numel(shape))
		case flavors.Float64:
			data = packedFloats[float64](blocks, numel(shape))
		default:
			data, err = castLeaves(numel(shape), blockCursor(blocks), dt)
		}
	} else {
		vs := leaves(v, make([]*value, 0, numel(shape)))
		if dt == "" {
			dt = inferDType(vs)
		}
		data, err = castLeaves(len(vs), func(i int) *value { return vs[i] }, dt)
	}
	if err != nil {
		return nil, err
	}
	if shape == nil {
		shape = []int64{}
	}
	return &flavors.Tensor{DType: dt, Shape: shape, Data: data}, nil
}

func numel(shape []int64) int {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return int(n)
}

// isNumeric reports whether dt is a numeric numpy dtype (the casts that
// read number literals one at a time).
func isNumeric(dt flavors.DType) bool {
	switch dt {
	case flavors.Float16, flavors.Float32, flavors.Float64, flavors.Int8, flavors.Int16, flavors.Int32,
		flavors.Int64, flavors.Uint8, flavors.Uint16, flavors.Uint32, flavors.Uint64:
		return true
	}
	return false
}

// castLeaves converts the n scalars at(0..n-1) to a typed slice of dt. The
// pointer at returns is only read before the next call.
func castLeaves(n int, vs func(int) *value, dt flavors.DType) (any, error) {
	switch dt {
	case flavors.Float16, flavors.Float32:
		return castAll(n, vs, func(v *value) (float32, error) { f, err := toFloat(v); return float32(f), err })
	case flavors.Float64:
		return castAll(n, vs, toFloat)
	case flavors.Int8:
		return castAll(n, vs, intCaster[int8](dt, math.MinInt8, math.MaxInt8))
	case flavors.Int16:
		return castAll(n, vs, intCaster[int16](dt, math.MinInt16, math.MaxInt16))
	case flavors.Int32:
		return castAll(n, vs, intCaster[int32](dt, math.MinInt32, math.MaxInt32))
	case flavors.Int64:
		return castAll(n, vs, intCaster[int64](dt, math.MinInt64, math.MaxInt64))
	case flavors.Uint8:
		return castAll(n, vs, intCaster[uint8](dt, 0, math.MaxUint8))
	case flavors.Uint16:
		return castAll(n, vs, intCaster[uint16](dt, 0, math.MaxUint16))
	case flavors.Uint32:
		return castAll(n, vs, intCaster[uint32](dt, 0, math.MaxUint32))
	case flavors.Uint64:
		return castAll(n, vs, intCaster[uint64](dt, 0, math.MaxInt64))
	case flavors.Bool:
		return castAll(n, vs, func(v *value) (bool, error) { return truthy(v), nil })
	case flavors.String:
		return castAll(n, vs, func(v *value) (string, error) { return pyStr(v), nil })
	case flavors.Object:
		return castAll(n, vs, func(v *value) (any, error) { return goValue(v), nil })
	}
	return nil, pyErrorf("data type %q not understood", string(dt))
}

func castAll[T any](n int, vs func(int) *value, f func(*value) (T, error)) ([]T, error) {
	out := make([]T, n)
	for i := range out {
		x, err := f(vs(i))
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

// toFloat is Python's float() on a JSON scalar.
func toFloat(v *value) (float64, error) {
	switch v.k {
	case kNumber:
		return v.float(), nil
	case kBool:
		if v.b {
			return 1, nil
		}
		return 0, nil
	case kNull:
		return math.NaN(), nil
	case kString:
		f, err := parsePyFloat(v.s)
		if err != nil {
			return 0, pyErrorf("could not convert string to float: '%s'", v.s)
		}
		return f, nil
	}
	return 0, pyErrorf("setting an array element with a sequence")
}

func parsePyFloat(s string) (float64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch strings.TrimLeft(t, "+-") {
	case "nan":
		return math.NaN(), nil
	case "inf", "infinity":
		if strings.HasPrefix(t, "-") {
			return math.Inf(-1), nil
		}
		return math.Inf(1), nil
	}
	return strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// intCaster is numpy's int conversion: floats truncate, bools are 0/1,
// strings must hold an integer, None fails, out-of-range values fail.
func intCaster[T integer](dt flavors.DType, lo, hi float64) func(*value) (T, error) {
	return func(v *value) (T, error) {
		var f float64
		switch v.k {
		case kNumber:
			if v.isInt() {
				n, err := strconv.ParseInt(v.num, 10, 64)
				if err != nil {
					if u, uerr := strconv.ParseUint(v.num, 10, 64); uerr == nil && dt == flavors.Uint64 {
						return T(u), nil
					}
					return 0, pyErrorf("Python integer %s out of bounds for %s", v.num, dt)
				}
				if float64(n) < lo || float64(n) > hi {
					return 0, pyErrorf("Python integer %s out of bounds for %s", v.num, dt)
				}
				return T(n), nil
			}
			f = v.float()
			if math.IsNaN(f) {
				return 0, pyErrorf("cannot convert float NaN to integer")
			}
			if math.IsInf(f, 0) {
				return 0, pyErrorf("cannot convert float infinity to integer")
			}
			f = math.Trunc(f)
		case kBool:
			if v.b {
				return 1, nil
			}
			return 0, nil
		case kString:
			n, err := strconv.ParseInt(strings.TrimSpace(v.s), 10, 64)
			if err != nil {
				return 0, pyErrorf("invalid literal for int() with base 10: '%s'", v.s)
			}
			f = float64(n)
		case kNull:
			return 0, pyErrorf("int() argument must be a string, a bytes-like object or a real number, not 'NoneType'")
		default:
			return 0, pyErrorf("setting an array element with a sequence")
		}
		if f < lo || f > hi {
			return 0, pyErrorf("Python integer %s out of bounds for %s", strconv.FormatFloat(f, 'f', -1, 64), dt)
		}
		return T(f), nil
	}
}

// truthy is Python's bool().
func truthy(v *value) bool {
	switch v.k {
	case kBool:
		return v.b
	case kNumber:
		return v.float() != 0
	case kString:
		return v.s != ""
	case kArray:
		return len(v.items()) > 0
	case kObject:
		return len(v.keys) > 0
	}
	return false
}

// pyStr is Python's str() of a JSON scalar.
func pyStr(v *value) string {
	switch v.k {
	case kString:
		return v.s
	case kBool:
		if v.b {
			return "True"
		}
		return "False"
	case kNull:
		return "None"
	case kNumber:
		if v.isInt() {
			return v.num
		}
		return pyfmt.Float(v.float())
	}
	return string(appendPyRepr(nil, v))
}

// appendPyRepr appends Python's repr of a JSON value: dicts keep their key
// order, strings take Python's quotes.
func appendPyRepr(b []byte, v *value) []byte {
	switch v.k {
	case kString:
		return appendPyQuoted(b, v.s)
	case kArray:
		b = append(b, '[')
		for i, e := range v.items() {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendPyRepr(b, &e)
		}
		return append(b, ']')
	case kObject:
		b = append(b, '{')
		for i, k := range v.keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendPyQuoted(b, k)
			b = append(b, ": "...)
			b = appendPyRepr(b, &v.vals[i])
		}
		return append(b, '}')
	}
	return append(b, pyStr(v)...)
}

// appendPyQuoted appends Python's repr of a str.
func appendPyQuoted(b []byte, s string) []byte {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	b = append(b, q)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(q):
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20 || r == 0x7f:
			b = fmt.Appendf(b, `\x%02x`, r)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, q)
}

// goValue converts a JSON value to plain Go values: nil, bool, int64,
// float64, string, []any, map[string]any.
func goValue(v *value) any {
	switch v.k {
	case kBool:
		return v.b
	case kNumber:
		if v.isInt() {
			if n, err := strconv.ParseInt(v.num, 10, 64); err == nil {
				return n
			}
		}
		return v.float()
	case kString:
		return v.s
	case kArray:
		out := make([]any, len(v.items()))
		for i := range v.items() {
			out[i] = goValue(&v.items()[i])
		}
		return out
	case kObject:
		out := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			out[k] = goValue(&v.vals[i])
		}
		return out
	}
	return nil
}

// pyTuple formats a shape as Python prints a tuple: (2, 3), (4,), ().
func pyTuple(shape []int64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(d, 10))
	}
	if len(shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// pyError is an error whose text copies a Python/numpy/pandas message
// verbatim (capitalised, punctuated), so clients see what MLflow says.
type pyError string

func (e pyError) Error() string { return string(e) }

func pyErrorf(format string, args ...any) error {
	if len(args) == 0 {
		return pyError(format)
	}
	return pyError(fmt.Sprintf(format, args...))
}
