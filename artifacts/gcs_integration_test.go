//go:build integration

package artifacts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/mlgate/mlgate/artifacts/artifactstest"
	"github.com/mlgate/mlgate/rest/resttest"
)

// startGCS starts a fake GCS server with a bucket "mlgate" and returns it
// with the options that reach it.
func startGCS(t *testing.T) (*fakestorage.Server, GCSOptions) {
	t.Helper()
	srv, host := artifactstest.GCS(t)
	return srv, GCSOptions{EmulatorHost: host}
}

func openGCSRepo(t *testing.T, uri string, opts GCSOptions) Repo {
	t.Helper()
	r, err := Open(context.Background(), uri, Options{GCS: opts})
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	return r
}

func TestGCSRepo(t *testing.T) {
	_, opts := startGCS(t)
	for _, uri := range []string{"gs://mlgate/experiments/1/abc/artifacts", "gs://mlgate"} {
		t.Run(uri, func(t *testing.T) { testRepo(t, openGCSRepo(t, uri, opts)) })
	}
}

func TestGCSKeysStayUnderThePrefix(t *testing.T) {
	srv, opts := startGCS(t)
	ctx := context.Background()
	srv.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "mlgate", Name: "run1-sibling/x.txt"}, Content: []byte("other run")})
	r := openGCSRepo(t, "gs://mlgate/run1", opts)
	if err := r.Put(ctx, "m/model.onnx", strings.NewReader("onnx"), 4); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.GetObject("mlgate", "run1/m/model.onnx"); err != nil {
		t.Errorf("the object is not at run1/m/model.onnx: %v", err)
	}
	if err := r.Delete(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.GetObject("mlgate", "run1-sibling/x.txt"); err != nil {
		t.Errorf("deleting gs://mlgate/run1 removed the sibling run1-sibling: %v", err)
	}
}

func TestGCSListPages(t *testing.T) {
	_, opts := startGCS(t)
	ctx := context.Background()
	r := openGCSRepo(t, "gs://mlgate/paged", opts)
	r.(*gcsRepo).pageSize = 2
	var want []string
	for i := range 5 {
		rel := fmt.Sprintf("f%d.txt", i)
		if err := r.Put(ctx, rel, strings.NewReader("abc"), 3); err != nil {
			t.Fatal(err)
		}
		want = append(want, rel+":3")
		if err := r.Put(ctx, fmt.Sprintf("d%d/x", i), strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	es, err := r.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, w := entriesString(es), "d0/ d1/ d2/ d3/ d4/ "+strings.Join(want, " "); got != w {
		t.Errorf("paged listing = %q, want %q", got, w)
	}
	if err := r.Delete(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if es, err := r.List(ctx, ""); err != nil || len(es) != 0 {
		t.Errorf("after deleting the root over pages: %q, %v", entriesString(es), err)
	}
}

func TestGCSBigFileInChunks(t *testing.T) {
	srv, opts := startGCS(t)
	opts.UploadChunkSize, opts.DownloadChunkSize = 256<<10, 300<<10
	r := openGCSRepo(t, "gs://mlgate/big", opts)
	testBigFile(t, r, "model/weights.bin", 3<<20+123)
	if o, err := srv.GetObject("mlgate", "big/model/weights.bin"); err != nil || len(o.Content) != 3<<20+123 {
		t.Errorf("the emulator holds %d bytes, %v", len(o.Content), err)
	}
	// An empty file, read in chunks too.
	ctx := context.Background()
	if err := r.Put(ctx, "empty", strings.NewReader(""), 0); err != nil {
		t.Fatal(err)
	}
	rc, size, err := r.Open(ctx, "empty")
	if err != nil || size > 0 {
		t.Fatalf("open an empty file: size %d, %v", size, err)
	}
	_ = rc.Close()
}

func TestGCSPutFailsLeavesNothing(t *testing.T) {
	srv, opts := startGCS(t)
	opts.UploadChunkSize = 256 << 10
	r := openGCSRepo(t, "gs://mlgate/failing", opts)
	testPutFails(t, r, "in-one-request.bin", 1000)
	testPutFails(t, r, "in-parts.bin", 1<<20) // four parts are sent before the reader fails
	objs, err := srv.ListObjectsWithOptionsPaginated("mlgate", fakestorage.ListOptions{})
	if err != nil || len(objs.Objects) != 0 {
		t.Errorf("the emulator holds %d objects, %v; want none", len(objs.Objects), err)
	}
}

func TestGCSMissingBucket(t *testing.T) {
	_, opts := startGCS(t)
	ctx := context.Background()
	r := openGCSRepo(t, "gs://no-such-bucket/p", opts)
	_, err := r.List(ctx, "")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "gs://no-such-bucket") {
		t.Errorf("list in a missing bucket: %v, want ErrNotFound naming gs://no-such-bucket", err)
	}
	if err := r.Put(ctx, "a.txt", strings.NewReader("a"), 1); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "gs://no-such-bucket") {
		t.Errorf("put in a missing bucket: %v, want ErrNotFound naming gs://no-such-bucket", err)
	}
	if _, _, err := r.Open(ctx, "a.txt"); !errors.Is(err, ErrNotFound) {
		t.Errorf("open in a missing bucket: %v, want ErrNotFound", err)
	}
}

func TestGCSDown(t *testing.T) {
	opts := GCSOptions{EmulatorHost: fmt.Sprintf("127.0.0.1:%d", resttest.FreePort(t))}
	testDown(t, openGCSRepo(t, "gs://mlgate/down", opts))
}

func TestGCSBadURI(t *testing.T) {
	if _, err := Open(context.Background(), "gs:///path", Options{}); !errors.Is(err, ErrBadPath) {
		t.Errorf("gs URI without a bucket: %v, want ErrBadPath", err)
	}
}

func TestGCSTraversalNeverReachesBucket(t *testing.T) {
	srv, opts := startGCS(t)
	for _, k := range traversalSeed {
		srv.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "mlgate", Name: k}, Content: []byte("seed")})
	}
	testTraversal(t, openGCSRepo(t, "gs://mlgate/root/sub", opts), func() []string {
		objs, err := srv.ListObjectsWithOptionsPaginated("mlgate", fakestorage.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, o := range objs.Objects {
			names = append(names, o.Name)
		}
		return names
	})
}
