package payloads

import (
	"testing"
	"time"
)

// benchRecord is a logged /invocations exchange of the linear model.
func benchRecord() Record {
	return Record{Time: time.Now(), Model: "linear", Version: "3", Route: "/invocations", Status: 200, Latency: 1234 * time.Microsecond,
		Request:  []byte(`{"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.5, 4.0, 2.5]]}}`),
		Response: []byte(`{"predictions": [1.5, -0.25, 3.0]}`)}
}

// BenchmarkAppendJSON is the writer's cost to encode one record into its
// line (no reflection, the line buffer reused).
func BenchmarkAppendJSON(b *testing.B) {
	r := benchRecord()
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		line = appendJSON(line[:0], &r, 1, 0)
	}
	b.SetBytes(int64(len(line)))
}
