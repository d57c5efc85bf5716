package serve

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/payloads"
)

// BenchmarkInvocationsHandler is the server's own cost per /invocations
// request (no network, a predictor that answers a fixed tensor): parsing,
// schema enforcement, admission, metrics, rendering, gin.
func BenchmarkInvocationsHandler(b *testing.B) { benchInvocations(b, -1, nil) }

// BenchmarkInvocationsHandlerShadow is the same with a canary beside the
// model and every answer mirrored to it (the caller's cost of shadow
// traffic: sampling, queueing or dropping).
func BenchmarkInvocationsHandlerShadow(b *testing.B) { benchInvocations(b, 100, nil) }

// BenchmarkInvocationsHandlerPayloads is the same with every request and
// its answer logged by a payload logger writing JSON Lines files (the
// caller's cost of payload logging: sampling, copying the bodies,
// queueing or dropping).
func BenchmarkInvocationsHandlerPayloads(b *testing.B) {
	l, err := payloads.New(payloads.Options{Dir: b.TempDir(), Sample: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = l.Close(context.Background())
		b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
	}()
	benchInvocations(b, -1, func(o *Options) { o.Payloads = l })
}

// benchInvocations runs the benchmark with a canary taking no requests
// and mirroring shadow percent of them, or without a canary (shadow < 0),
// with the options changed by mod.
func benchInvocations(b *testing.B, shadow int, mod func(*Options)) {
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
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/invocations", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// fixed answers every input with a 3-row tensor.
type fixed struct{}

func (fixed) Predict(_ context.Context, _ *flavors.Input) (*flavors.Output, error) {
	return outputOf([]float32{1.5, -0.25, 3}, 3), nil
}

func (fixed) Close() error { return nil }
