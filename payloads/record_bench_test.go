package payloads

import (
	"context"
	"syscall"
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
	e, en := newEncoder(1, 0), entryOf(&r)
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		line = e.appendJSON(line[:0], &en, r.Request, r.Response)
	}
	b.SetBytes(int64(len(line)))
}

// BenchmarkLogger is the whole cost of one logged record: Add on the
// caller's side, the hand-off, encoding and writing the line (no
// upload). Records are added in bursts of 2048, each written before the
// next so that none is dropped (the waits are a small share of the CPU
// time); cpu-ns/op is the process's CPU time per record, the writer's
// included, which other work on the machine does not inflate as it does
// ns/op.
func BenchmarkLogger(b *testing.B) {
	const burst = 2048
	l, err := New(Options{Dir: b.TempDir(), Sample: 1, Queue: burst})
	if err != nil {
		b.Fatal(err)
	}
	r := benchRecord()
	added := uint64(0)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		l.Add(r)
		if added++; added%burst == 0 {
			for l.Logged()+l.Dropped() < added {
				time.Sleep(time.Millisecond)
			}
		}
	}
	_ = l.Close(context.Background())
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
}

// cpuTime is the user + system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
