package pyfunc

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNamesMLflow(t *testing.T) {
	for req, want := range map[string]bool{
		"mlflow==3.1\nnumpy\n":             true,
		"numpy\nMLflow_Skinny>=2\n":        true,
		"  mlflow [extras] ; python>'3'\n": true,
		"-r base.txt\nnumpy\n":             true,
		"numpy\nmlflow-tracing\n":          false,
		"# mlflow\nscikit-learn\n":         false,
		"":                                 false,
	} {
		if got := namesMLflow([]byte(req)); got != want {
			t.Errorf("namesMLflow(%q) = %v, want %v", req, got, want)
		}
	}
}

func TestPythonPlatform(t *testing.T) {
	if p, err := PythonPlatform("amd64"); err != nil || p != "x86_64-manylinux_2_28" {
		t.Fatalf("amd64: %q %v", p, err)
	}
	if p, err := PythonPlatform("arm64"); err != nil || p != "aarch64-manylinux_2_28" {
		t.Fatalf("arm64: %q %v", p, err)
	}
	if _, err := PythonPlatform("s390x"); err == nil {
		t.Fatal("s390x has a platform")
	}
}

func TestPointScriptsKeepsHardLinkedOriginals(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache-script")
	script := "#!/home/build/venv/bin/python\nimport sys\n"
	if err := os.WriteFile(cache, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(cache, filepath.Join(bin, "tool")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "run.sh"), []byte("#!/bin/sh\necho\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := pointScripts(bin, "/usr/bin/python3.11"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(bin, "tool"))
	if string(got) != "#!/usr/bin/python3.11\nimport sys\n" {
		t.Fatalf("tool: %q", got)
	}
	if st, _ := os.Stat(filepath.Join(bin, "tool")); st.Mode().Perm() != 0o755 {
		t.Fatalf("tool mode %v", st.Mode())
	}
	if orig, _ := os.ReadFile(cache); string(orig) != script {
		t.Fatalf("the hard-linked original changed: %q", orig)
	}
	if sh, _ := os.ReadFile(filepath.Join(bin, "run.sh")); string(sh) != "#!/bin/sh\necho\n" {
		t.Fatalf("a shell script changed: %q", sh)
	}
	if err := pointScripts(filepath.Join(dir, "absent"), "/x"); err != nil {
		t.Fatal(err)
	}
}
