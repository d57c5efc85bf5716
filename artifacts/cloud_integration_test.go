//go:build integration

package artifacts

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Checks the cloud backends (gs, wasbs) share, on top of testRepo.

// testBigFile stores size random bytes at rel (with the size given, then
// again unknown), reads them back whole and in parallel ranges through
// RangeOpener, and compares checksums.
func testBigFile(t *testing.T, r Repo, rel string, size int) {
	t.Helper()
	ctx := context.Background()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	want := sha256.Sum256(data)
	for _, announced := range []int64{int64(size), -1} {
		if err := r.Put(ctx, rel, bytes.NewReader(data), announced); err != nil {
			t.Fatalf("put %d bytes (size %d): %v", size, announced, err)
		}
		rc, got, err := r.Open(ctx, rel)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		_ = rc.Close()
		if err != nil || n != int64(size) || got != int64(size) || !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("open read %d bytes (size %d, %v), checksum equal %v", n, got, err, bytes.Equal(h.Sum(nil), want[:]))
		}
	}
	ro, ok := r.(RangeOpener)
	if !ok {
		t.Fatalf("%T is not a RangeOpener", r)
	}
	parts := 5
	step := int64(size/parts + 1)
	out := make([]byte, size)
	var wg sync.WaitGroup
	errs := make([]error, parts)
	for i := range parts {
		wg.Go(func() {
			off := int64(i) * step
			n := min(step, int64(size)-off)
			rc, err := ro.OpenRange(ctx, rel, off, n)
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = rc.Close() }()
			_, errs[i] = io.ReadFull(rc, out[off:off+n])
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("ranged reads: %v", err)
	}
	if sha256.Sum256(out) != want {
		t.Fatal("the ranged reads put together differ from the file")
	}
	// Download fetches it in parallel ranged parts too.
	dst := filepath.Join(t.TempDir(), "dl")
	if err := Download(ctx, r, path.Dir(rel), dst, DownloadOptions{RangeThreshold: 1 << 20, PartSize: 700 << 10}); err != nil {
		t.Fatalf("download: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(dst, path.Base(rel))); err != nil || sha256.Sum256(got) != want {
		t.Fatalf("the downloaded file (%d bytes, %v) differs", len(got), err)
	}
	rc, err := ro.OpenRange(ctx, rel, int64(size)-10, -1)
	if err != nil {
		t.Fatalf("open the last 10 bytes: %v", err)
	}
	tail, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil || !bytes.Equal(tail, data[size-10:]) {
		t.Fatalf("the last 10 bytes: %d bytes, %v", len(tail), err)
	}
}

// testPutFails checks that a Put whose reader fails after n bytes, or
// whose reader is shorter than announced, returns an error and leaves
// nothing at rel.
func testPutFails(t *testing.T, r Repo, rel string, n int) {
	t.Helper()
	ctx := context.Background()
	err := r.Put(ctx, rel, &failingReader{n: n}, int64(2*n))
	if !errors.Is(err, errReaderBroke) || !strings.Contains(err.Error(), r.URI()) {
		t.Errorf("put with a reader failing after %d bytes: %v, want the reader's error naming the store", n, err)
	}
	if err := r.Put(ctx, rel, strings.NewReader(strings.Repeat("y", n)), int64(n+1)); err == nil {
		t.Errorf("put of %d bytes announced as %d: no error", n, n+1)
	}
	if _, _, err := r.Open(ctx, rel); !errors.Is(err, ErrNotFound) {
		t.Errorf("after failed puts, open %s: %v, want ErrNotFound", rel, err)
	}
	if es, err := r.List(ctx, ""); err != nil || len(es) != 0 {
		t.Errorf("after failed puts, the store lists %q, %v; want nothing", entriesString(es), err)
	}
}

// testDown checks that every operation on a store that is down fails with
// ErrUnavailable, naming the store, within seconds.
func testDown(t *testing.T, r Repo) {
	t.Helper()
	ctx := context.Background()
	ops := map[string]func() error{
		"list":   func() error { _, err := r.List(ctx, ""); return err },
		"open":   func() error { _, _, err := r.Open(ctx, "a.txt"); return err },
		"put":    func() error { return r.Put(ctx, "a.txt", strings.NewReader("a"), 1) },
		"delete": func() error { return r.Delete(ctx, "a.txt") },
	}
	for op, f := range ops {
		start := time.Now()
		err := f()
		if took := time.Since(start); took > 15*time.Second {
			t.Errorf("%s on a store that is down took %s", op, took)
		}
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), r.URI()) {
			t.Errorf("%s on a store that is down: %v, want ErrUnavailable naming %s", op, err, r.URI())
		}
		var se *StoreError
		if errors.As(err, &se) && se.ErrorCode() != "TEMPORARILY_UNAVAILABLE" {
			t.Errorf("%s: error code %s", op, se.ErrorCode())
		}
	}
}

// traversalSeed are the keys testTraversal puts in the bucket first: one
// outside the repo's prefix root/sub, a sibling, a key that is no safe
// path (as another client may write) and one file of the repo.
var traversalSeed = []string{"outside.txt", "root/sibling.txt", "root/sub/..%2fevil", "root/sub/in.txt"}

// testTraversal tries every bad path, with encoded and backslashed forms,
// on every operation of r (rooted at root/sub of a bucket seeded with
// traversalSeed), then checks with keys that the bucket holds exactly what
// it held, and that the unsafe key is not listed.
func testTraversal(t *testing.T, r Repo, keys func() []string) {
	t.Helper()
	ctx := context.Background()
	bad := append(slices.Clone(badRels), "..%2f..%2foutside.txt", "..%5coutside.txt", "in.txt\\..\\..\\outside.txt",
		"%2e%2e%2f%2e%2e%2foutside.txt", "..%252f..%252foutside.txt", "x/../../sibling.txt", "./in.txt", "in.txt/")
	for _, p := range bad {
		if err := r.Put(ctx, p, strings.NewReader("evil"), 4); !errors.Is(err, ErrBadPath) {
			t.Errorf("put %q: %v", p, err)
		}
		if err := r.Delete(ctx, p); !errors.Is(err, ErrBadPath) {
			t.Errorf("delete %q: %v", p, err)
		}
		if _, _, err := r.Open(ctx, p); !errors.Is(err, ErrBadPath) {
			t.Errorf("open %q: %v", p, err)
		}
		if _, err := r.(RangeOpener).OpenRange(ctx, p, 0, 1); !errors.Is(err, ErrBadPath) {
			t.Errorf("open range %q: %v", p, err)
		}
		if _, err := r.List(ctx, p); !errors.Is(err, ErrBadPath) {
			t.Errorf("list %q: %v", p, err)
		}
	}
	got := keys()
	slices.Sort(got)
	if want := slices.Sorted(slices.Values(traversalSeed)); !slices.Equal(got, want) {
		t.Fatalf("the bucket holds %q, want %q", got, want)
	}
	if es, err := r.List(ctx, ""); err != nil || entriesString(es) != "in.txt:4" {
		t.Fatalf("list = %q, %v; want in.txt:4 only", entriesString(es), err)
	}
}
