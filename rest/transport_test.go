package rest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func newTestTransport(t *testing.T, url string, retries int) (*Transport, *[]time.Duration) {
	t.Helper()
	tr, err := New(Config{BaseURL: url, MaxRetries: retries, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	tr.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	return tr, &waits
}

func TestRetryAfterHonoured(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte(`{"experiment_id":"4"}`))
	}))
	defer srv.Close()
	tr, waits := newTestTransport(t, srv.URL, 5)
	var resp struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := tr.Call(context.Background(), http.MethodPost, "/api/2.0/mlflow/experiments/create", map[string]string{"name": "x"}, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.ExperimentID != "4" || calls.Load() != 3 {
		t.Fatalf("resp %+v after %d calls", resp, calls.Load())
	}
	if len(*waits) != 2 || (*waits)[0] != 7*time.Second || (*waits)[1] != 7*time.Second {
		t.Fatalf("waits %v, want two of 7s (Retry-After)", *waits)
	}
}

func TestRetryAfterReallyWaits(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	tr, err := New(Config{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := tr.Call(context.Background(), http.MethodGet, "/x", nil, &struct{}{}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("retried after %s, before Retry-After's 1 s", el)
	}
}

func TestNoRetryOnClientError(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error_code":"INVALID_PARAMETER_VALUE","message":"bad key"}`))
	}))
	defer srv.Close()
	tr, _ := newTestTransport(t, srv.URL, 5)
	err := tr.Call(context.Background(), http.MethodPost, "/api/2.0/mlflow/runs/log-parameter", map[string]string{}, nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != "INVALID_PARAMETER_VALUE" || e.Message != "bad key" || e.StatusCode != 400 {
		t.Fatalf("err = %#v", err)
	}
	if calls.Load() != 1 {
		t.Fatalf("a 400 was retried (%d calls)", calls.Load())
	}
}

func TestServerDownRetriesThenClearError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	tr, waits := newTestTransport(t, "http://"+addr, 3)
	err = tr.Call(context.Background(), http.MethodGet, "/api/2.0/mlflow/runs/get", nil, nil)
	if err == nil {
		t.Fatal("call to a closed port succeeded")
	}
	if len(*waits) != 3 {
		t.Fatalf("retried %d times, want 3", len(*waits))
	}
	msg := err.Error()
	if !strings.Contains(msg, "giving up after 4 attempts") || !strings.Contains(msg, "/api/2.0/mlflow/runs/get") || !strings.Contains(msg, "refused") {
		t.Fatalf("error does not say what failed: %v", err)
	}
}

func TestServerErrorNonJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream broke", http.StatusBadGateway)
	}))
	defer srv.Close()
	tr, waits := newTestTransport(t, srv.URL, 2)
	err := tr.Call(context.Background(), http.MethodGet, "/x", nil, nil)
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 502 || !strings.Contains(e.Message, "upstream broke") {
		t.Fatalf("err = %v", err)
	}
	if len(*waits) != 2 {
		t.Fatalf("waits %v", *waits)
	}
	// Exponential backoff: the second wait is longer than the first jitter-only one.
	if (*waits)[1] < 2*time.Second {
		t.Fatalf("backoff %v is not exponential", *waits)
	}
}

func TestAuthHeaders(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	for _, cfg := range []Config{
		{BaseURL: srv.URL, Username: "u", Password: "p", Token: "t"},
		{BaseURL: srv.URL, Token: "t"},
		{BaseURL: srv.URL},
	} {
		tr, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Call(context.Background(), http.MethodGet, "/x", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"Basic dTpw", "Bearer t", ""}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d Authorization = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestAttemptTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	tr, err := New(Config{BaseURL: srv.URL, Timeout: 200 * time.Millisecond, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Call(context.Background(), http.MethodGet, "/slow", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"-1":                            0,
		"junk":                          0,
		"Thu, 01 Jan 2026 00:00:10 GMT": 10 * time.Second,
	}
	for in, want := range cases {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestConfigRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "localhost:5000", "http://"} {
		if _, err := New(Config{BaseURL: u}); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
}
