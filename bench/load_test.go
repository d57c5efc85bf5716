package bench

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClosedLoopCountsAndErrors(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != "ping" || r.Header.Get("Content-Type") != "text/plain" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		if n.Add(1)%10 == 0 {
			http.Error(w, "every tenth fails", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("pong"))
	}))
	defer srv.Close()
	c := NewClient(4, 5*time.Second)
	req := &Request{URL: srv.URL, ContentType: "text/plain", Body: []byte("ping"), Check: func(b []byte) error {
		if string(b) != "pong" {
			return errors.New("bad body")
		}
		return nil
	}}
	res := Closed(context.Background(), HTTPOp(c, req), 4, Bounds{Duration: 5 * time.Second, MaxRequests: 200})
	if res.Requests != 200 {
		t.Fatalf("requests %d, want 200 (count bound)", res.Requests)
	}
	if res.Errors != 20 {
		t.Errorf("errors %d, want 20", res.Errors)
	}
	if !strings.Contains(res.FirstError, "503") {
		t.Errorf("first error %q", res.FirstError)
	}
	if res.Hist().Count() != 180 || res.Throughput <= 0 || res.Latency.P50 <= 0 {
		t.Errorf("hist %d throughput %v p50 %v", res.Hist().Count(), res.Throughput, res.Latency.P50)
	}
}

