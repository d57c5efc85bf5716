package artifacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlgate/mlgate/rest"
)

// fakeProxy serves an mlflow-artifacts proxy over a map of files, with
// injectable faults.
type fakeProxy struct {
	mu    sync.Mutex
	files map[string]string // path under the proxy -> content
	// listSize overrides a listed size.
	listSize map[string]int64
	// cut makes the next n GETs of a path send half the body then drop the
	// connection; short makes them send a truncated body with a matching
	// Content-Length.
	cut, short map[string]int
	gets       atomic.Int32
	inflight   atomic.Int32
	maxInfl    atomic.Int32
	delay      time.Duration
}

func (p *fakeProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const ep = "/api/2.0/mlflow-artifacts/artifacts"
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.URL.Path == ep {
		dir := strings.Trim(r.URL.Query().Get("path"), "/")
		seen := map[string]bool{}
		var files []map[string]any
		for k, v := range p.files {
			rel, ok := strings.CutPrefix(k, dir+"/")
			if dir == "" {
				rel, ok = k, true
			}
			if !ok {
				continue
			}
			name, rest, isDir := strings.Cut(rel, "/")
			_ = rest
			if seen[name] {
				continue
			}
			seen[name] = true
			e := map[string]any{"path": name, "is_dir": isDir}
			if !isDir {
				size := int64(len(v))
				if s, ok := p.listSize[k]; ok {
					size = s
				}
				e["file_size"] = size
			}
			files = append(files, e)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"files": files})
		return
	}
	key := strings.TrimPrefix(r.URL.Path, ep+"/")
	body, ok := p.files[key]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"no file"}`))
		return
	}
	n := p.inflight.Add(1)
	defer p.inflight.Add(-1)
	for {
		m := p.maxInfl.Load()
		if n <= m || p.maxInfl.CompareAndSwap(m, n) {
			break
		}
	}
	p.gets.Add(1)
	if p.delay > 0 {
		p.mu.Unlock()
		time.Sleep(p.delay)
		p.mu.Lock()
	}
	if p.cut[key] > 0 {
		p.cut[key]--
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		_, _ = w.Write([]byte(body[:len(body)/2]))
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	if p.short[key] > 0 {
		p.short[key]--
		body = body[:len(body)-2]
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	_, _ = w.Write([]byte(body))
}

func newProxy(t *testing.T, p *fakeProxy) Repo {
	t.Helper()
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	tr, err := rest.New(rest.Config{BaseURL: srv.URL, MaxRetries: 1, BackoffFactor: 0.01, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(context.Background(), "mlflow-artifacts:/1/run/artifacts/model", Options{Tracking: tr})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func modelFiles() map[string]string {
	return map[string]string{
		"1/run/artifacts/model/MLmodel":         "flavors: {}\n",
		"1/run/artifacts/model/model.onnx":      strings.Repeat("x", 100000),
		"1/run/artifacts/model/sub/extra.txt":   "extra",
		"1/run/artifacts/model/sub/deep/a.json": "{}",
		"1/run/artifacts/other/ignored":         "no",
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkModelTree(t *testing.T, dir string) {
	t.Helper()
	got := readTree(t, dir)
	want := map[string]string{}
	for k, v := range modelFiles() {
		if rel, ok := strings.CutPrefix(k, "1/run/artifacts/model/"); ok {
			want[rel] = v
		}
	}
	if len(got) != len(want) {
		t.Fatalf("tree has %d files, want %d: %v", len(got), len(want), keys(got))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: got %d bytes, want %d", k, len(got[k]), len(v))
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCacheFetchAndReuse(t *testing.T) {
	p := &fakeProxy{files: modelFiles()}
	repo := newProxy(t, p)
	cache := &Cache{Dir: t.TempDir()}
	dir, err := cache.Fetch(context.Background(), repo, "", DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkModelTree(t, dir)
	first := p.gets.Load()
	if first != 4 {
		t.Fatalf("%d file GETs, want 4", first)
	}
	again, err := cache.Fetch(context.Background(), repo, "", DownloadOptions{})
	if err != nil || again != dir {
		t.Fatalf("second fetch %q %v", again, err)
	}
	if p.gets.Load() != first {
		t.Fatal("a cached tree was downloaded again")
	}
	// A changed model (new listing) is a new cache entry.
	p.mu.Lock()
	p.files["1/run/artifacts/model/MLmodel"] = "flavors: {changed: true}\n"
	p.mu.Unlock()
	third, err := cache.Fetch(context.Background(), repo, "", DownloadOptions{})
	if err != nil || third == dir {
		t.Fatalf("changed model reused the old entry: %q %v", third, err)
	}
}

func TestCacheRepairsDamagedEntry(t *testing.T) {
	p := &fakeProxy{files: modelFiles()}
	repo := newProxy(t, p)
	cache := &Cache{Dir: t.TempDir()}
	dir, err := cache.Fetch(context.Background(), repo, "", DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "model.onnx"), 10); err != nil {
		t.Fatal(err)
	}
	dir2, err := cache.Fetch(context.Background(), repo, "", DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkModelTree(t, dir2)
}

// TestFaultsAreRetried: a connection cut mid-transfer (twice) and a body
// shorter than the listing (once) are fetched again.
func TestFaultsAreRetried(t *testing.T) {
	for name, tc := range map[string]struct {
		p    *fakeProxy
		gets int32
	}{
		"cut":   {&fakeProxy{files: modelFiles(), cut: map[string]int{"1/run/artifacts/model/model.onnx": 2}}, 6},
		"short": {&fakeProxy{files: modelFiles(), short: map[string]int{"1/run/artifacts/model/sub/extra.txt": 1}}, 5},
	} {
		t.Run(name, func(t *testing.T) {
			dir, err := (&Cache{Dir: t.TempDir()}).Fetch(context.Background(), newProxy(t, tc.p), "", DownloadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkModelTree(t, dir)
			if n := tc.p.gets.Load(); n != tc.gets {
				t.Fatalf("%d GETs, want %d (4 files and the retries)", n, tc.gets)
			}
		})
	}
}

func TestPersistentFaultLeavesNoCacheEntry(t *testing.T) {
	p := &fakeProxy{files: modelFiles(), cut: map[string]int{"1/run/artifacts/model/model.onnx": 100}}
	repo := newProxy(t, p)
	cacheDir := t.TempDir()
	cache := &Cache{Dir: cacheDir}
	_, err := cache.Fetch(context.Background(), repo, "", DownloadOptions{Attempts: 2})
	if err == nil || !strings.Contains(err.Error(), "model.onnx") {
		t.Fatalf("err = %v", err)
	}
	if des, _ := os.ReadDir(cacheDir); len(des) != 0 {
		t.Fatalf("cache holds %v after a failed download", des)
	}
	// The fault clears: the next fetch succeeds and is complete.
	p.mu.Lock()
	p.cut = nil
	p.mu.Unlock()
	dir, err := cache.Fetch(context.Background(), repo, "", DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkModelTree(t, dir)
}

func TestCancelledDownloadLeavesNoCacheEntry(t *testing.T) {
	p := &fakeProxy{files: modelFiles(), delay: 300 * time.Millisecond}
	repo := newProxy(t, p)
	cacheDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := (&Cache{Dir: cacheDir}).Fetch(ctx, repo, "", DownloadOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if des, _ := os.ReadDir(cacheDir); len(des) != 0 {
		t.Fatalf("cache holds %v after a cancelled download", des)
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("1/run/artifacts/model/f%02d", i)] = strings.Repeat("y", 1000+i)
	}
	p := &fakeProxy{files: files, delay: 20 * time.Millisecond}
	repo := newProxy(t, p)
	dst := filepath.Join(t.TempDir(), "out")
	if err := Download(context.Background(), repo, "", dst, DownloadOptions{Concurrency: 3}); err != nil {
		t.Fatal(err)
	}
	if n := len(readTree(t, dst)); n != 20 {
		t.Fatalf("%d files", n)
	}
	if m := p.maxInfl.Load(); m > 3 || m < 2 {
		t.Fatalf("max parallel GETs %d, want 2..3", m)
	}
}

func TestDownloadRefusesNonEmptyDestination(t *testing.T) {
	dst := t.TempDir()
	if err := os.WriteFile(filepath.Join(dst, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := openLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	err = Download(context.Background(), r, "", dst, DownloadOptions{})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err = %v", err)
	}
}

func TestLocalRepoRoundTrip(t *testing.T) {
	root := t.TempDir()
	r, err := Open(context.Background(), "file://"+root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for rel, body := range map[string]string{"a/b.txt": "bb", "c.txt": "c"} {
		err := r.Put(context.Background(), rel, strings.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
	}
	files, err := Walk(context.Background(), r, "")
	if err != nil || len(files) != 2 || files[0].Path != "a/b.txt" || files[0].Size != 2 {
		t.Fatalf("walk %v %v", files, err)
	}
	if err := r.Put(context.Background(), "../escape", strings.NewReader("x"), 1); !errors.Is(err, ErrBadPath) {
		t.Fatalf("put outside the root: %v", err)
	}
	// A single file downloads under its base name.
	dir, err := (&Cache{Dir: t.TempDir()}).Fetch(context.Background(), r, "a/b.txt", DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readTree(t, dir); got["b.txt"] != "bb" || len(got) != 1 {
		t.Fatalf("single file fetch %v", got)
	}
}

func TestOpenSchemes(t *testing.T) {
	for uri, ok := range map[string]bool{
		"/tmp/x": true, "file:///tmp/x": true, "runs:/abc/model": false, "ftp://h/x": false,
		"mlflow-artifacts:/0/x":                            false, // no tracking server
		"https://h/api/2.0/mlflow-artifacts/artifacts/0/x": true, "https://h/file.onnx": true,
	} {
		_, err := Open(context.Background(), uri, Options{})
		if (err == nil) != ok {
			t.Errorf("Open(%q) err = %v, want ok=%v", uri, err, ok)
		}
	}
}
