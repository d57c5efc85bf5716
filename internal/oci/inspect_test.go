package oci

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// imageOf builds an image of one layer per folder, with PATH path ("" for
// none).
func imageOf(t *testing.T, path string, layers ...string) Spec {
	t.Helper()
	s := Spec{Platform: amd64}
	if path != "" {
		s.Env = []string{"PATH=" + path}
	}
	for i, dir := range layers {
		s.Layers = append(s.Layers, LayerSpec{Trees: []Tree{{Src: dir, Dest: "/", Links: true}}, Comment: "layer " + string(rune('a'+i))})
	}
	return s
}

// executables makes the named files of dir executable.
func executables(t *testing.T, dir string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if err := os.Chmod(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestFilesAppliesWhiteouts(t *testing.T) {
	low := writeFiles(t, map[string]string{"usr/bin/python3.12": "elf", "usr/bin/keep": "x", "opt/old/a": "a"})
	high := writeFiles(t, map[string]string{"usr/bin/.wh.python3.12": "", "opt/old/.wh..wh..opq": "", "opt/old/b": "b"})
	img, err := Build(imageOf(t, "", low, high))
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(img)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"/usr/bin/keep": true, "/usr/bin/python3.12": false, "/opt/old/a": false, "/opt/old/b": true, "/usr/bin": true} {
		if _, ok := files[p]; ok != want {
			t.Errorf("%s listed: %v, want %v", p, ok, want)
		}
	}
	if f := files["/usr/bin"]; f.Type != tar.TypeDir {
		t.Errorf("/usr/bin: %+v", f)
	}
}

func TestFindPython(t *testing.T) {
	// A python:3.x-slim layout: /usr/local/bin/python3 -> python3.11, and
	// a newer but unlinked python3.12 beside it.
	local := executables(t, writeFiles(t, map[string]string{
		"usr/local/bin/python3.11": "elf", "usr/local/bin/python3.12": "elf", "usr/local/bin/python3.11-config": "sh",
		"usr/bin/python3.13": "elf",
	}), "usr/local/bin/python3.11", "usr/local/bin/python3.12", "usr/local/bin/python3.11-config", "usr/bin/python3.13")
	symlink(t, "python3.11", filepath.Join(local, "usr/local/bin/python3"))
	// Debian: /usr/bin/python3.11 and python3 -> python3.11; only a
	// non-executable python3.9 and a dangling link elsewhere.
	debian := executables(t, writeFiles(t, map[string]string{"usr/bin/python3.11": "elf", "usr/bin/python3.9": "text"}), "usr/bin/python3.11")
	symlink(t, "python3.11", filepath.Join(debian, "usr/bin/python3"))
	symlink(t, "/nowhere/python", filepath.Join(debian, "usr/bin/python3.10"))
	noPython := writeFiles(t, map[string]string{"usr/bin/mlgate": "elf"})
	for _, c := range []struct {
		name, path string
		layer      string
		want       Python
		err        string
	}{
		{"linked", "/usr/local/bin:/usr/bin", local, Python{"/usr/local/bin/python3.11", "3.11"}, ""},
		{"path order", "/usr/bin:/usr/local/bin", local, Python{"/usr/bin/python3.13", "3.13"}, ""},
		{"default path", "", debian, Python{"/usr/bin/python3.11", "3.11"}, ""},
		{"none", "/usr/local/bin:/usr/bin:relative", noPython, Python{}, "no executable python3.N in /usr/local/bin, /usr/bin"},
		{"not on path", "/bin", local, Python{}, "in /bin (the PATH"},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, err := Build(imageOf(t, c.path, c.layer))
			if err != nil {
				t.Fatal(err)
			}
			files, err := Files(img)
			if err != nil {
				t.Fatal(err)
			}
			got, err := FindPython(img, files)
			if c.err != "" {
				if !errors.Is(err, ErrNoPython) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want ErrNoPython with %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v %v, want %+v", got, err, c.want)
			}
		})
	}
}

func TestLayersByHistoryCarriesLayersOver(t *testing.T) {
	a := writeFiles(t, map[string]string{"etc/a": "a"})
	b := writeFiles(t, map[string]string{"usr/local/bin/mlgate": "elf"})
	src, err := Build(Spec{Platform: amd64, Layers: []LayerSpec{
		{Trees: []Tree{{Src: a, Dest: "/"}}, Comment: "system: libraries"},
		{Trees: []Tree{{Src: b, Dest: "/"}}, Comment: "mlgate 1.0"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := LayersByHistory(src, "mlgate ")
	if err != nil || len(got) != 1 || got[0].Comment != "mlgate 1.0" {
		t.Fatalf("got %+v %v", got, err)
	}
	srcLayers, _ := src.Layers()
	want, _ := srcLayers[1].Digest()
	img, err := Build(Spec{Platform: amd64, Layers: got})
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	if d, _ := layers[0].Digest(); len(layers) != 1 || d != want {
		t.Fatalf("built layers %v, want the source's %s", layers, want)
	}
	files, err := Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["/etc/a"]; ok {
		t.Fatal("the system layer came along")
	}
	if _, ok := files["/usr/local/bin/mlgate"]; !ok {
		t.Fatal("mlgate is missing")
	}
	if v, ok, err := EnvValue(img, "PATH"); ok || err != nil {
		t.Fatalf("PATH %q %v %v in an image without env", v, ok, err)
	}
}
