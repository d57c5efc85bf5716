package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/pkgformat"
)

func TestModelsPackage(t *testing.T) {
	onnxFile, err := filepath.Abs("../../examples/models/src/linear.onnx")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	example := filepath.Join(dir, "ex.json")
	if err := os.WriteFile(example, []byte(`{"inputs": {"input": [[1.0, 2.0, 3.0]]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "model")
	arch := filepath.Join(dir, "model.zip")
	code, stdout, stderr := runArgs(t, "models", "package", "--onnx", onnxFile, "-d", out,
		"--input-example", example, "--archive", arch)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, out) || !strings.Contains(stdout, arch) {
		t.Errorf("stdout %q", stdout)
	}
	m, err := pkgformat.ReadModel(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Signature.Inputs.Tensors[0].Name != "input" || m.SavedInputExampleInfo["type"] != "ndarray" {
		t.Errorf("model %+v", m)
	}
	if fi, err := os.Stat(arch); err != nil || fi.Size() == 0 {
		t.Errorf("archive: %v", err)
	}

	for _, c := range []struct {
		args []string
		code int
		in   string
	}{
		{[]string{"--onnx", onnxFile}, exitUsage, "required"},
		{[]string{"--onnx", onnxFile, "-d", out}, exitRuntime, "not empty"},
		{[]string{"--onnx", onnxFile, "-d", filepath.Join(dir, "m3"), "--archive", filepath.Join(dir, "x.rar")}, exitRuntime, "unsupported extension"},
		{[]string{"--onnx", filepath.Join(dir, "missing.onnx"), "-d", filepath.Join(dir, "m4")}, exitRuntime, "no such file"},
	} {
		code, _, stderr := runArgs(t, append([]string{"models", "package"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.in) {
			t.Errorf("%v: exit %d stderr %q, want %d with %q", c.args, code, stderr, c.code, c.in)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "m3")); err == nil {
		t.Error("a bad archive name still wrote the folder")
	}
}
