package serve

import (
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/mlgate/mlgate/flavors"
)

// expand materialises every packed array below v.
func expand(v *value) {
	for i := range v.items() {
		expand(&v.arr[i])
	}
	for i := range v.vals {
		expand(&v.vals[i])
	}
}

var packedDTypes = []flavors.DType{"", flavors.Float16, flavors.Float32, flavors.Float64, flavors.Int8,
	flavors.Int16, flavors.Int32, flavors.Int64, flavors.Uint8, flavors.Uint16, flavors.Uint32, flavors.Uint64,
	flavors.Bool, flavors.String, flavors.Object}

// samePacked checks that the packed parse of body means what the plain
// parse means: the same error, the same tree once expanded, and the same
// tensor (or error) for every dtype.
func samePacked(t *testing.T, body []byte) {
	t.Helper()
	plain, perr := parseJSON(body)
	packed, kerr := parseJSONPacked(body)
	if fmt.Sprint(perr) != fmt.Sprint(kerr) {
		t.Fatalf("errors differ for %q: plain %v, packed %v", body, perr, kerr)
	}
	if perr != nil {
		return
	}
	for _, dt := range packedDTypes {
		again, _ := parseJSONPacked(body)
		want, werr := toTensor(&plain, dt)
		got, gerr := toTensor(&again, dt)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("toTensor(%q, %q) errors differ: plain %v, packed %v", body, dt, werr, gerr)
		}
		if werr == nil && fmt.Sprintf("%s %v %v", want.DType, want.Shape, want.Data) != fmt.Sprintf("%s %v %v", got.DType, got.Shape, got.Data) {
			t.Fatalf("toTensor(%q, %q) differs: plain %s %v %v, packed %s %v %v", body, dt,
				want.DType, want.Shape, want.Data, got.DType, got.Shape, got.Data)
		}
	}
	expand(&packed)
	if fmt.Sprintf("%+v", plain) != fmt.Sprintf("%+v", packed) {
		t.Fatalf("trees differ for %q:\nplain  %+v\npacked %+v", body, plain, packed)
	}
}

var packedSeeds = []string{
	`[1, 2, 3]`, `[[1.5, -2], [3e2, 4E-1]]`, `[[1, 2], [3]]`, `[[1, 2], [true, 3]]`, `[1, "a"]`,
	`[1, NaN]`, `[-Infinity, 1]`, `[1, -Infinity]`, `[1 2]`, `[1,]`, `[1, -]`, `[01]`, `[1.]`, `[-0, 0.0]`,
	`[300, -129, 1.9]`, `[18446744073709551615, 9223372036854775808]`, `{"x": [[1, 2], [3, 4]], "y": [5]}`,
	`[[[1], [2]], [[3], [4]]]`, `[[1, 2], []]`, `[[], []]`, `[1, [2]]`, `[[1], 2]`, `[ 1 , 2 ]`, `[1, null]`,
	`[1, {"a": 2}]`, `[1e400, -1e400]`, `[1`, `[1,`, `[-`, `[{"b": "it's", "a": [1, "x\ny"]}]`,
	// arrays long enough to keep the values computed while scanning
	`[[0.1, 0.2, 0.30000000000000004, 1e400, -1e-400, 9007199254740993, 123456789012345678, 1e22, 1e23, -0, ` +
		`0.000001, 4.9e-324, 2.5E+3, 1.7976931348623157e308, 7, 8, 9]]`,
	`[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16.5]]`,
	`[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, "x"]`,
}

func TestPackedParseMatchesPlain(t *testing.T) {
	for _, s := range packedSeeds {
		samePacked(t, []byte(s))
	}
}

