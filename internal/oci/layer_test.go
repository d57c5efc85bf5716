package oci

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFiles creates files (name -> content) under a new temp folder.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// headers returns the tar headers of a layer, in order.
func headers(t *testing.T, trees ...Tree) []*tar.Header {
	t.Helper()
	l, err := Layer(Epoch, trees...)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []*tar.Header
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
}

func TestLayerIsSortedWithParentsAndFixedMetadata(t *testing.T) {
	src := writeFiles(t, map[string]string{"MLmodel": "flavors: {}\n", "sub/model.onnx": "x", "a.txt": "a"})
	if err := os.Chmod(filepath.Join(src, "a.txt"), 0o700); err != nil {
		t.Fatal(err)
	}
	hs := headers(t, Tree{Src: src, Dest: "/opt/ml/model"})
	var names []string
	for _, h := range hs {
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(Epoch) {
			t.Errorf("%s: uid %d gid %d time %v", h.Name, h.Uid, h.Gid, h.ModTime)
		}
	}
	want := "opt/ opt/ml/ opt/ml/model/ opt/ml/model/MLmodel opt/ml/model/a.txt opt/ml/model/sub/ opt/ml/model/sub/model.onnx"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("entries\n got %s\nwant %s", got, want)
	}
	modes := map[string]int64{}
	for _, h := range hs {
		modes[h.Name] = h.Mode
	}
	if modes["opt/ml/model/MLmodel"] != 0o644 || modes["opt/ml/model/a.txt"] != 0o755 || modes["opt/ml/model/sub/"] != 0o755 {
		t.Fatalf("modes not normalised: %v", modes)
	}
}

func TestLayerDigestDependsOnlyOnContent(t *testing.T) {
	files := map[string]string{"MLmodel": "m", "w/b.bin": "0123456789"}
	a, b := writeFiles(t, files), writeFiles(t, files)
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(b, "MLmodel"), old, old); err != nil {
		t.Fatal(err)
	}
	digest := func(src string, mtime time.Time) string {
		l, err := Layer(mtime, Tree{Src: src, Dest: "/opt/ml/model"})
		if err != nil {
			t.Fatal(err)
		}
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	if digest(a, Epoch) != digest(b, Epoch) {
		t.Fatal("same files with other local times gave another digest")
	}
	if digest(a, Epoch) == digest(a, time.Unix(1700000000, 0)) {
		t.Fatal("SOURCE_DATE_EPOCH did not change the digest")
	}
	if err := os.WriteFile(filepath.Join(b, "w/b.bin"), []byte("0123456780"), 0o644); err != nil {
		t.Fatal(err)
	}
	if digest(a, Epoch) == digest(b, Epoch) {
		t.Fatal("changed content kept the digest")
	}
}

func TestLayerOwnersModesAndRootTree(t *testing.T) {
	root := writeFiles(t, map[string]string{"etc/passwd": "root:x:0:0::/:/x\n"})
	for _, d := range []string{"tmp", "home/mlgate"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hs := headers(t, Tree{Src: root, Dest: "/", Owners: map[string]Owner{"/home/mlgate": {65532, 65532}}, Modes: map[string]int64{"/tmp": 0o1777}})
	got := map[string]*tar.Header{}
	for _, h := range hs {
		got[h.Name] = h
	}
	if _, ok := got["/"]; ok || got["./"] != nil {
		t.Fatal("the root folder itself became an entry")
	}
	if h := got["home/mlgate/"]; h == nil || h.Uid != 65532 || h.Gid != 65532 {
		t.Fatalf("home owner: %+v", h)
	}
	if h := got["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Fatalf("tmp mode: %+v", h)
	}
	if h := got["home/"]; h == nil || h.Uid != 0 {
		t.Fatalf("home/ must stay root's: %+v", h)
	}
}

func TestLayerLinks(t *testing.T) {
	src := writeFiles(t, map[string]string{"lib/libx.so.6.0": "elf"})
	if err := os.Symlink("libx.so.6.0", filepath.Join(src, "lib/libx.so.6")); err != nil {
		t.Fatal(err)
	}
	if _, err := Layer(Epoch, Tree{Src: src, Dest: "/opt/ml/model"}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("a model folder with a link: %v", err)
	}
	hs := headers(t, Tree{Src: src, Dest: "/", Links: true})
	if last := hs[len(hs)-1]; last.Name != "lib/libx.so.6.0" || hs[len(hs)-2].Linkname != "libx.so.6.0" {
		t.Fatalf("link entries: %+v %+v", hs[len(hs)-2], last)
	}
	if err := os.Symlink("../../../../etc/shadow", filepath.Join(src, "lib/escape")); err != nil {
		t.Fatal(err)
	}
	if _, err := Layer(Epoch, Tree{Src: src, Dest: "/", Links: true}); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("escaping link: %v", err)
	}
}

func TestLinkInside(t *testing.T) {
	for _, c := range []struct {
		img, target string
		want        bool
	}{
		{"/lib/x/a.so", "b.so", true},
		{"/lib/x/a.so", "../y/b.so", true},
		{"/lib/x/a.so", "../../b.so", true},
		{"/lib/x/a.so", "../../../b.so", false},
		{"/a", "..", false},
		{"/lib64/ld.so", "/lib/x86_64-linux-gnu/ld.so", true},
		{"/lib64/ld.so", "/lib/../../etc", false},
		{"/a/b", "", false},
		{"/a/b", "./c/./d", true},
		{"/a/b", "c/../../..", false},
	} {
		if got := linkInside(c.img, c.target); got != c.want {
			t.Errorf("linkInside(%q, %q) = %v, want %v", c.img, c.target, got, c.want)
		}
	}
}

func TestLayerRejectsBadDestinationsAndCollisions(t *testing.T) {
	src := writeFiles(t, map[string]string{"f": "1"})
	for _, dest := range []string{"opt/ml", "/opt/../etc", "/opt/ml/"} {
		if _, err := Layer(Epoch, Tree{Src: src, Dest: dest}); err == nil {
			t.Errorf("dest %q accepted", dest)
		}
	}
	one := writeFiles(t, map[string]string{"f": "2"})
	if _, err := Layer(Epoch, Tree{Src: src, Dest: "/x"}, Tree{Src: one, Dest: "/x"}); err == nil || !strings.Contains(err.Error(), "two sources") {
		t.Fatalf("colliding trees: %v", err)
	}
	if _, err := Layer(Epoch, Tree{Src: filepath.Join(src, "missing"), Dest: "/x"}); err == nil {
		t.Fatal("a missing source was accepted")
	}
}
