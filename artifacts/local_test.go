package artifacts

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocalRepo(t *testing.T) {
	r, err := Open(context.Background(), filepath.Join(t.TempDir(), "store"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	testRepo(t, r)
}

func TestLocalSubRepo(t *testing.T) {
	root, err := openLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Put(context.Background(), "outside.txt", strings.NewReader("o"), 1); err != nil {
		t.Fatal(err)
	}
	r, err := Sub(root, "1/run/artifacts")
	if err != nil {
		t.Fatal(err)
	}
	testRepo(t, r)
	if _, err := Sub(root, "../x"); !errors.Is(err, ErrBadPath) {
		t.Fatalf("sub ../x: %v", err)
	}
	if _, _, err := root.Open(context.Background(), "outside.txt"); err != nil {
		t.Fatalf("the sub repo touched its parent: %v", err)
	}
}

// TestLocalSymlinkOut checks that a symlink inside the store that leads out
// of it is refused by every operation.
func TestLocalSymlinkOut(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	r, err := openLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := r.Open(ctx, "link/secret.txt"); !errors.Is(err, ErrBadPath) {
		t.Errorf("open through the link: %v", err)
	}
	if _, err := r.List(ctx, "link"); !errors.Is(err, ErrBadPath) {
		t.Errorf("list through the link: %v", err)
	}
	if err := r.Put(ctx, "link/secret.txt", strings.NewReader("pwned"), 5); !errors.Is(err, ErrBadPath) {
		t.Errorf("put through the link: %v", err)
	}
	if err := r.Delete(ctx, "link/secret.txt"); !errors.Is(err, ErrBadPath) {
		t.Errorf("delete through the link: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != "SECRET" {
		t.Fatalf("the file outside changed: %q", b)
	}
	var se *StoreError
	if _, _, err := r.Open(ctx, "nope"); !errors.As(err, &se) || se.Store != dir || se.ErrorCode() != "RESOURCE_DOES_NOT_EXIST" {
		t.Errorf("missing file: %v", err)
	}
}

// TestLocalFailedPutLeavesNothing checks that a reader failing half-way or
// a body shorter than announced leaves neither the file nor a temporary.
func TestLocalFailedPutLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	r, err := openLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Put(ctx, "m/model.onnx", &failingReader{n: 1000}, 5000); err == nil || !errors.Is(err, errReaderBroke) {
		t.Fatalf("put with a failing reader: %v", err)
	}
	if err := r.Put(ctx, "m/short.bin", strings.NewReader("abc"), 10); err == nil {
		t.Fatal("a short body was accepted")
	}
	es, err := Walk(ctx, r, "")
	if err != nil || len(es) != 0 {
		t.Fatalf("after failed puts the store holds %v (%v)", es, err)
	}
	// an existing file stays intact when its replacement fails
	if err := r.Put(ctx, "keep.txt", strings.NewReader("v1"), 2); err != nil {
		t.Fatal(err)
	}
	if err := r.Put(ctx, "keep.txt", &failingReader{n: 1}, -1); err == nil {
		t.Fatal("failing replacement accepted")
	}
	rc, _, err := r.Open(ctx, "keep.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	_ = rc.Close()
	if string(b) != "v1" {
		t.Fatalf("keep.txt = %q", b)
	}
}

// TestLocalFileRoot: a URI naming a file opens that file at "" and
// downloads under its base name.
func TestLocalFileRoot(t *testing.T) {
	file := filepath.Join(t.TempDir(), "MLmodel")
	if err := os.WriteFile(file, []byte("flavors: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(context.Background(), "file://"+file, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := (&Cache{Dir: t.TempDir()}).Fetch(context.Background(), r, "", DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "MLmodel")); err != nil || string(b) != "flavors: {}\n" {
		t.Fatalf("downloaded %q, %v", b, err)
	}
	if _, _, err := r.Open(context.Background(), "x"); err == nil {
		t.Fatal("a path under a file opened")
	}
}

// TestLocalErrorsKeepTheFolderFromClients: what a client is answered
// (ClientMessage) names the artifact's path in the store, never the
// server's folder; the logs' text (Error) still does.
func TestLocalErrorsKeepTheFolderFromClients(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	r, err := openLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	var se *StoreError
	_, _, err = r.Open(ctx, "1/abc/artifacts/missing.txt")
	if !errors.As(err, &se) || se.ClientMessage() != "No such artifact: '1/abc/artifacts/missing.txt'" || !strings.Contains(err.Error(), dir) {
		t.Fatalf("missing file: %v (client: %q)", err, se.ClientMessage())
	}
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = openLocal(file) // a store whose root is a file: every put fails naming it
	if err != nil {
		t.Fatal(err)
	}
	err = r.Put(ctx, "a/b.txt", strings.NewReader("b"), 1)
	if !errors.As(err, &se) || !strings.Contains(err.Error(), file) {
		t.Fatalf("put under a file: %v", err)
	}
	if msg := se.ClientMessage(); strings.Contains(msg, dir) || !strings.Contains(msg, `"a/b.txt"`) {
		t.Fatalf("client message %q names the folder or misses the path", msg)
	}
}
