package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Defaults for downloads.
const (
	DefaultConcurrency = 8
	DefaultAttempts    = 4
)

// DownloadOptions tune a download.
type DownloadOptions struct {
	// Concurrency bounds parallel file transfers (default 8).
	Concurrency int
	// Attempts is how many times one file is tried (default 4).
	Attempts int
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
			return fmt.Errorf("list %s: folders nested too deep", r.URI())
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
	prog := newProgress(o.Progress, o.Logger, r.URI(), len(files), total)
	defer prog.finish()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan Entry)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(o.Concurrency, max(len(files), 1)) {
		wg.Go(func() {
			for f := range jobs {
				if err := fetchFile(ctx, r, f, strip, dir, o, prog); err != nil {
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
	for _, f := range files {
		select {
		case jobs <- f:
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

func fetchFile(ctx context.Context, r Repo, f Entry, strip, dir string, o DownloadOptions, prog *progress) error {
	rel := f.Path
	if strip != "" {
		rel = rel[len(strip):]
		if len(rel) > 0 && rel[0] == '/' {
			rel = rel[1:]
		}
	}
	if rel == "" {
		rel = path.Base(f.Path)
	}
	if err := safeRel(rel); err != nil {
		return err
	}
	dst := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	var lastErr error
	for attempt := 1; attempt <= o.Attempts; attempt++ {
		n, err := copyOnce(ctx, r, f, dst, prog)
		if err == nil {
			prog.fileDone()
			return nil
		}
		prog.add(-n)
		lastErr = err
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt < o.Attempts {
			o.Logger.WarnContext(ctx, "retrying artifact download", "uri", r.URI(), "path", f.Path, "attempt", attempt, "err", err)
			t := time.NewTimer(time.Duration(attempt*attempt) * 200 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
	return fmt.Errorf("download %s/%s: %w", r.URI(), f.Path, lastErr)
}

// copyOnce downloads one file to dst and checks its size; it returns the
// bytes counted in progress.
func copyOnce(ctx context.Context, r Repo, f Entry, dst string, prog *progress) (int64, error) {
	rc, size, err := r.Open(ctx, f.Path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = rc.Close() }()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, &countReader{r: rc, prog: prog})
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

type countReader struct {
	r    io.Reader
	prog *progress
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.prog.add(int64(n))
	return n, err
}
