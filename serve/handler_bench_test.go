package serve

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/payloads"
)

// BenchmarkInvocationsHandler is the server's own cost per /invocations
// request (no network, a predictor that answers a fixed tensor): parsing,
// schema enforcement, admission, metrics, rendering, gin.
func BenchmarkInvocationsHandler(b *testing.B) { benchInvocations(b, -1, nil, nil) }

// BenchmarkInvocationsHandlerShadow is the same with a canary beside the
// model and every answer mirrored to it (the caller's cost of shadow
// traffic: sampling, queueing or dropping).
func BenchmarkInvocationsHandlerShadow(b *testing.B) { benchInvocations(b, 100, nil, nil) }

// BenchmarkInvocationsHandlerPayloads is the same with every request and
// its answer logged by a payload logger writing JSON Lines files (the
// caller's cost of payload logging: sampling, copying the bodies,
// queueing or dropping). Its cpu-ns/op also holds the writer's work, as
// the logger is closed (its queue written) before the CPU time is read.
func BenchmarkInvocationsHandlerPayloads(b *testing.B) {
	l, err := payloads.New(payloads.Options{Dir: b.TempDir(), Sample: 1})
	if err != nil {
		b.Fatal(err)
	}
	benchInvocations(b, -1, func(o *Options) { o.Payloads = l }, func() {
		_ = l.Close(context.Background())
		b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
	})
}

// benchInvocations runs the benchmark with a canary taking no requests
// and mirroring shadow percent of them, or without a canary (shadow < 0),
// with the options changed by mod. It also reports the process's CPU time
// per request (cpu-ns/op, which other work on a shared machine does not
// inflate as it does ns/op), read after drain (when set) has run.
func benchInvocations(b *testing.B, shadow int, mod func(*Options), drain func()) {
	t := &testing.T{}
	body := []byte(`{"dataframe_split": {"columns": ["x1", "x2", "x3"], "data": [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-1.5, 4.0, 2.5]]}}`)
	s, ts := newTestServer(t, fixed{}, frameSig, mod)
	defer ts.Close()
	defer func() { _ = s.Close() }()
	if shadow >= 0 {
		if err := s.InstallCanary(&Model{Predictor: fixed{}, Flavor: "fake", Version: "2"}, 0); err != nil {
			b.Fatal(err)
		}
		if err := s.SetShadow(shadow); err != nil {
			b.Fatal(err)
		}
	}
	h := s.Handler()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/invocations", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	if drain != nil {
		drain()
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the user + system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fixed answers every input with a 3-row tensor.
type fixed struct{}

func (fixed) Predict(_ context.Context, _ *flavors.Input) (*flavors.Output, error) {
	return outputOf([]float32{1.5, -0.25, 3}, 3), nil
}

func (fixed) Close() error { return nil }
