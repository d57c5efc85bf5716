package secure

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serverGuard(o Options) *Guard {
	o.Exempt, o.API = ServerExempt, ServerAPI
	o.NoFrameOptions = []string{TraceRenderer}
	o.Methods = RouteMethods([]Route{{"POST", "/api/2.0/mlflow/experiments/create"}, {"GET", "/api/2.0/mlflow/runs/get"},
		{"GET", "/api/2.0/mlflow-artifacts/artifacts/*path"}, {"PUT", "/api/2.0/mlflow-artifacts/artifacts/*path"}})
	return New(o)
}

// TestGuard checks Host, Origin, method and preflight cases against the
// answers of mlflow server 3.17.2 (its defaults unless the case sets
// options).
func TestGuard(t *testing.T) {
	create := "/api/2.0/mlflow/experiments/create"
	cases := []struct {
		name    string
		o       Options
		method  string
		path    string
		host    string
		hdr     map[string]string
		status  int // 0: the handler answered
		body    string
		headers map[string]string // "" value: header absent
	}{
		{name: "foreign host", method: "GET", path: "/api/2.0/mlflow/runs/get", host: "evil.example", status: 403, body: InvalidHost,
			headers: map[string]string{"X-Content-Type-Options": "", "Content-Type": "text/plain"}},
		{name: "foreign host, health exempt", method: "GET", path: "/health", host: "evil.example",
			headers: map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN"}},
		{name: "foreign host, version exempt", method: "GET", path: "/version", host: "evil.example"},
		{name: "foreign host, health prefix not exempt", method: "GET", path: "/health/x", host: "evil.example", status: 403},
		{name: "foreign host on UI page", method: "GET", path: "/", host: "evil.example", status: 403},
		{name: "no host", method: "GET", path: "/", host: "", status: 403},
		{name: "localhost", method: "GET", path: "/", host: "localhost"},
		{name: "localhost port", method: "GET", path: "/", host: "localhost:5000"},
		{name: "upper-case localhost", method: "GET", path: "/", host: "LOCALHOST:80", status: 403},
		{name: "loopback port", method: "GET", path: "/", host: "127.0.0.1:5000"},
		{name: "other loopback", method: "GET", path: "/", host: "127.0.0.2", status: 403},
		{name: "ipv6 loopback", method: "GET", path: "/", host: "[::1]:5000"},
		{name: "any address", method: "GET", path: "/", host: "0.0.0.0:5000"},
		{name: "192.168", method: "GET", path: "/", host: "192.168.1.9:5000"},
		{name: "10/8", method: "GET", path: "/", host: "10.0.0.1"},
		{name: "172.16/12", method: "GET", path: "/", host: "172.20.0.1"},
		{name: "172.32 outside", method: "GET", path: "/", host: "172.32.0.1", status: 403},
		{name: "fd00", method: "GET", path: "/", host: "fd00::1"},
		{name: "name that looks private (mlgate: refused)", method: "GET", path: "/", host: "10.attacker.example", status: 403},
		{name: "allowed-hosts replaces defaults", o: Options{AllowedHosts: []string{"mlflow.example.com", "*.corp:*"}},
			method: "GET", path: "/", host: "127.0.0.1:5000", status: 403},
		{name: "allowed-hosts exact", o: Options{AllowedHosts: []string{"mlflow.example.com", "*.corp:*"}},
			method: "GET", path: "/", host: "mlflow.example.com"},
		{name: "allowed-hosts pattern", o: Options{AllowedHosts: []string{"mlflow.example.com", "*.corp:*"}},
			method: "GET", path: "/", host: "a.corp:8080"},
		{name: "allowed-hosts pattern needs port", o: Options{AllowedHosts: []string{"*.corp:*"}},
			method: "GET", path: "/", host: "a.corp", status: 403},
		{name: "allowed-hosts wildcard", o: Options{AllowedHosts: []string{"*"}}, method: "GET", path: "/", host: "evil.example"},
		{name: "cross-origin POST", method: "POST", path: create, host: "127.0.0.1:5000",
			hdr: map[string]string{"Origin": "http://evil.example"}, status: 403, body: CrossOriginBlocked,
			headers: map[string]string{"Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Origin": "", "X-Content-Type-Options": ""}},
		{name: "cross-origin POST, foreign host", method: "POST", path: create, host: "evil.example",
			hdr: map[string]string{"Origin": "http://evil.example"}, status: 403, body: InvalidHost},
		{name: "cross-origin POST ajax-api", method: "POST", path: "/ajax-api/2.0/mlflow/experiments/create", host: "127.0.0.1:5000",
			hdr: map[string]string{"Origin": "http://evil.example"}, status: 403},
		{name: "cross-origin DELETE", method: "DELETE", path: "/api/2.0/mlflow/experiments/delete", host: "127.0.0.1:5000",
			hdr: map[string]string{"Origin": "http://evil.example"}, status: 403},
		{name: "cross-origin PATCH", method: "PATCH", path: "/api/3.0/mlflow/traces/x", host: "127.0.0.1:5000",
			hdr: map[string]string{"Origin": "http://evil.example"}, status: 403},
		{name: "cross-origin GET passes", method: "GET", path: "/api/2.0/mlflow/runs/get", host: "127.0.0.1:5000",
			hdr:     map[string]string{"Origin": "http://evil.example"},
			headers: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}},
		{name: "cross-origin POST outside API passes", method: "POST", path: "/graphql", host: "127.0.0.1:5000",
			hdr: map[string]string{"Origin": "http://evil.example"}},
		{name: "null origin", method: "POST", path: create, host: "127.0.0.1:5000", hdr: map[string]string{"Origin": "null"}, status: 403},
		{name: "localhost origin", method: "POST", path: create, host: "127.0.0.1:5000",
			hdr:     map[string]string{"Origin": "http://localhost:3000"},
			headers: map[string]string{"Access-Control-Allow-Origin": "http://localhost:3000"}},
		{name: "https localhost origin: allowed, no CORS header", method: "POST", path: create, host: "127.0.0.1:5000",
			hdr: map[string]string{"Origin": "https://localhost:3000"}, headers: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "same origin loopback", method: "POST", path: create, host: "127.0.0.1:5000",
			hdr: map[string]string{"Origin": "http://127.0.0.1:5000"}},
		{name: "same origin private host (mlflow refuses)", o: Options{SameOrigin: true}, method: "POST", path: create,
			host: "192.168.1.9:5000", hdr: map[string]string{"Origin": "http://192.168.1.9:5000"}},
		{name: "same origin private host, mlflow rule", method: "POST", path: create,
			host: "192.168.1.9:5000", hdr: map[string]string{"Origin": "http://192.168.1.9:5000"}, status: 403},
		{name: "allowed origin", o: Options{AllowedOrigins: []string{"https://app.example.com", "https://*.trusted.io"}},
			method: "POST", path: create, host: "127.0.0.1:5000", hdr: map[string]string{"Origin": "https://app.example.com"},
			headers: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{name: "allowed origin pattern", o: Options{AllowedOrigins: []string{"https://*.trusted.io"}},
			method: "POST", path: create, host: "127.0.0.1:5000", hdr: map[string]string{"Origin": "https://x.trusted.io"},
			headers: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "origin wildcard", o: Options{AllowedOrigins: []string{"*"}},
			method: "POST", path: create, host: "127.0.0.1:5000", hdr: map[string]string{"Origin": "http://evil.example"},
			headers: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""}},
		{name: "preflight localhost", method: "OPTIONS", path: create, host: "127.0.0.1:5000",
			hdr:    map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
			status: 200, body: "OK",
			headers: map[string]string{"Access-Control-Allow-Origin": "http://localhost:3000", "Access-Control-Allow-Headers": "content-type",
				"Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS, PATCH", "Access-Control-Max-Age": "600", "X-Content-Type-Options": ""}},
		{name: "preflight foreign origin", method: "OPTIONS", path: create, host: "127.0.0.1:5000",
			hdr: map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, status: 400, body: DisallowedOrigin,
			headers: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "preflight foreign host", method: "OPTIONS", path: create, host: "evil.example",
			hdr: map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}, status: 403, body: InvalidHost},
		{name: "preflight outside API", method: "OPTIONS", path: "/", host: "127.0.0.1:5000",
			hdr: map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"}, status: 200},
		{name: "plain OPTIONS on API", method: "OPTIONS", path: create, host: "127.0.0.1:5000", status: 204,
			headers: map[string]string{"Allow": "POST, OPTIONS", "X-Content-Type-Options": "nosniff"}},
		{name: "plain OPTIONS on wildcard route", method: "OPTIONS", path: "/api/2.0/mlflow-artifacts/artifacts/a/b", host: "127.0.0.1:5000",
			status: 204, headers: map[string]string{"Allow": "GET, PUT, OPTIONS"}},
		{name: "plain OPTIONS unknown API path", method: "OPTIONS", path: "/api/2.0/mlflow/nope", host: "127.0.0.1:5000"},
		{name: "frame options", o: Options{XFrameOptions: "deny"}, method: "GET", path: "/", host: "localhost",
			headers: map[string]string{"X-Frame-Options": "DENY"}},
		{name: "frame options none", o: Options{XFrameOptions: "NONE"}, method: "GET", path: "/", host: "localhost",
			headers: map[string]string{"X-Frame-Options": "", "X-Content-Type-Options": "nosniff"}},
		{name: "trace renderer embeddable", method: "GET", path: TraceRenderer + "/index.html", host: "localhost",
			headers: map[string]string{"X-Frame-Options": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			if o.XFrameOptions == "" {
				o.XFrameOptions = "SAMEORIGIN"
			}
			g := serverGuard(o)
			handled := false
			h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				handled = true
				w.WriteHeader(299)
			}))
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(""))
			r.Host = tc.host
			for k, v := range tc.hdr {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			want := tc.status
			if want == 0 {
				want = 299
			}
			if w.Code != want || handled != (tc.status == 0) {
				t.Fatalf("status %d (handled %v), want %d", w.Code, handled, want)
			}
			if tc.body != "" && w.Body.String() != tc.body {
				t.Errorf("body %q, want %q", w.Body.String(), tc.body)
			}
			for k, v := range tc.headers {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestFnmatch(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"*.corp:*", "a.corp:80", true}, {"*.corp:*", "a.corp", false}, {"10.*", "10.0.0.1", true},
		{"[[]::1]:*", "[::1]:5000", true}, {"[[]::1]:*", "::1:5000", false}, {"a?c", "abc", true},
		{"a[!b]c", "abc", false}, {"a[a-c]d", "abd", true}, {"a[", "a[", true}, {"*", "", true},
		{"https://*.trusted.io", "https://x.trusted.io", true}, {"https://*.trusted.io", "https://trusted.io", false},
		{"**x", "abx", true}, {"a*b*c", "aXbYbc", true}, {"a*b*c", "aXbYb", false},
	} {
		if got := fnmatch(tc.pat, tc.s); got != tc.want {
			t.Errorf("fnmatch(%q, %q) = %v", tc.pat, tc.s, got)
		}
	}
}

