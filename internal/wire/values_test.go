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
	for _, bad := range []string{`{"a":"x"}`, `{"a":1.5}`, `{"b":true}`, `{"b":"abc"}`, `{"d":"maybe"}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
	b, _ := json.Marshal([]Double{Double(math.NaN()), Double(math.Inf(1)), 1.5})
	if string(b) != `["NaN","Infinity",1.5]` {
		t.Fatalf("encoded %s", b)
	}
}