func TestClosedLoopTimeBound(t *testing.T) {
	op := func(ctx context.Context) error {
		select {
		case <-time.After(5 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	start := time.Now()
	res := Closed(context.Background(), op, 2, Bounds{Duration: 200 * time.Millisecond})
	if el := time.Since(start); el > time.Second {
		t.Fatalf("ran %v, bound was 200ms", el)
	}
	if res.Errors != 0 {
		t.Errorf("the end of the run must not count as errors: %d (%s)", res.Errors, res.FirstError)
	}
	// 2 senders × 200ms / 5ms ≈ 80; allow slow CI.
	if res.Requests < 10 || res.Requests > 90 {
		t.Errorf("requests %d", res.Requests)
	}
	if res.Latency.P50 < 5*time.Millisecond {
		t.Errorf("p50 %v below the op's own 5ms", res.Latency.P50)
	}
}

func TestOpenLoopChargesQueueing(t *testing.T) {
	// One sender, 100 req/s intended, but every op takes 30ms: the server
	// falls behind and latency from the intended send time must grow well
	// past the 30ms service time.
	op := func(ctx context.Context) error {
		time.Sleep(30 * time.Millisecond)
		return nil
	}
	res := Open(context.Background(), op, 100, 1, Bounds{Duration: 500 * time.Millisecond})
	if res.Requests+res.Missed != 50 {
		t.Fatalf("requests %d + missed %d, want 50 scheduled", res.Requests, res.Missed)
	}
	if res.Missed == 0 {
		t.Errorf("a server 3× too slow must leave sends missed")
	}
	if res.Latency.Max < 200*time.Millisecond {
		t.Errorf("max latency %v: queueing behind a slow server is not charged", res.Latency.Max)
	}
}

func TestOpenLoopKeepsRate(t *testing.T) {
	var n atomic.Int64
	op := func(ctx context.Context) error { n.Add(1); return nil }
	start := time.Now()
	res := Open(context.Background(), op, 200, 4, Bounds{Duration: 300 * time.Millisecond})
	el := time.Since(start)
	if n.Load() != 60 || res.Requests != 60 || res.Missed != 0 {
		t.Fatalf("sent %d requests %d missed %d, want 60", n.Load(), res.Requests, res.Missed)
	}
	if el < 290*time.Millisecond {
		t.Errorf("60 sends at 200/s took %v: the rate was not kept", el)
	}
	if res.Latency.P50 > 20*time.Millisecond {
		t.Errorf("p50 %v for an instant op", res.Latency.P50)
	}
}

func TestClosedLoopSlowServerStillAnswers(t *testing.T) {
	// Each request takes longer than the whole bound: every sender must
	// still record its one answer rather than cancel it.
	op := func(ctx context.Context) error {
		time.Sleep(150 * time.Millisecond)
		return ctx.Err()
	}
	res := Closed(context.Background(), op, 3, Bounds{Duration: 50 * time.Millisecond})
	if res.Requests != 3 || res.Errors != 0 || res.Hist().Count() != 3 {
		t.Fatalf("requests %d errors %d answers %d, want 3/0/3", res.Requests, res.Errors, res.Hist().Count())
	}
}

func TestMergeAddsSlices(t *testing.T) {
	op := func(context.Context) error { time.Sleep(time.Millisecond); return nil }
	a := Closed(context.Background(), op, 2, Bounds{Duration: time.Second, MaxRequests: 10})
	b := Closed(context.Background(), op, 2, Bounds{Duration: time.Second, MaxRequests: 20})
	m := Merge([]Result{a, b})
	if m.Requests != a.Requests+b.Requests || m.Hist().Count() != a.Hist().Count()+b.Hist().Count() ||
		m.Duration != a.Duration+b.Duration || m.Concurrency != 2 || m.Mode != "closed" {
		t.Fatalf("merged %+v from %+v and %+v", m, a, b)
	}
	if want := float64(m.Hist().Count()) / m.Duration.Seconds(); m.Throughput != want || m.Latency.P99 < time.Millisecond {
		t.Fatalf("merged throughput %v (want %v), p99 %v", m.Throughput, want, m.Latency.P99)
	}
}

func TestMergeAddsCPU(t *testing.T) {
	m := Merge([]Result{
		{Mode: "closed", Concurrency: 1, Duration: time.Second, ServerCPU: 30 * time.Millisecond, ClientCPU: 5 * time.Millisecond},
		{Mode: "closed", Concurrency: 1, Duration: time.Second, ServerCPU: 10 * time.Millisecond, ClientCPU: 7 * time.Millisecond},
	})
	if m.ServerCPU != 40*time.Millisecond || m.ClientCPU != 12*time.Millisecond || m.Duration != 2*time.Second {
		t.Fatalf("%v %v %v", m.ServerCPU, m.ClientCPU, m.Duration)
	}
}

func TestRequestSendsHeader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Basic x" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	r := &Request{URL: srv.URL, ContentType: "application/json", Header: http.Header{"Authorization": {"Basic x"}}}
	if err := r.Do(context.Background(), NewClient(1, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	r.Header = nil
	if err := r.Do(context.Background(), NewClient(1, 5*time.Second)); err == nil {
		t.Fatal("no header, yet accepted")
	}
}

// TestLockstepTimesEachOpAlone: ops taking 2 ms and 4 ms in lockstep get
// about 500 and 250 answers per second of their own time, each as many
// requests, and errors are counted on the op that failed.
func TestLockstepTimesEachOpAlone(t *testing.T) {
	sleep := func(d time.Duration, fail bool) Op {
		return func(ctx context.Context) error {
			time.Sleep(d)
			if fail {
				return errors.New("refused")
			}
			return nil
		}
	}
	rs := Lockstep(context.Background(), []Op{sleep(2*time.Millisecond, false), sleep(4*time.Millisecond, false), sleep(0, true)},
		Bounds{Duration: 400 * time.Millisecond, MaxRequests: 50})
	if len(rs) != 3 {
		t.Fatalf("%d results", len(rs))
	}
	if rs[0].Requests != 50 || rs[1].Requests != 50 || rs[2].Requests != 50 {
		t.Fatalf("requests %d, %d, %d: want 50 each (the MaxRequests bound)", rs[0].Requests, rs[1].Requests, rs[2].Requests)
	}
	if rs[0].Throughput < 350 || rs[0].Throughput > 510 || rs[1].Throughput < 180 || rs[1].Throughput > 255 {
		t.Fatalf("throughput %.0f and %.0f, want about 500 and 250", rs[0].Throughput, rs[1].Throughput)
	}
	if r := rs[0].Throughput / rs[1].Throughput; r < 1.6 || r > 2.4 {
		t.Fatalf("ratio %.2f, want about 2", r)
	}
	if rs[2].Errors != 50 || rs[2].FirstError != "refused" || rs[2].Throughput != 0 || rs[0].Errors != 0 {
		t.Fatalf("errors %d (%q) and throughput %.0f of the failing op; %d errors on the first", rs[2].Errors, rs[2].FirstError, rs[2].Throughput, rs[0].Errors)
	}
	if rs[0].Mode != "lockstep" || rs[0].Concurrency != 1 {
		t.Fatalf("mode %q at %d", rs[0].Mode, rs[0].Concurrency)
	}
}
