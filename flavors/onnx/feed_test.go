package onnx

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/flavors"
)

func TestHalfRoundTrip(t *testing.T) {
	tests := []struct {
		in   float32
		bits uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e10, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00}, {6.103515625e-05, 0x0400}, {5.960464477539063e-08, 0x0001},
		{1e-9, 0}, {0.1, 0x2e66}, {1.0009765625, 0x3c01}, {1.00048828125, 0x3c00}, {1.00146484375, 0x3c02},
	}
	for _, tc := range tests {
		if got := halfBits(tc.in); got != tc.bits {
			t.Errorf("halfBits(%v) = %#04x, want %#04x", tc.in, got, tc.bits)
		}
	}
	for h := range 1 << 16 {
		f := halfFloat(uint16(h))
		if math.IsNaN(float64(f)) {
			if got := halfBits(f); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, got)
			}
			continue
		}
		if got := halfBits(f); got != uint16(h) {
			t.Fatalf("halfBits(halfFloat(%#04x)=%v) = %#04x", h, f, got)
		}
	}
}

func TestPromote(t *testing.T) {
	tests := []struct {
		a, b, want flavors.DType
	}{
		{flavors.Float64, flavors.Float64, flavors.Float64},
		{flavors.Int64, flavors.Float64, flavors.Float64},
		{flavors.Int32, flavors.Int64, flavors.Int64},
		{flavors.Float32, flavors.Int64, flavors.Float64},
		{flavors.Float32, flavors.Int16, flavors.Float32},
		{flavors.Float32, flavors.Float64, flavors.Float64},
		{flavors.Bool, flavors.Int64, flavors.Object},
		{flavors.String, flavors.Float64, flavors.Object},
		{flavors.String, flavors.String, flavors.String},
	}
	for _, tc := range tests {
		if got := promote(tc.a, tc.b); got != tc.want {
			t.Errorf("promote(%s, %s) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestColumnDType(t *testing.T) {
	tests := []struct {
		col  []any
		typ  string
		want flavors.DType
	}{
		{[]any{1.0, 2.0}, "", flavors.Float64},
		{[]any{int64(1), 2.5}, "", flavors.Float64},
		{[]any{int64(1), nil}, "", flavors.Float64},
		{[]any{int64(1), int64(2)}, "", flavors.Int64},
		{[]any{true, false}, "", flavors.Bool},
		{[]any{"a", "b"}, "", flavors.String},
		{[]any{"a", 1.0}, "", flavors.Object},
		{[]any{nil}, "", flavors.Object},
		{[]any{1.0}, "long", flavors.Int64},
		{[]any{1.0}, "float", flavors.Float32},
	}
	for _, tc := range tests {
		if got := columnDType(tc.col, tc.typ); got != tc.want {
			t.Errorf("columnDType(%v, %q) = %s, want %s", tc.col, tc.typ, got, tc.want)
		}
	}
}

var oneFloatInput = []ioInfo{{Name: "x", Kind: kindTensor, Elem: flavors.Float32, Dims: []int64{-1, 2}}}

func TestFrameStacksColumns(t *testing.T) {
	in := &flavors.Input{Frame: &flavors.Frame{Columns: []string{"a", "b"}, Data: [][]any{{1.0, 2.0, 3.0}, {int64(4), int64(5), int64(6)}}}}
	feeds, err := buildFeeds(in, oneFloatInput)
	if err != nil {
		t.Fatal(err)
	}
	x := feeds["x"]
	// float64 after stacking, then cast to float32 for a tensor(float) input.
	if x.DType != flavors.Float32 || fmt.Sprint(x.Shape) != "[3 2]" || fmt.Sprint(x.Data) != "[1 4 2 5 3 6]" {
		t.Fatalf("feed = %+v", x)
	}
}

// A frame stacked straight into a float32 input gives what stacking to
// float64 and casting gives: float32(float64(v)), NaN for None, in row order.
func TestFrameStacksIntoFloat32(t *testing.T) {
	in := &flavors.Input{Frame: &flavors.Frame{Columns: []string{"a", "b"},
		Data: [][]any{{0.1, nil, -2.5e-8}, {int64(16777217), int64(-3), int64(0)}}}}
	feeds, err := buildFeeds(in, oneFloatInput)
	if err != nil {
		t.Fatal(err)
	}
	x := feeds["x"]
	want := []float32{float32(0.1), float32(16777217.0), float32(math.NaN()), -3, float32(-2.5e-8), 0}
	got, ok := x.Data.([]float32)
	if !ok || x.DType != flavors.Float32 || fmt.Sprint(x.Shape) != "[3 2]" || len(got) != len(want) {
		t.Fatalf("feed = %+v", x)
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
			t.Errorf("value %d = %v, want %v", i, got[i], want[i])
		}
	}
	// a "double" column (typed by the signature) holding a string
	bad := &flavors.Frame{Columns: []string{"a"}, Data: [][]any{{1.0, "x"}}, Types: []string{"double"}}
	_, err = frameFeeds(bad, oneFloatInput)
	if err == nil || err.Error() != `column "a": value x (string) at row 1 cannot be converted to float64` {
		t.Errorf("err = %v", err)
	}
}

func TestFrameByName(t *testing.T) {
	inputs := []ioInfo{
		{Name: "b", Kind: kindTensor, Elem: flavors.Int64, Dims: []int64{-1}},
		{Name: "a", Kind: kindTensor, Elem: flavors.Float64, Dims: []int64{-1}},
	}
	in := &flavors.Input{Frame: &flavors.Frame{Columns: []string{"a", "b", "extra"}, Data: [][]any{{1.5}, {int64(2)}, {"x"}}}}
	feeds, err := buildFeeds(in, inputs)
	if err != nil {
		t.Fatal(err)
	}
	// float64 stays float64 for a tensor(double) input: only tensor(float) casts.
	if a := feeds["a"]; a.DType != flavors.Float64 || fmt.Sprint(a.Data) != "[1.5]" {
		t.Errorf("a = %+v", a)
	}
	if b := feeds["b"]; b.DType != flavors.Int64 || fmt.Sprint(b.Shape) != "[1]" {
		t.Errorf("b = %+v", b)
	}
}

func TestShapeOutputFrame(t *testing.T) {
	outs := []*flavors.Tensor{
		{DType: flavors.Float32, Shape: []int64{2, 1}, Data: []float32{1, 2}},
		{DType: flavors.Object, Shape: []int64{2}, Data: []any{map[string]any{"0": float32(1)}, map[string]any{"0": float32(0)}}},
	}
	out, err := shapeOutput(true, []string{"y", "p"}, outs)
	if err != nil {
		t.Fatal(err)
	}
	if out.Frame == nil || out.Frame.Rows() != 2 || fmt.Sprint(out.Frame.Types) != "[float ]" {
		t.Fatalf("out = %+v", out.Frame)
	}
	outs[0] = &flavors.Tensor{DType: flavors.Float32, Shape: []int64{2, 2}, Data: []float32{1, 2, 3, 4}}
	if _, err := shapeOutput(true, []string{"y", "p"}, outs); !errors.Is(err, flavors.ErrBadInput) {
		t.Fatalf("mismatched flattened lengths: err = %v", err)
	}
}

func TestParseConfig(t *testing.T) {
	c, err := parseConfig(map[string]any{
		"data": "model.onnx", "providers": []any{"CUDAExecutionProvider", []any{"CPUExecutionProvider", map[string]any{}}},
		"onnx_session_options": map[string]any{"intra_op_num_threads": 2, "execution_mode": "PARALLEL",
			"graph_optimization_level": 99, "extra_session_config": map[string]any{"k": "v", "n": 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "model.onnx" || fmt.Sprint(c.Providers) != "[CUDAExecutionProvider CPUExecutionProvider]" ||
		c.Session.IntraOpThreads != 2 || c.Session.ExecutionMode != "parallel" || !c.Session.HasGraphOpt ||
		c.Session.Extra["n"] != "1" {
		t.Fatalf("config = %+v", c)
	}
	for _, bad := range []map[string]any{
		{}, {"data": "/etc/passwd"}, {"data": "../x.onnx"},
		{"data": "m.onnx", "onnx_session_options": map[string]any{"graph_optimization_level": 7}},
		{"data": "m.onnx", "onnx_session_options": map[string]any{"inter_op_num_threads": -1}},
	} {
		if _, err := parseConfig(bad); err == nil {
			t.Errorf("parseConfig(%v) succeeded", bad)
		}
	}
}

// FuzzBuildFeeds feeds arbitrary JSON-shaped frames and tensors (what the
// server hands over from a request) through the input mapping: it must
// return feeds or an error, never panic.
func FuzzBuildFeeds(f *testing.F) {
	f.Add(`{"columns":["a","b"],"data":[[1.0,2],[3,"x"]]}`, `{"x":{"DType":"float64","Shape":[1,2],"Data":[1,2]}}`, uint8(1))
	f.Add(`{"columns":["x"],"data":[[null]]}`, `{"x":{"DType":"str","Shape":[2],"Data":["a"]}}`, uint8(2))
	f.Fuzz(func(t *testing.T, frameJSON, tensorsJSON string, nIn uint8) {
		inputs := []ioInfo{
			{Name: "x", Kind: kindTensor, Elem: flavors.Float32, Dims: []int64{-1, 2}},
			{Name: "a", Kind: kindTensor, Elem: flavors.Int64, Dims: []int64{-1}},
			{Name: "b", Kind: kindTensor, Elem: flavors.String, Dims: []int64{-1}},
		}[:1+int(nIn)%3]
		var fr struct {
			Columns []string
			Data    [][]any
		}
		if json.Unmarshal([]byte(frameJSON), &fr) == nil {
			frame := &flavors.Frame{Columns: fr.Columns}
			for _, row := range fr.Data {
				for c, v := range row {
					for len(frame.Data) <= c {
						frame.Data = append(frame.Data, nil)
					}
					frame.Data[c] = append(frame.Data[c], v)
				}
			}
			_, _ = buildFeeds(&flavors.Input{Frame: frame}, inputs)
		}
		var raw map[string]struct {
			DType string
			Shape []int64
			Data  []any
		}
		if json.Unmarshal([]byte(tensorsJSON), &raw) == nil {
			in := &flavors.Input{Tensors: map[string]*flavors.Tensor{}}
			for k, v := range raw {
				var data any = v.Data
				if strings.HasPrefix(v.DType, "float") {
					fs := make([]float64, len(v.Data))
					for i, e := range v.Data {
						fs[i], _ = e.(float64)
					}
					data = fs
				}
				in.Tensors[k] = &flavors.Tensor{DType: flavors.DType(v.DType), Shape: v.Shape, Data: data}
			}
			_, _ = buildFeeds(in, inputs)
		}
	})
}

// FuzzParseConfig parses arbitrary onnx flavor blocks (MLmodel files come
// from users): an error or a config with a local data path, never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add(`{"data":"model.onnx","providers":["CPUExecutionProvider"],"onnx_session_options":{"intra_op_num_threads":2,"execution_mode":"parallel","extra_session_config":{"a":1}}}`)
	f.Add(`{"data":"../../etc/passwd","onnx_session_options":{"graph_optimization_level":1e99}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var fl map[string]any
		if json.Unmarshal([]byte(raw), &fl) != nil {
			return
		}
		c, err := parseConfig(fl)
		if err == nil && !filepath.IsLocal(c.Data) {
			t.Fatalf("parseConfig accepted data %q", c.Data)
		}
	})
}
