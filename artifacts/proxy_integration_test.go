//go:build integration

package artifacts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlgate/mlgate/rest"
	"github.com/mlgate/mlgate/rest/resttest"
)

// TestProxyRepoAgainstMLflow runs the conformance test against the real
// `mlflow server`'s artifact proxy over loopback, and downloads what the
// proxy backend wrote through the cache.
func TestProxyRepoAgainstMLflow(t *testing.T) {
	dir := t.TempDir()
	m, err := resttest.StartMLflow(resttest.Python(t), dir, resttest.FreePort(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	tr, err := rest.New(rest.Config{BaseURL: m.URL, MaxRetries: 1, BackoffFactor: 0.01, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := Open(ctx, "mlflow-artifacts:/0/conformance/artifacts", Options{Tracking: tr})
	if err != nil {
		t.Fatal(err)
	}
	testRepo(t, r)

	body := strings.Repeat("m", 200_000)
	if err := r.Put(ctx, "model/model.onnx", strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "mlartifacts", "0", "conformance", "artifacts", "model", "model.onnx"))
	if err != nil || string(b) != body {
		t.Fatalf("mlflow stored %d bytes, %v", len(b), err)
	}
	got, err := (&Cache{Dir: t.TempDir()}).Fetch(ctx, r, "model", DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(got, "model.onnx")); err != nil || string(b) != body {
		t.Fatalf("downloaded %d bytes, %v", len(b), err)
	}
}
