package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestServerGuardOnEngine(t *testing.T) {
	gin.SetMode(gin.TestMode)
	e := gin.New()
	e.Use(Security{XFrameOptions: "SAMEORIGIN"}.serverGuard(e))
	ok := func(c *gin.Context) { c.String(http.StatusOK, "ok") }
	e.POST("/ajax-api/2.0/mlflow/experiments/create", ok)
	e.GET("/ajax-api/2.0/mlflow/experiments/get", ok)
	e.POST("/ajax-api/2.0/mlflow/experiments/get", ok)
	e.GET("/health", ok)
	e.NoRoute(func(c *gin.Context) { c.String(http.StatusNotFound, "none") })
	for _, tc := range []struct {
		method, path, host, origin string
		status                     int
		allow                      string
	}{
		{"POST", "/ajax-api/2.0/mlflow/experiments/create", "127.0.0.1:5000", "", 200, ""},
		{"POST", "/ajax-api/2.0/mlflow/experiments/create", "127.0.0.1:5000", "http://evil.example", 403, ""},
		// the UI's own request from an allowed private address
		{"POST", "/ajax-api/2.0/mlflow/experiments/create", "192.168.1.9:5000", "http://192.168.1.9:5000", 200, ""},
		{"GET", "/ajax-api/2.0/mlflow/experiments/get", "evil.example", "", 403, ""},
		{"GET", "/health", "evil.example", "", 200, ""},
		{"OPTIONS", "/ajax-api/2.0/mlflow/experiments/get", "localhost", "", 204, "GET, POST, OPTIONS"},
		{"OPTIONS", "/ajax-api/2.0/mlflow/nope", "localhost", "", 404, ""},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		if w.Code != tc.status || w.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s Host %s Origin %s: %d Allow %q, want %d %q", tc.method, tc.path, tc.host, tc.origin, w.Code,
				w.Header().Get("Allow"), tc.status, tc.allow)
		}
		if tc.status != 403 && w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no nosniff header", tc.method, tc.path)
		}
	}
	if (Security{Disabled: true}).serverGuard(e) != nil {
		t.Error("a disabled middleware is installed")
	}
}

func TestServeGuardOptIn(t *testing.T) {
	if (Security{XFrameOptions: "SAMEORIGIN"}).serveGuard() != nil {
		t.Fatal("models serve is guarded without --allowed-hosts or --cors-allowed-origins")
	}
	g := Security{AllowedHosts: []string{"scoring.internal:*"}}.serveGuard()
	if g == nil {
		t.Fatal("no guard with --allowed-hosts")
	}
	h := guarded(g, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	for _, tc := range []struct {
		method, path, host, origin string
		status                     int
	}{
		{"POST", "/invocations", "scoring.internal:8080", "", 200},
		{"POST", "/invocations", "127.0.0.1:8080", "", 403},
		{"GET", "/ping", "10.1.2.3:8080", "", 200},
		{"GET", "/v2/health/ready", "10.1.2.3:8080", "", 200},
		{"POST", "/v2/models/m/infer", "scoring.internal:8080", "http://evil.example", 403},
		{"POST", "/invocations", "scoring.internal:8080", "http://localhost:3000", 200},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		r.Host = tc.host
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.status {
			t.Errorf("%s %s Host %s Origin %s: %d, want %d", tc.method, tc.path, tc.host, tc.origin, w.Code, tc.status)
		}
	}
}

// BenchmarkSecurityMiddleware is the cost of the security middleware on
// mlgate server's handler: runs/get and experiments/create with it on and
// off, in process (no network).
func BenchmarkSecurityMiddleware(b *testing.B) {
	for _, off := range []bool{false, true} {
		name := map[bool]string{false: "on", true: "off"}[off]
		s, _, _ := startServer(b, func(o *ServerOptions) { o.Security.Disabled = off })
		h := s.Handler()
		do := func(method, path, body string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(method, path, strings.NewReader(body))
			r.Host = "127.0.0.1:5000"
			if body != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		w := do("POST", "/api/2.0/mlflow/runs/create", `{"experiment_id": "0"}`)
		var out struct {
			Run struct {
				Info struct {
					RunID string `json:"run_id"`
				} `json:"info"`
			} `json:"run"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Run.Info.RunID == "" {
			b.Fatalf("runs/create: %d %s", w.Code, w.Body)
		}
		get := "/api/2.0/mlflow/runs/get?run_id=" + out.Run.Info.RunID
		b.Run("runs-get/"+name, func(b *testing.B) {
			for b.Loop() {
				if w := do("GET", get, ""); w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
		b.Run("set-tag/"+name, func(b *testing.B) {
			body := `{"run_id": "` + out.Run.Info.RunID + `", "key": "k", "value": "v"}`
			for b.Loop() {
				if w := do("POST", "/api/2.0/mlflow/runs/set-tag", body); w.Code != 200 {
					b.Fatal(w.Code, w.Body)
				}
			}
		})
	}
}
