package proxy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/artifacts"
)

func TestResolve(t *testing.T) {
	ctx := context.Background()
	dest, other := t.TempDir(), t.TempDir()
	proxyRepo, err := artifacts.Open(ctx, dest, artifacts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Proxy: proxyRepo}
	if err := os.MkdirAll(filepath.Join(dest, "0", "run", "artifacts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dest, "0", "run", "artifacts", "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "b.txt"), []byte("bb"), 0o644); err != nil {
		t.Fatal(err)
	}
	for uri, want := range map[string]string{
		"mlflow-artifacts:/0/run/artifacts":                                "a.txt:1",
		"mlflow-artifacts://host:5000/0/run/artifacts":                     "a.txt:1",
		"http://h:5000/api/2.0/mlflow-artifacts/artifacts/0/run/artifacts": "a.txt:1",
		other:             "b.txt:2",
		"file://" + other: "b.txt:2",
	} {
		repo, err := r.Resolve(ctx, uri)
		if err != nil {
			t.Errorf("%s: %v", uri, err)
			continue
		}
		es, err := repo.List(ctx, "")
		if err != nil || len(es) != 1 || es[0].Path+":"+strconv.FormatInt(es[0].Size, 10) != want {
			t.Errorf("%s lists %v, %v; want %s", uri, es, err, want)
		}
	}
	for uri, want := range map[string]error{
		"mlflow-artifacts:/0/../../x":          artifacts.ErrBadPath,
		"mlflow-artifacts:/%2e%2e/x":           artifacts.ErrBadPath,
		"s3://bucket/../x":                     artifacts.ErrBadPath,
		"gs://bucket/a/%2e%2e/%2e%2e/b":        artifacts.ErrBadPath,
		"https://elsewhere.example/model.onnx": artifacts.ErrNotSupported,
		"ftp://h/x":                            artifacts.ErrNotSupported,
		"models:/m/1":                          artifacts.ErrNotSupported,
	} {
		if _, err := r.Resolve(ctx, uri); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", uri, err, want)
		}
	}
	off := &Resolver{}
	if _, err := off.Resolve(ctx, "mlflow-artifacts:/0/x"); !errors.Is(err, ErrNoProxy) {
		t.Errorf("serving off: %v", err)
	}
	// a bucket store is opened once and shared by every URI in it
	_, err1 := r.Resolve(ctx, "s3://bucket/1/a")
	_, err2 := r.Resolve(ctx, "s3://bucket/2/b")
	n := 0
	r.buckets.Range(func(k, _ any) bool { n++; return strings.HasPrefix(k.(string), "s3://bucket") })
	if err1 == nil && err2 == nil && n != 1 {
		t.Errorf("%d s3 clients for one bucket", n)
	}
}
