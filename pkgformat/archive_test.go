package pkgformat

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type tarEntry struct {
	hdr  tar.Header
	body []byte
}

func makeTar(t *testing.T, gz bool, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		h := e.hdr
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg && h.Size == 0 {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

type zipEntry struct {
	name string
	body []byte
	mode os.FileMode
}

func makeZip(t *testing.T, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func reg(name, body string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name}, body: []byte(body)}
}

func TestExtractBattery(t *testing.T) {
	big := bytes.Repeat([]byte{0}, 4<<20)
	many := make([]tarEntry, 0, 30)
	for i := range 30 {
		many = append(many, reg("f"+strings.Repeat("x", i), "x"))
	}
	cases := []struct {
		name    string
		file    string
		data    []byte
		lim     Limits
		wantErr error
		want    string
	}{
		{"zip-slip", "m.zip", makeZip(t, zipEntry{name: "ok.txt", body: []byte("ok")}, zipEntry{name: "../evil.txt", body: []byte("x")}), Limits{}, ErrUnsafeArchive, `"../evil.txt"`},
		{"tar-slip", "m.tar.gz", makeTar(t, true, reg("ok.txt", "ok"), reg("a/../../evil.txt", "x")), Limits{}, ErrUnsafeArchive, `"a/../../evil.txt"`},
		{"absolute path", "m.tar", makeTar(t, false, reg("/tmp/mlgate-evil.txt", "x")), Limits{}, ErrUnsafeArchive, "absolute path"},
		{"absolute zip path", "m.zip", makeZip(t, zipEntry{name: "/evil.txt", body: []byte("x")}), Limits{}, ErrUnsafeArchive, "absolute path"},
		{"symlink escape", "m.tar.gz", makeTar(t, true, tarEntry{hdr: tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "../../outside"}}), Limits{}, ErrUnsafeArchive, `"link"`},
		{"absolute symlink", "m.tar", makeTar(t, false, tarEntry{hdr: tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc"}}), Limits{}, ErrUnsafeArchive, "absolute"},
		{"zip symlink escape", "m.zip", makeZip(t, zipEntry{name: "link", body: []byte("../../etc/passwd"), mode: os.ModeSymlink | 0o777}), Limits{}, ErrUnsafeArchive, "outside"},
		{"write through symlink", "m.tar", makeTar(t, false,
			tarEntry{hdr: tar.Header{Name: "d", Typeflag: tar.TypeSymlink, Linkname: "."}},
			reg("d/x.txt", "x")), Limits{}, ErrUnsafeArchive, "through the symlink"},
		{"hard-link escape", "m.tar", makeTar(t, false, tarEntry{hdr: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../outside.txt"}}), Limits{}, ErrUnsafeArchive, `"h"`},
		{"hard link to absolute", "m.tar", makeTar(t, false, tarEntry{hdr: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}}), Limits{}, ErrUnsafeArchive, "outside"},
		{"device file", "m.tar", makeTar(t, false, tarEntry{hdr: tar.Header{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}), Limits{}, ErrUnsafeArchive, "device"},
		{"fifo", "m.tar", makeTar(t, false, tarEntry{hdr: tar.Header{Name: "p", Typeflag: tar.TypeFifo}}), Limits{}, ErrUnsafeArchive, "FIFO"},
		{"size bomb tar.gz", "m.tar.gz", makeTar(t, true, tarEntry{hdr: tar.Header{Name: "zeros"}, body: big}), Limits{MaxBytes: 1 << 20}, ErrArchiveTooLarge, `"zeros"`},
		{"size bomb zip", "m.zip", makeZip(t, zipEntry{name: "a", body: big[:800<<10]}, zipEntry{name: "zeros", body: big}), Limits{MaxBytes: 1 << 20}, ErrArchiveTooLarge, `"zeros"`},
		{"count bomb", "m.tar.gz", makeTar(t, true, many...), Limits{MaxEntries: 10}, ErrArchiveTooLarge, "more than 10 entries"},
		{"not an archive", "m.tar.gz", []byte("hello, this is not an archive at all"), Limits{}, ErrNotArchive, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			parent := filepath.Join(base, "work")
			if err := os.MkdirAll(parent, 0o755); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(parent, "model")
			// Both entry points: a file on disk and a plain (unseekable) reader.
			archivePath := filepath.Join(base, c.file)
			if err := os.WriteFile(archivePath, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			errs := []error{
				ExtractFile(context.Background(), archivePath, target, c.lim),
				Extract(context.Background(), struct{ io.Reader }{bytes.NewReader(c.data)}, c.file, target, c.lim),
			}
			for i, err := range errs {
				if err == nil || !errors.Is(err, c.wantErr) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("path %d: err = %v, want %v containing %q", i, err, c.wantErr, c.want)
				}
			}
			left, _ := os.ReadDir(parent)
			if len(left) != 0 {
				t.Errorf("left behind in the target's folder: %v", left)
			}
			all, _ := os.ReadDir(base)
			if len(all) != 2 {
				t.Errorf("written outside the target: %v", all)
			}
			if _, err := os.Lstat("/tmp/mlgate-evil.txt"); err == nil {
				t.Error("absolute path was written")
			}
		})
	}
}

func TestPackExtractRoundTrip(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{"MLmodel": "flavors: {}\n", "data/model.onnx": "onnx-bytes", "data/deep/x.txt": "x"}
	for name, body := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("data/model.onnx", filepath.Join(src, "alias.onnx")); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".tar.gz", ".zip", ".tar", ".tgz"} {
		t.Run(ext, func(t *testing.T) {
			out := t.TempDir()
			arch := filepath.Join(out, "model"+ext)
			if err := Pack(context.Background(), src, arch); err != nil {
				t.Fatal(err)
			}
			// Existing empty folder as target is fine.
			target := filepath.Join(out, "x")
			if err := os.Mkdir(target, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := ExtractFile(context.Background(), arch, target, Limits{}); err != nil {
				t.Fatal(err)
			}
			for name, body := range files {
				got, err := os.ReadFile(filepath.Join(target, filepath.FromSlash(name)))
				if err != nil || string(got) != body {
					t.Errorf("%s: %q %v", name, got, err)
				}
			}
			if got, err := os.ReadFile(filepath.Join(target, "alias.onnx")); err != nil || string(got) != "onnx-bytes" {
				t.Errorf("symlink: %q %v", got, err)
			}
			// A non-empty target is refused.
			if err := ExtractFile(context.Background(), arch, target, Limits{}); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Errorf("non-empty target: %v", err)
			}
		})
	}
	if err := Pack(context.Background(), src, filepath.Join(t.TempDir(), "m.rar")); err == nil {
		t.Error("want an error for .rar")
	}
}

func TestExtractHardLinkInside(t *testing.T) {
	data := makeTar(t, false, reg("a.txt", "hello"), tarEntry{hdr: tar.Header{Name: "b.txt", Typeflag: tar.TypeLink, Linkname: "a.txt"}})
	target := filepath.Join(t.TempDir(), "out")
	if err := Extract(context.Background(), bytes.NewReader(data), "m.tar", target, Limits{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(target, "b.txt")); string(got) != "hello" {
		t.Errorf("hard link content %q", got)
	}
}

func TestExtractCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := makeTar(t, true, reg("a", "b"))
	target := filepath.Join(t.TempDir(), "out")
	if err := Extract(ctx, bytes.NewReader(data), "m.tar.gz", target, Limits{}); err == nil {
		t.Error("want an error for a cancelled context")
	}
	if _, err := os.Stat(target); err == nil {
		t.Error("target created")
	}
}

func TestModelRoot(t *testing.T) {
	dir := t.TempDir()
	if _, err := ModelRoot(dir); !errors.Is(err, ErrBadMLmodel) {
		t.Errorf("empty: %v", err)
	}
	sub := filepath.Join(dir, "model")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, MLmodelFile), []byte("flavors: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := ModelRoot(dir); err != nil || got != sub {
		t.Errorf("wrapped: %q %v", got, err)
	}
	if got, err := ModelRoot(sub); err != nil || got != sub {
		t.Errorf("direct: %q %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ModelRoot(dir); err == nil {
		t.Error("two entries: want an error")
	}
}
