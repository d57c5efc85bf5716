//go:build integration

package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/db/dbtest"
	"github.com/mlgate/mlgate/registry/server"
	"github.com/mlgate/mlgate/registry/store"
)

type delivery struct {
	header http.Header
	body   []byte
}

type receiver struct {
	mu       sync.Mutex
	got      []delivery
	failures int           // answer 503 to this many requests first
	delay    time.Duration // answer each request after this long
	srv      *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		delay := r.delay
		r.mu.Unlock()
		time.Sleep(delay)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, delivery{req.Header.Clone(), b})
		if r.failures > 0 {
			r.failures--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) wait(t *testing.T, n int) []delivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]delivery(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("waited for %d deliveries, got %d", n, len(r.got))
	return nil
}

// webhookServer serves the registry API with opts over a fresh SQLite
// store and returns a client of it.
func webhookServer(t *testing.T, opts server.Options) *client {
	t.Helper()
	d := dbtest.Open(t, dbtest.Backend{Name: "sqlite", URI: dbtest.SQLiteURI})
	st, err := store.New(context.Background(), d, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	e := gin.New()
	opts.Store = st
	if err := server.Mount(e, opts); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL}
}

func TestWebhooks(t *testing.T) {
	c := webhookServer(t, server.Options{WebhookAllowedSchemes: []string{"http", "https"}, WebhookAllowPrivateIPs: true, WebhookBackoff: 10 * time.Millisecond})
	rcv := newReceiver(t)

	events := []map[string]string{{"entity": "MODEL_VERSION_ALIAS", "action": "CREATED"}, {"entity": "MODEL_VERSION_ALIAS", "action": "DELETED"},
		{"entity": "MODEL_VERSION", "action": "CREATED"}}
	out := c.ok("POST", api+"/webhooks", map[string]any{"name": "deploy-hook", "url": rcv.srv.URL, "events": events, "secret": "s3cr3t"}, nil)
	w := out["webhook"].(map[string]any)
	id := w["webhook_id"].(string)
	if w["status"] != "ACTIVE" || w["secret"] != nil || len(w["events"].([]any)) != 3 {
		t.Fatalf("created webhook %v", w)
	}
	c.fails("POST", api+"/webhooks", map[string]any{"name": "-bad", "url": rcv.srv.URL, "events": events}, nil, 400, "INVALID_PARAMETER_VALUE")
	c.fails("POST", api+"/webhooks", map[string]any{"name": "x", "url": "ftp://h/x", "events": events}, nil, 400, "INVALID_PARAMETER_VALUE")
	c.fails("POST", api+"/webhooks", map[string]any{"name": "x", "url": rcv.srv.URL, "events": []map[string]string{{"entity": "MODEL_VERSION", "action": "DELETED"}}}, nil, 400, "INVALID_PARAMETER_VALUE")
	c.fails("GET", api+"/webhooks/nope", nil, nil, 404, "RESOURCE_DOES_NOT_EXIST")
	if got := c.ok("GET", api+"/webhooks/"+id, nil, nil); got["webhook"].(map[string]any)["name"] != "deploy-hook" {
		t.Fatalf("get %v", got)
	}
	if got := c.ok("GET", api+"/webhooks", nil, nil); len(got["webhooks"].([]any)) != 1 {
		t.Fatalf("list %v", got)
	}

	// Events: a version, an alias set (first delivery fails once and is retried), an alias delete.
	c.ok("POST", api+"/registered-models/create", map[string]any{"name": "m"}, nil)
	c.ok("POST", api+"/model-versions/create", map[string]any{"name": "m", "source": "s3://b/1"}, nil)
	got := rcv.wait(t, 1)
	var env struct {
		Entity, Action, Timestamp string
		Data                      map[string]any
	}
	if err := json.Unmarshal(got[0].body, &env); err != nil {
		t.Fatal(err)
	}
	if env.Entity != "model_version" || env.Action != "created" || env.Data["version"] != "1" || env.Data["run_id"] != nil || env.Timestamp == "" {
		t.Fatalf("version event %s", got[0].body)
	}
	h := got[0].header
	if want := server.Sign("s3cr3t", h.Get("X-MLflow-Delivery-Id"), h.Get("X-MLflow-Timestamp"), got[0].body); h.Get("X-MLflow-Signature") != want {
		t.Fatalf("signature %q, want %q", h.Get("X-MLflow-Signature"), want)
	}
	rcv.mu.Lock()
	rcv.failures = 1
	rcv.mu.Unlock()
	c.ok("POST", api+"/registered-models/alias", map[string]any{"name": "m", "alias": "champ", "version": "1"}, nil)
	got = rcv.wait(t, 3)
	if got[1].header.Get("X-MLflow-Delivery-Id") != got[2].header.Get("X-MLflow-Delivery-Id") || string(got[1].body) != string(got[2].body) {
		t.Fatal("retry did not reuse the delivery id and body")
	}
	if err := json.Unmarshal(got[2].body, &env); err != nil || env.Entity != "model_version_alias" || env.Data["alias"] != "champ" {
		t.Fatalf("alias event %s", got[2].body)
	}
	c.ok("DELETE", api+"/registered-models/alias", map[string]any{"name": "m", "alias": "champ"}, nil)
	got = rcv.wait(t, 4)
	if err := json.Unmarshal(got[3].body, &env); err != nil || env.Action != "deleted" {
		t.Fatalf("alias delete event %s", got[3].body)
	}

	// Disabled webhooks receive nothing; the test endpoint still sends.
	out = c.ok("PATCH", api+"/webhooks/"+id, map[string]any{"status": "DISABLED"}, nil)
	if out["webhook"].(map[string]any)["status"] != "DISABLED" {
		t.Fatalf("update %v", out)
	}
	c.ok("POST", api+"/registered-models/alias", map[string]any{"name": "m", "alias": "quiet", "version": "1"}, nil)
	out = c.ok("POST", api+"/webhooks/"+id+"/test", map[string]any{}, nil)
	res := out["result"].(map[string]any)
	if res["success"] != true || res["response_status"] != float64(200) {
		t.Fatalf("test result %v", out)
	}
	got = rcv.wait(t, 5)
	time.Sleep(100 * time.Millisecond)
	rcv.mu.Lock()
	n := len(rcv.got)
	rcv.mu.Unlock()
	if n != 5 {
		t.Fatalf("%d deliveries; the disabled webhook should have received only the test", n)
	}
	if err := json.Unmarshal(got[4].body, &env); err != nil || env.Data["name"] != "example_model" {
		t.Fatalf("test payload %s", got[4].body)
	}
	c.ok("DELETE", api+"/webhooks/"+id, nil, nil)
	c.fails("GET", api+"/webhooks/"+id, nil, nil, 404, "RESOURCE_DOES_NOT_EXIST")
	c.fails("DELETE", api+"/webhooks/"+id, nil, nil, 404, "RESOURCE_DOES_NOT_EXIST")
}

