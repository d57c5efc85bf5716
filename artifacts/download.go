package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Defaults for downloads.
const (
	DefaultConcurrency    = 8
	DefaultAttempts       = 4
	DefaultRangeThreshold = 64 << 20
	DefaultPartSize       = 16 << 20
)

// DownloadOptions tune a download.
type DownloadOptions struct {
	// Concurrency bounds parallel file transfers, and separately the
	// parallel parts of large files (default 8).
	Concurrency int
	// Attempts is how many times one file (or one part) is tried
	// (default 4).
	Attempts int
	// RangeThreshold is the listed size from which a file of a store that
	// reads ranges (a RangeOpener) is fetched in parallel parts of PartSize
	// bytes (defaults 64 MiB and 16 MiB).
	RangeThreshold, PartSize int64
	// Logger receives progress lines and retry warnings; nil discards them.
	Logger *slog.Logger
	// Progress, when a terminal, shows a progress bar; otherwise progress
	// goes to Logger every few seconds.
	Progress io.Writer
}

func (o DownloadOptions) withDefaults() DownloadOptions {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.RangeThreshold <= 0 {
		o.RangeThreshold = DefaultRangeThreshold
	}
	if o.PartSize <= 0 {
		o.PartSize = DefaultPartSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Walk lists every file under rel recursively, sorted by path.
func Walk(ctx context.Context, r Repo, rel string) ([]Entry, error) {
	var out []Entry
	var walk func(dir string, depth int) error
	walk = func(dir string, depth int) error {
		if depth > 64 {
			return storeErr(r.URI(), "list", dir, errors.New("folders nested too deep"))
		}
		es, err := r.List(ctx, dir)
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.IsDir {
				if err := walk(e.Path, depth+1); err != nil {
					return err
				}
				continue
			}
			out = append(out, e)
		}
		return nil
	}
	if err := walk(rel, 0); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// ErrSizeMismatch means a file's downloaded size differs from its listing.
var ErrSizeMismatch = errors.New("size differs from the listing")

// downloader fetches the files of one download.
type downloader struct {
	r     Repo
	o     DownloadOptions
	prog  *progress
	parts chan struct{} // bounds the parts in flight across files
}

// downloadFiles fetches files (paths relative to the repo root, trimmed of
// the prefix strip) into dir.
func downloadFiles(ctx context.Context, r Repo, files []Entry, strip, dir string, o DownloadOptions) error {
	o = o.withDefaults()
	var total int64
	for _, f := range files {
		if f.Size > 0 {
			total += f.Size
		}
	}
	d := &downloader{r: r, o: o, prog: newProgress(o.Progress, o.Logger, r.URI(), len(files), total),
		parts: make(chan struct{}, o.Concurrency)}
	defer d.prog.finish()
	return forEach(ctx, files, o.Concurrency, func(ctx context.Context, f Entry) error {
		return d.file(ctx, f, strip, dir)
	})
}

// forEach runs fn on every item with at most n running at once; the first
// error cancels the rest and is returned.
func forEach[T any](ctx context.Context, items []T, n int, fn func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan T)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(n, max(len(items), 1)) {
		wg.Go(func() {
			for it := range jobs {
				if err := fn(ctx, it); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, it := range items {
		select {
		case jobs <- it:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func (d *downloader) file(ctx context.Context, f Entry, strip, dir string) error {
	rel := localRel(d.r.URI(), f, strip)
	if err := checkRel(rel); err != nil {
		return storeErr(d.r.URI(), "download", f.Path, err)
	}
	dst := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if ro, ok := d.r.(RangeOpener); ok && f.Size >= d.o.RangeThreshold {
		if err := d.ranges(ctx, ro, f, dst); err != nil {
			return fmt.Errorf("download %s/%s: %w", d.r.URI(), f.Path, err)
		}
		d.prog.fileDone()
		return nil
	}
	err := d.retry(ctx, f.Path, func() (int64, error) { return d.copyOnce(ctx, f, dst) })
	if err != nil {
		return fmt.Errorf("download %s/%s: %w", d.r.URI(), f.Path, err)
	}
	d.prog.fileDone()
	return nil
}

// retry runs try up to Attempts times with a growing pause; try returns
// the bytes it counted in progress, which a failed attempt takes back.
func (d *downloader) retry(ctx context.Context, what string, try func() (int64, error)) error {
	var lastErr error
	for attempt := 1; attempt <= d.o.Attempts; attempt++ {
		n, err := try()
		if err == nil {
			return nil
		}
		d.prog.add(-n)
		lastErr = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt < d.o.Attempts {
			d.o.Logger.WarnContext(ctx, "retrying artifact download", "uri", d.r.URI(), "path", what, "attempt", attempt, "err", err)
			t := time.NewTimer(time.Duration(attempt*attempt) * 200 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	return lastErr
}

// copyOnce downloads one file to dst and checks its size; it returns the
// bytes counted in progress.
func (d *downloader) copyOnce(ctx context.Context, f Entry, dst string) (int64, error) {
	rc, size, err := d.r.Open(ctx, f.Path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = rc.Close() }()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, &countReader{r: rc, prog: d.prog})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	want := f.Size
	if want < 0 {
		want = size
	}
	if want >= 0 && n != want {
		return n, fmt.Errorf("%w: got %d bytes, listing says %d", ErrSizeMismatch, n, want)
	}
	return n, nil
}

// ranges fetches a large file in parallel parts written in place, each
// part retried on its own.
func (d *downloader) ranges(ctx context.Context, ro RangeOpener, f Entry, dst string) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if err := out.Truncate(f.Size); err != nil {
		_ = out.Close()
		return err
	}
	var offs []int64
	for off := int64(0); off < f.Size; off += d.o.PartSize {
		offs = append(offs, off)
	}
	err = forEach(ctx, offs, d.o.Concurrency, func(ctx context.Context, off int64) error {
		select {
		case d.parts <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		defer func() { <-d.parts }()
		n := min(d.o.PartSize, f.Size-off)
		return d.retry(ctx, fmt.Sprintf("%s@%d", f.Path, off), func() (int64, error) {
			return d.part(ctx, ro, f.Path, out, off, n)
		})
	})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// part copies n bytes at off of rel into out.
func (d *downloader) part(ctx context.Context, ro RangeOpener, rel string, out *os.File, off, n int64) (int64, error) {
	rc, err := ro.OpenRange(ctx, rel, off, n)
	if err != nil {
		return 0, err
	}
	defer func() { _ = rc.Close() }()
	got, err := io.Copy(io.NewOffsetWriter(out, off), io.LimitReader(&countReader{r: rc, prog: d.prog}, n))
	if err != nil {
		return got, err
	}
	if extra, _ := rc.Read(make([]byte, 1)); got != n || extra > 0 {
		return got, fmt.Errorf("%w: the part at %d is not %d bytes long", ErrSizeMismatch, off, n)
	}
	return got, nil
}

type countReader struct {
	r    io.Reader
	prog *progress
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.prog.add(int64(n))
	return n, err
}
