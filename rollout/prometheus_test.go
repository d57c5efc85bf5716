package rollout

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A Prometheus that refuses the query, one that answers something else
// than its API, and one that answers a matrix: each is an error naming
// what went wrong (the analysis then waits), never figures. The real
// Prometheus is in internal/app's TestRolloutEndToEndOnPrometheus.
func TestPromQueryErrors(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   string
	}{
		{400, `{"status":"error","errorType":"bad_data","error":"parse error"}`, "bad_data: parse error"},
		{502, `<html>bad gateway</html>`, "HTTP 502, not its API's answer"},
		{200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`, "a matrix, want a vector"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v1/query" || !strings.Contains(r.URL.Query().Get("query"), `model="m\"x"`) {
				t.Errorf("asked %s", r.URL)
			}
			w.WriteHeader(c.status)
			_, _ = w.Write([]byte(c.body))
		}))
		now := time.Now()
		_, _, err := promWindow(context.Background(), srv.URL+"/", `m"x`, now.Add(-time.Minute), now, "1", "2")
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("answer %d %s: error %v, want %q", c.status, c.body, err, c.want)
		}
	}
}

func TestCheckPrometheusURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"http://prometheus:9090": true, "https://p.example/prom/": true,
		"prometheus:9090": false, "ftp://p": false, "http://": false, "": false,
	} {
		if err := CheckPrometheusURL(raw); (err == nil) != ok {
			t.Errorf("%q: %v", raw, err)
		}
	}
}
