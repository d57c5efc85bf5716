package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

func TestLoadAgainstAServer(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"x": 1}` || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request body", http.StatusBadRequest)
			return
		}
		n.Add(1)
		_, _ = w.Write([]byte(`{"predictions": [1]}`))
	}))
	defer srv.Close()
	body := filepath.Join(t.TempDir(), "req.json")
	if err := os.WriteFile(body, []byte(`{"x": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	err := run([]string{"-url", srv.URL, "-body", body, "-c", "2", "-d", "200ms", "-warmup", "0", "-pid", itoa(os.Getpid())}, &out)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^c=2 200ms: ([0-9]+) req/s, 0 errors, p50 [0-9.]+ ms, p99 [0-9.]+ ms, server CPU [0-9]+ µs/request\n$`)
	m := re.FindStringSubmatch(out.String())
	if m == nil || m[1] == "0" || n.Load() == 0 {
		t.Fatalf("output %q after %d answers", out.String(), n.Load())
	}

	out.Reset()
	if err := run([]string{"-url", srv.URL + "/x", "-body", body, "-type", "text/plain", "-d", "50ms", "-warmup", "0"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "first error: status 400") {
		t.Errorf("errors not reported: %q", out.String())
	}
	if err := run([]string{"-url", srv.URL}, &out); err == nil {
		t.Error("no -body accepted")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