// BenchmarkCheck is the guard's cost per request: an API POST from the
// real client (no Origin) and a browser POST from a localhost origin.
func BenchmarkCheck(b *testing.B) {
	g := serverGuard(Options{XFrameOptions: "SAMEORIGIN"})
	for name, origin := range map[string]string{"client": "", "browser": "http://localhost:3000"} {
		b.Run(name, func(b *testing.B) {
			r := httptest.NewRequest("POST", "/api/2.0/mlflow/runs/log-batch", nil)
			r.Host = "127.0.0.1:5000"
			if origin != "" {
				r.Header.Set("Origin", origin)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				if !g.Check(w, r) {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

// TestSharedHeaderValuesStayPut: the guard's header values are shared by
// every answer; a handler that adds to or replaces them changes its own
// answer only.
func TestSharedHeaderValuesStayPut(t *testing.T) {
	h := serverGuard(Options{XFrameOptions: "SAMEORIGIN"}).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("do") {
		case "add":
			w.Header().Add("X-Frame-Options", "DENY")
			w.Header().Add("X-Content-Type-Options", "other")
		case "set":
			w.Header().Set("X-Frame-Options", "DENY")
		}
	}))
	for i, c := range []struct{ do, frame string }{{"add", "SAMEORIGIN,DENY"}, {"", "SAMEORIGIN"}, {"set", "DENY"}, {"", "SAMEORIGIN"}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://localhost:5000/api/2.0/mlflow/runs/get?do="+c.do, nil))
		if got := strings.Join(w.Header().Values("X-Frame-Options"), ","); got != c.frame {
			t.Fatalf("answer %d (%s): X-Frame-Options %q, want %q", i, c.do, got, c.frame)
		}
		if c.do == "" && strings.Join(w.Header().Values("X-Content-Type-Options"), ",") != "nosniff" {
			t.Fatalf("answer %d: X-Content-Type-Options %q", i, w.Header().Values("X-Content-Type-Options"))
		}
	}
}
