package serve

import (
	"strings"
	"testing"
)

func TestKServeV1Protocol(t *testing.T) {
	s, ts := newTestServer(t, &echo{}, nil, nil)
	if status, body := get(t, ts.URL+"/v1/models"); status != 200 || body != `{"models":["m"]}` {
		t.Fatalf("list: %d %s", status, body)
	}
	if status, body := get(t, ts.URL+"/v1/models/m"); status != 200 || body != `{"name":"m","ready":true}` {
		t.Fatalf("ready: %d %s", status, body)
	}
	want := ""
	for _, ct := range []string{"application/json", ""} {
		status, body, _ := post(t, ts.URL+"/v1/models/m:predict", ct, `{"instances": [[1.0, 2.0], [3.0, 4.0]]}`)
		if status != 200 || !strings.HasPrefix(body, `{"predictions": `) {
			t.Fatalf("predict (content type %q): %d %s", ct, status, body)
		}
		_, inv, _ := post(t, ts.URL+"/invocations", "application/json", `{"instances": [[1.0, 2.0], [3.0, 4.0]]}`)
		if body != inv {
			t.Fatalf("v1 answered %s, /invocations %s", body, inv)
		}
		if want != "" && body != want {
			t.Fatalf("content type changed the answer: %s vs %s", body, want)
		}
		want = body
	}
	for path, code := range map[string]int{
		"/v1/models/other:predict": 404,
		"/v1/models/m:explain":     404,
		"/v1/models/m":             404, // POST without :predict
	} {
		status, body, _ := post(t, ts.URL+path, "application/json", `{"instances": [[1.0]]}`)
		if status != code || !strings.Contains(body, `"error"`) {
			t.Errorf("POST %s: %d %s", path, status, body)
		}
	}
	if status, _ := get(t, ts.URL+"/v1/models/other"); status != 404 {
		t.Fatalf("unknown model: %d", status)
	}
	if status, body, _ := post(t, ts.URL+"/v1/models/m:predict", "application/json", `{"instances": [`); status != 400 || !strings.Contains(body, "error_code") {
		t.Fatalf("bad JSON: %d %s", status, body)
	}
	s.draining.Store(true)
	if status, _ := get(t, ts.URL+"/v1/models/m"); status != 503 {
		t.Fatalf("ready while draining: %d", status)
	}
}