// TestWebhookBurstIsDeliveredBeforeShutdown sends more events than there
// are delivery workers to a slow receiver: none is dropped, and Deliveries
// (what a stopping server waits on) returns once every one has arrived.
func TestWebhookBurstIsDeliveredBeforeShutdown(t *testing.T) {
	inflight := &server.Deliveries{}
	c := webhookServer(t, server.Options{WebhookAllowedSchemes: []string{"http"}, WebhookAllowPrivateIPs: true, Deliveries: inflight})
	rcv := newReceiver(t)
	rcv.delay = 200 * time.Millisecond
	c.ok("POST", api+"/webhooks", map[string]any{"name": "slow", "url": rcv.srv.URL,
		"events": []map[string]string{{"entity": "MODEL_VERSION", "action": "CREATED"}}}, nil)
	c.ok("POST", api+"/registered-models/create", map[string]any{"name": "m"}, nil)
	const n = 30
	for i := 0; i < n; i++ {
		c.ok("POST", api+"/model-versions/create", map[string]any{"name": "m", "source": "s3://b/x"}, nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := inflight.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	versions := map[any]bool{}
	for _, g := range rcv.got {
		var env struct{ Data map[string]any }
		if err := json.Unmarshal(g.body, &env); err != nil {
			t.Fatal(err)
		}
		versions[env.Data["version"]] = true
	}
	if len(rcv.got) != n || len(versions) != n {
		t.Fatalf("%d deliveries of %d versions when Wait returned, want %d of each", len(rcv.got), len(versions), n)
	}
}

func TestWebhookPrivateAddressesRefused(t *testing.T) {
	c := webhookServer(t, server.Options{WebhookAllowedSchemes: []string{"http", "https"}})
	ev := []map[string]string{{"entity": "MODEL_VERSION", "action": "CREATED"}}
	for _, u := range []string{"http://127.0.0.1:9/x", "https://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/latest", "http://localhost/x"} {
		c.fails("POST", api+"/webhooks", map[string]any{"name": "h", "url": u, "events": ev}, nil, 400, "INVALID_PARAMETER_VALUE")
	}
	// A public literal is accepted (and never contacted here: it is created disabled).
	c.ok("POST", api+"/webhooks", map[string]any{"name": "h", "url": "https://203.0.114.7/x", "events": ev, "status": "DISABLED"}, nil)
}
