package secure

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzGuard sends arbitrary Host, Origin, method and path through the
// server guard: it never panics, answers only with MLflow's statuses, and
// a Host it refuses is refused with MLflow's 403 whatever else is sent.
func FuzzGuard(f *testing.F) {
	f.Add("127.0.0.1:5000", "http://evil.example", "POST", "/api/2.0/mlflow/experiments/create", "")
	f.Add("evil.example", "", "GET", "/health", "")
	f.Add("[::1]:1", "http://[::1]:2", "OPTIONS", "/ajax-api/x", "POST")
	f.Add("10.0.0.1", "null", "DELETE", "/api/", "")
	f.Add("a.corp:80", "https://x.trusted.io", "PATCH", "/api/2.0/mlflow-artifacts/artifacts/a", "")
	g := serverGuard(Options{AllowedOrigins: []string{"https://*.trusted.io"}, XFrameOptions: "DENY"})
	h := serverGuard(Options{AllowedHosts: []string{"*.corp:*", "[[]::1]:*"}})
	f.Fuzz(func(t *testing.T, host, origin, method, path, reqMethod string) {
		if !validMethod(method) {
			return
		}
		for _, guard := range []*Guard{g, h} {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Method, r.URL.Path, r.Host = method, path, host
			r.Header.Set("Origin", origin)
			r.Header.Set("Access-Control-Request-Method", reqMethod)
			w := httptest.NewRecorder()
			pass := guard.Check(w, r)
			switch {
			case pass && (w.Code == http.StatusOK):
			case !pass && (w.Code == 200 || w.Code == 204 || w.Code == 400 || w.Code == 403):
			default:
				t.Fatalf("%q %q %q %q: pass %v status %d", host, origin, method, path, pass, w.Code)
			}
			if !guard.hostAllowed(host) && path != "/health" && path != "/version" && (pass || w.Body.String() != InvalidHost) {
				t.Fatalf("host %q not refused on %q", host, path)
			}
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
