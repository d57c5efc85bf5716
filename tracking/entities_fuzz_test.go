package tracking

import (
	"encoding/json"
	"math"
	"testing"
)

// FuzzMetricJSON decodes arbitrary JSON as a metric (what a server sends
// back) and checks that what decodes re-encodes and decodes to the same
// value.
func FuzzMetricJSON(f *testing.F) {
	f.Add([]byte(`{"key":"m","value":1.5,"timestamp":"17","step":2}`))
	f.Add([]byte(`{"key":"m","value":"NaN","timestamp":1,"step":"-3"}`))
	f.Add([]byte(`{"value":"-Infinity"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Metric
		if json.Unmarshal(b, &m) != nil {
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", m, err)
		}
		var back Metric
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("decode %s: %v", out, err)
		}
		same := back.Value == m.Value || (math.IsNaN(float64(back.Value)) && math.IsNaN(float64(m.Value)))
		if !same || back.Step != m.Step || back.Timestamp != m.Timestamp || back.Key != m.Key {
			t.Fatalf("round trip %+v -> %s -> %+v", m, out, back)
		}
	})
}

// FuzzValidateKey checks that accepted keys never escape a folder.
func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"loss", "a/b", "../x", "/abs", "a//b", ".", "x y:z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, k string) {
		if ValidateKey("metric", k) != nil {
			return
		}
		if k == "" || k[0] == '/' || k == ".." || len(k) >= 3 && k[:3] == "../" {
			t.Fatalf("accepted unsafe key %q", k)
		}
	})
}
