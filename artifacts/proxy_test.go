package artifacts_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/rest"
	"github.com/mlgate/mlgate/tracking/proxy"
)

// startProxy serves the tracking server's artifact routes over loopback
// with a local folder as the destination, and returns a transport to it.
func startProxy(t *testing.T, dest string) *rest.Transport {
	t.Helper()
	local, err := artifacts.Open(context.Background(), dest, artifacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	proxy.NewHandlers(proxy.Options{Resolver: &proxy.Resolver{Proxy: local}}).Mount(e, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(e)
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	tr, err := rest.New(rest.Config{BaseURL: srv.URL, MaxRetries: 1, BackoffFactor: 0.01, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestProxyRepo runs the conformance test through mlgate's artifact proxy
// over loopback: mlflow-artifacts: URIs and the http(s) URL form.
func TestProxyRepo(t *testing.T) {
	dest := t.TempDir()
	tr := startProxy(t, dest)
	ctx := context.Background()
	r, err := artifacts.Open(ctx, "mlflow-artifacts:/0/run1/artifacts", artifacts.Options{Tracking: tr})
	if err != nil {
		t.Fatal(err)
	}
	artifacts.TestRepo(t, r)

	h, err := artifacts.Open(ctx, tr.BaseURL()+artifacts.ProxyEndpoint+"/0/run2/artifacts", artifacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	artifacts.TestRepo(t, h)

	// a file written through the proxy lands under the destination
	if err := r.Put(ctx, "m/MLmodel", strings.NewReader("flavors: {}\n"), -1); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "0", "run1", "artifacts", "m", "MLmodel")); err != nil || string(b) != "flavors: {}\n" {
		t.Fatalf("destination holds %q, %v", b, err)
	}
	// a streamed (unseekable) body of unknown size
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write([]byte(strings.Repeat("p", 70000))); _ = pw.Close() }()
	if err := r.Put(ctx, "m/piped.bin", pr, -1); err != nil {
		t.Fatal(err)
	}
	if es, err := r.List(ctx, "m"); err != nil || len(es) != 2 || es[1].Path != "m/piped.bin" || es[1].Size != 70000 {
		t.Fatalf("list m = %v, %v", es, err)
	}
	// errors name the store and carry MLflow's code
	var se *artifacts.StoreError
	if _, _, err := r.Open(ctx, "m/missing"); !errors.As(err, &se) || !errors.Is(err, artifacts.ErrNotFound) ||
		se.ErrorCode() != "RESOURCE_DOES_NOT_EXIST" || !strings.Contains(err.Error(), "mlflow-artifacts:/0/run1/artifacts") {
		t.Fatalf("missing: %v", err)
	}
}

// TestProxyRepoServerDown checks that a tracking server that is not there
// is ErrUnavailable, naming the store.
func TestProxyRepoServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	tr, err := rest.New(rest.Config{BaseURL: "http://" + addr, MaxRetries: -1, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r, err := artifacts.Open(context.Background(), "mlflow-artifacts:/x", artifacts.Options{Tracking: tr})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.List(context.Background(), "")
	if !errors.Is(err, artifacts.ErrUnavailable) || !strings.Contains(err.Error(), "mlflow-artifacts:/x") {
		t.Fatalf("list on a server that is down: %v", err)
	}
	if err := r.Put(context.Background(), "a", strings.NewReader("a"), 1); !errors.Is(err, artifacts.ErrUnavailable) {
		t.Fatalf("put on a server that is down: %v", err)
	}
}

// TestHTTPFileRepo reads a single file at a plain URL.
func TestHTTPFileRepo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/models/model.onnx" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("onnx"))
	}))
	defer srv.Close()
	ctx := context.Background()
	r, err := artifacts.Open(ctx, srv.URL+"/models/model.onnx", artifacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := (&artifacts.Cache{Dir: t.TempDir()}).Fetch(ctx, r, "", artifacts.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "model.onnx")); err != nil || string(b) != "onnx" {
		t.Fatalf("downloaded %q, %v", b, err)
	}
	if err := r.Put(ctx, "", strings.NewReader("x"), 1); !errors.Is(err, artifacts.ErrNotSupported) {
		t.Fatalf("put: %v", err)
	}
	missing, _ := artifacts.Open(ctx, srv.URL+"/nope", artifacts.Options{})
	if _, _, err := missing.Open(ctx, ""); !errors.Is(err, artifacts.ErrNotFound) {
		t.Fatalf("missing URL: %v", err)
	}
}
