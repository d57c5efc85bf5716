package artifacts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

// badRels are relative paths every backend must refuse with ErrBadPath
// before it touches a disk or a bucket: traversal, absolute paths,
// backslashes, NUL, and their percent- and double-percent-encoded forms.
var badRels = []string{"..", "../a", "a/../../b", "/etc/passwd", "a\\b", "..%2fa", "%2e%2e/a", "%252e%252e%252fa",
	"%25252e%25252e/a", "a/%2e%2e/%2e%2e/b", "a\x00b", "%00", "%5c", "C:/x", "~/x"}

// testRepo runs the behaviour every Repo must have against r, which must be
// empty: put, list with sizes, open, a missing file, delete of a file and a
// tree, and refusal of every bad path by every operation. Backend tests call
// it with a repo on their (real or emulated) store.
func testRepo(t *testing.T, r Repo) {
	t.Helper()
	ctx := context.Background()
	files := map[string]string{"a.txt": "hello", "dir/b.bin": strings.Repeat("b", 3000), "dir/sub/c.json": `{"c":1}`}
	for rel, body := range files {
		if err := r.Put(ctx, rel, strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatalf("put %s: %v", rel, err)
		}
	}
	root, err := r.List(ctx, "")
	if err != nil {
		t.Fatalf("list root: %v", err)
	}
	if got := entriesString(root); got != "a.txt:5 dir/" {
		t.Errorf("list root = %q, want %q", got, "a.txt:5 dir/")
	}
	dir, err := r.List(ctx, "dir")
	if err != nil {
		t.Fatalf("list dir: %v", err)
	}
	if got := entriesString(dir); got != "dir/b.bin:3000 dir/sub/" {
		t.Errorf("list dir = %q", got)
	}
	if es, err := r.List(ctx, "missing"); err != nil || len(es) != 0 {
		t.Errorf("list missing = %v, %v; want empty", es, err)
	}
	for rel, body := range files {
		rc, size, err := r.Open(ctx, rel)
		if err != nil {
			t.Fatalf("open %s: %v", rel, err)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil || string(got) != body || (size != -1 && size != int64(len(body))) {
			t.Errorf("open %s: %d bytes (size %d), %v", rel, len(got), size, err)
		}
	}
	if _, _, err := r.Open(ctx, "nope.txt"); !errors.Is(err, ErrNotFound) {
		t.Errorf("open missing: %v, want ErrNotFound", err)
	}
	for _, bad := range badRels {
		if err := r.Put(ctx, bad, bytes.NewReader([]byte("x")), 1); !errors.Is(err, ErrBadPath) {
			t.Errorf("put %q: %v, want ErrBadPath", bad, err)
		}
		if _, _, err := r.Open(ctx, bad); !errors.Is(err, ErrBadPath) {
			t.Errorf("open %q: %v, want ErrBadPath", bad, err)
		}
		if _, err := r.List(ctx, bad); !errors.Is(err, ErrBadPath) {
			t.Errorf("list %q: %v, want ErrBadPath", bad, err)
		}
		if err := r.Delete(ctx, bad); !errors.Is(err, ErrBadPath) {
			t.Errorf("delete %q: %v, want ErrBadPath", bad, err)
		}
	}
	if err := r.Delete(ctx, "a.txt"); err != nil {
		t.Fatalf("delete a.txt: %v", err)
	}
	if err := r.Delete(ctx, "dir"); err != nil {
		t.Fatalf("delete dir: %v", err)
	}
	if es, err := r.List(ctx, ""); err != nil || len(es) != 0 {
		t.Errorf("after deletes, root lists %v, %v; want empty", entriesString(es), err)
	}
}

func entriesString(es []Entry) string {
	var parts []string
	for _, e := range es {
		if e.IsDir {
			parts = append(parts, e.Path+"/")
			continue
		}
		parts = append(parts, e.Path+":"+strconv.FormatInt(e.Size, 10))
	}
	return strings.Join(parts, " ")
}

// errReaderBroke is what a failingReader fails with.
var errReaderBroke = errors.New("reader broke half-way")

// failingReader gives n bytes, then fails: a client whose upload breaks.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errReaderBroke
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}