func TestPackedLargeTensor(t *testing.T) {
	body := []byte(`{"inputs": {"x": [[0.25, -1, 3.5], [2, 1e-3, 0.0]]}}`)
	req, err := parseJSONBody(body)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := req.data.get("x")
	if x.length() != 2 || x.arr[0].nums == nil {
		t.Fatalf("rows were not packed: %+v", x)
	}
	tt, err := toTensor(x, flavors.Float32)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0.25, -1, 3.5, 2, 1e-3, 0}
	got := tt.Data.([]float32)
	if fmt.Sprint(tt.Shape) != "[2 3]" || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tensor %v %v, want [2 3] %v", tt.Shape, got, want)
	}
}

// FuzzPackedParse checks the packed parse against the plain one.
func FuzzPackedParse(f *testing.F) {
	for _, s := range packedSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		samePacked(t, body)
	})
}

func TestPyStrOfContainers(t *testing.T) {
	v, err := parseJSON([]byte(`{"x": [[1, 2.5], [true, null]], "q": "it's", "z": "a'\"b\\"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{'x': [[1, 2.5], [True, None]], 'q': "it's", 'z': 'a\'"b\\'}`
	if got := pyStr(&v); got != want {
		t.Fatalf("pyStr = %s, want %s", got, want)
	}
}

func TestFastFloatMatchesStrconv(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "-1.5", "0.1", "3.14159", "1e22", "1e23", "123456789012345",
		"1234567890123456", "0.000001", "1e-22", "1.5e-7", "9007199254740993", "-0.0", "2.5E+3", "00012",
		"0.30000000000000004", "1e400", "4.9e-324", "12.", ".5"} {
		checkFastFloat(t, s)
	}
}

func checkFastFloat(t *testing.T, s string) {
	t.Helper()
	got, ok := fastFloat(s)
	if !ok {
		return
	}
	want, err := strconv.ParseFloat(s, 64)
	if err != nil || math.Float64bits(got) != math.Float64bits(want) {
		t.Fatalf("fastFloat(%q) = %v, strconv says %v (%v)", s, got, want, err)
	}
}

// FuzzFastFloat checks the fast path against strconv on any literal.
func FuzzFastFloat(f *testing.F) {
	for _, s := range []string{"1.25", "-3e-5", "123456789012345e7", "0.1e1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkFastFloat(t, s)
	})
}

func TestScanNumberValue(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "-1.5", "0.1", "3.14159", "1e22", "1e23", "123456789012345",
		"1234567890123456", "0.000001", "1e-22", "1.5e-7", "9007199254740993", "-0.0", "2.5E+3", "00012",
		"0.30000000000000004", "1e400", "4.9e-324", "12.", "-", "1e", "1e+", "0.000000000000000000000000001",
		"100000000000000000000000", "0e999", "-0.849", "12,", "7]"} {
		checkScanNumber(t, s)
	}
}

// checkScanNumber checks that scanNumberValue accepts and rejects what
// scanNumber does, stops at the same place, and that a value it computes is
// strconv's.
func checkScanNumber(t *testing.T, s string) {
	t.Helper()
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return
	}
	a, b := &parser{data: []byte(s)}, &parser{data: []byte(s)}
	f, fast, err := a.scanNumberValue()
	errPlain := b.scanNumber()
	if fmt.Sprint(err) != fmt.Sprint(errPlain) || a.i != b.i {
		t.Fatalf("%q: scanNumberValue stopped at %d with %v, scanNumber at %d with %v", s, a.i, err, b.i, errPlain)
	}
	if err != nil || !fast {
		return
	}
	want, perr := strconv.ParseFloat(s[:a.i], 64)
	if perr != nil || math.Float64bits(f) != math.Float64bits(want) {
		t.Fatalf("%q: value %v, strconv says %v (%v)", s[:a.i], f, want, perr)
	}
}

// FuzzScanNumberValue checks the fused scan against scanNumber and strconv.
func FuzzScanNumberValue(f *testing.F) {
	for _, s := range []string{"1.25", "-3e-5", "123456789012345e7", "0.1e1", "0.0000123", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkScanNumber(t, s)
	})
}
