package tracking

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlgate/mlgate/rest"
)

func TestStartRunServerDownRetriesThenClearError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	_ = l.Close()
	Configure(Config{TrackingURI: url, HTTP: rest.Config{MaxRetries: 2, BackoffFactor: 0.01, MaxBackoff: 50 * time.Millisecond}})
	defer Configure(Config{})
	start := time.Now()
	_, err = StartRun(context.Background())
	if err == nil {
		t.Fatal("StartRun against a closed port succeeded")
	}
	for _, want := range []string{"giving up after 3 attempts", "/api/2.0/mlflow/runs/create", "refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
	if ActiveRun() != nil {
		t.Fatal("a failed StartRun left an active run")
	}
}

func TestRateLimitedLoggingHonoursRetryAfter(t *testing.T) {
	var calls atomic.Int32
	var first time.Time
	var gap time.Duration
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/2.0/mlflow/runs/log-metric" {
			http.NotFound(w, r)
			return
		}
		switch calls.Add(1) {
		case 1:
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}`))
		default:
			gap = time.Since(first)
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	defer srv.Close()
	c, err := NewClient(Config{TrackingURI: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LogMetric(context.Background(), "0123456789abcdef", "m", 1); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || gap < time.Second {
		t.Fatalf("%d calls, retry after %s; want 2 calls and a wait of at least Retry-After's 1 s", calls.Load(), gap)
	}
}
