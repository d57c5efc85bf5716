package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/db"
	"github.com/mlgate/mlgate/registry/store"
)

var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/registered-models/create"}, {"GET", "/registered-models/get"}, {"POST", "/registered-models/rename"},
	{"PATCH", "/registered-models/update"}, {"DELETE", "/registered-models/delete"}, {"GET", "/registered-models/search"},
	{"POST", "/registered-models/get-latest-versions"}, {"POST", "/registered-models/set-tag"},
	{"DELETE", "/registered-models/delete-tag"}, {"POST", "/registered-models/alias"}, {"DELETE", "/registered-models/alias"},
	{"GET", "/registered-models/alias"}, {"POST", "/model-versions/create"}, {"GET", "/model-versions/get"},
	{"PATCH", "/model-versions/update"}, {"DELETE", "/model-versions/delete"}, {"GET", "/model-versions/search"},
	{"POST", "/model-versions/transition-stage"}, {"GET", "/model-versions/get-download-uri"},
	{"POST", "/model-versions/set-tag"}, {"DELETE", "/model-versions/delete-tag"}, {"POST", "/webhooks"},
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzHandlers sends arbitrary JSON bodies and query strings to every
// registry endpoint: client input must never produce a 5xx or a panic.
func FuzzHandlers(f *testing.F) {
	seeds := []struct {
		route       uint8
		body, query string
	}{
		{0, `{"name":"m","tags":[{"key":"k","value":"v"}]}`, ""},
		{12, `{"name":"m","source":"s3://b/../x"}`, ""},
		{12, `{"name":"m","source":"models:/m@a","run_id":"r"}`, ""},
		{5, ``, "filter=name+LIKE+%27a%25%27&order_by=name+DESC&max_results=3"},
		{16, ``, "filter=version_number+%3E+%27x%27&page_token=abc"},
		{9, `{"name":"m","alias":"champ","version":"1"}`, ""},
		{17, `{"name":"m","version":"1","stage":"production","archive_existing_versions":true}`, ""},
		{21, `{"name":"h","url":"https://127.0.0.1/x","events":[{"entity":"MODEL_VERSION","action":"CREATED"}]}`, ""},
	}
	for _, s := range seeds {
		f.Add(s.route, s.body, s.query)
	}
	d, err := db.Open(context.Background(), "sqlite:///"+filepath.Join(f.TempDir(), "f.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = d.Close() })
	st, err := store.New(context.Background(), d, store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	e := gin.New()
	// Deliveries go nowhere: a fuzzed webhook URL must never be contacted.
	noNet := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("network disabled in fuzzing")
	})}
	if err := Mount(e, Options{Store: st, WebhookClient: noNet, WebhookBackoff: time.Millisecond}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, route uint8, body, query string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		target := Prefixes[0] + rt.path
		if query != "" {
			target += "?" + strings.ReplaceAll(query, "#", "%23")
		}
		req, err := http.NewRequest(rt.method, "http://x"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s body %q: %d %s", rt.method, target, body, w.Code, w.Body.String())
		}
	})
}
