package server

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
	b, _ := json.Marshal([]wfloat{wfloat(math.NaN()), wfloat(math.Inf(1)), 1.5})
	if string(b) != `["NaN","Infinity",1.5]` {
		t.Fatalf("encoded %s", b)
	}
}

// FuzzDecodeLogBatch feeds arbitrary bodies to the log-batch decoder: it
// must never panic, and what it accepts must convert or fail cleanly.
func FuzzDecodeLogBatch(f *testing.F) {
	for _, s := range []string{
		`{"run_id":"r","metrics":[{"key":"a","value":"NaN","timestamp":"1","step":2}],"params":[{"key":"p","value":"v"}]}`,
		`"{\"run_id\":\"r\"}"`, `{"metrics":[{"value":1e400}]}`, `[]`, `{"run_id":5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req struct {
			runIDReq
			Metrics []wMetricIn `json:"metrics"`
			Params  []wTag      `json:"params"`
			Tags    []wTag      `json:"tags"`
		}
		if err := decodeJSON(body, &req); err != nil {
			return
		}
		for _, m := range req.Metrics {
			_, _ = m.toStore("metrics.")
		}
		_, _ = req.id()
	})
}
