package wire

import (
	"encoding/json"
	"math"
	"testing"
)

func TestWireNumbers(t *testing.T) {
	var v struct {
		A Int64 `json:"a"`
		B Float `json:"b"`
		C Float `json:"c"`
		D Bool  `json:"d"`
	}
	if err := json.Unmarshal([]byte(`{"a":"123","b":"NaN","c":"-Infinity","d":"True"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.V != 123 || !math.IsNaN(v.B.V) || !math.IsInf(v.C.V, -1) || !v.D.V {
		t.Fatalf("%+v", v)
	}
	for _, bad := range []string{`{"a":"x"}`, `{"b":true}`, `{"b":"abc"}`, `{"d":"maybe"}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
	// MLflow's type check takes 1.5 and true for an int64, its proto
	// parsing leaves the field unset; 2.0 is 2.
	for in, want := range map[string]Int64{`{"a":1.5}`: {}, `{"a":true}`: {}, `{"a":2.0}`: {V: 2, Set: true}} {
		v.A = Int64{}
		if err := json.Unmarshal([]byte(in), &v); err != nil || v.A != want {
			t.Errorf("%s: %+v %v, want %+v", in, v.A, err, want)
		}
	}
	b, _ := json.Marshal([]Double{Double(math.NaN()), Double(math.Inf(1)), 1.5})
	if string(b) != `["NaN","Infinity",1.5]` {
		t.Fatalf("encoded %s", b)
	}
}

// TestPyJSON checks values are quoted as Python's json.dumps(v,
// sort_keys=True, separators=(",", ":")) quotes them in MLflow's messages.
func TestPyJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"b": 1, "a": [1.0, "x"]}`: `{"a":[1.0,"x"],"b":1}`,
		`1e16`:                      `1e+16`,
		`1e-5`:                      `1e-05`,
		`100000.0`:                  `100000.0`,
		`0.0001`:                    `0.0001`,
		`1.50`:                      `1.5`,
		`-0`:                        `0`,
		`1e400`:                     `Infinity`,
		`"é\n<&>\u0001😀"`:           `"\u00e9\n<&>\u0001\ud83d\ude00"`,
		`12345678901234567.0`:       `1.2345678901234568e+16`,
		`not json`:                  `not json`,
	} {
		if got := pyJSON([]byte(in)); got != want {
			t.Errorf("pyJSON(%s) = %s, want %s", in, got, want)
		}
	}
}
