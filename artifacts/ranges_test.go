package artifacts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// rangeRepo is an in-memory store that reads ranges; it counts the ranges
// asked for, the parts in flight, and can cut the first read of a range.
type rangeRepo struct {
	files             map[string][]byte
	opens, ranges     atomic.Int32
	inflight, maxInfl atomic.Int32
	mu                sync.Mutex
	cutOnce           map[int64]bool // offsets whose first read is cut short
	seen              map[int64]int
}

func (r *rangeRepo) URI() string { return "mem://ranges" }

func (r *rangeRepo) List(_ context.Context, rel string) ([]Entry, error) {
	if rel != "" {
		return nil, nil
	}
	var out []Entry
	for k, v := range r.files {
		out = append(out, Entry{Path: k, Size: int64(len(v))})
	}
	sortEntries(out)
	return out, nil
}

func (r *rangeRepo) Open(_ context.Context, rel string) (io.ReadCloser, int64, error) {
	r.opens.Add(1)
	b, ok := r.files[rel]
	if !ok {
		return nil, 0, ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

func (r *rangeRepo) Put(context.Context, string, io.Reader, int64) error { return ErrNotSupported }
func (r *rangeRepo) Delete(context.Context, string) error                { return ErrNotSupported }

type doneReader struct {
	io.Reader
	done func()
}

func (d doneReader) Close() error { d.done(); return nil }

func (r *rangeRepo) OpenRange(_ context.Context, rel string, off, n int64) (io.ReadCloser, error) {
	r.ranges.Add(1)
	cur := r.inflight.Add(1)
	for m := r.maxInfl.Load(); cur > m && !r.maxInfl.CompareAndSwap(m, cur); m = r.maxInfl.Load() {
	}
	b := r.files[rel][off : off+n]
	r.mu.Lock()
	r.seen[off]++
	if r.cutOnce[off] && r.seen[off] == 1 {
		b = b[:n/3]
	}
	r.mu.Unlock()
	return doneReader{bytes.NewReader(b), func() { r.inflight.Add(-1) }}, nil
}

// TestRangedDownload fetches a large file in parts from a RangeOpener (with
// one part cut short and retried) and small files whole.
func TestRangedDownload(t *testing.T) {
	big := make([]byte, 10<<20+12345)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(big)
	r := &rangeRepo{files: map[string][]byte{"big.bin": big, "small.txt": []byte("small")},
		cutOnce: map[int64]bool{3 << 20: true}, seen: map[int64]int{}}
	dst := filepath.Join(t.TempDir(), "out")
	o := DownloadOptions{RangeThreshold: 4 << 20, PartSize: 1 << 20, Concurrency: 3}
	if err := Download(context.Background(), r, "", dst, o); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dst, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(big) {
		t.Fatalf("big.bin differs (%d bytes, want %d)", len(got), len(big))
	}
	// 11 parts, one of them fetched twice; the small file and the listing's
	// single-file probe never happen by range.
	if n := r.ranges.Load(); n != 12 {
		t.Errorf("%d ranges requested, want 12", n)
	}
	if n := r.opens.Load(); n != 1 {
		t.Errorf("%d whole-file opens, want 1 (small.txt)", n)
	}
	if m := r.maxInfl.Load(); m > 3 || m < 2 {
		t.Errorf("%d parts in flight at most, want 2..3", m)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "small.txt")); string(b) != "small" {
		t.Errorf("small.txt = %q", b)
	}
}

// TestRangedDownloadGivesUp checks that a part that keeps failing fails
// the download and leaves no destination.
func TestRangedDownloadGivesUp(t *testing.T) {
	big := bytes.Repeat([]byte("z"), 5<<20)
	r := &rangeRepo{files: map[string][]byte{"big.bin": big}, cutOnce: map[int64]bool{}, seen: map[int64]int{}}
	bad := &alwaysCut{rangeRepo: r}
	dst := filepath.Join(t.TempDir(), "out")
	err := Download(context.Background(), bad, "", dst, DownloadOptions{RangeThreshold: 1 << 20, PartSize: 1 << 20, Attempts: 2})
	if !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("err = %v, want ErrSizeMismatch", err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("destination exists after a failed download: %v", err)
	}
}

type alwaysCut struct{ *rangeRepo }

func (a *alwaysCut) OpenRange(ctx context.Context, rel string, off, n int64) (io.ReadCloser, error) {
	rc, err := a.rangeRepo.OpenRange(ctx, rel, off, n)
	if err != nil || off != 2<<20 {
		return rc, err
	}
	return doneReader{io.LimitReader(rc, 10), func() { _ = rc.Close() }}, nil
}
