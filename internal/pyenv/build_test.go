package pyenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	a := Key([]byte("venv"), []byte("python: 3.11"))
	if a != Key([]byte("venv"), []byte("python: 3.11")) || len(a) != 20 {
		t.Fatalf("key %q is not stable", a)
	}
	if Key([]byte("ab"), []byte("c")) == Key([]byte("a"), []byte("bc")) {
		t.Fatal("parts are not delimited")
	}
	if a == Key([]byte("venv"), []byte("python: 3.12")) {
		t.Fatal("a different spec gives the same key")
	}
}

// A failed build wraps ErrEnv with the step's output and leaves no
// environment behind; a missing uv or conda is a clear error.
func TestBuildFailuresLeaveNothing(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no uv, no conda
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "envs", "v")
	_, err := BuildVenv(ctx, Venv{Dir: dir, WorkDir: t.TempDir(), Python: "/bin/false"})
	if !errors.Is(err, ErrEnv) || !strings.Contains(err.Error(), "/bin/false -m venv") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) || Ready(dir) {
		t.Fatalf("a failed build left %s (%v)", dir, err)
	}
	if _, err := BuildVenv(ctx, Venv{Dir: dir, Python: "python3", RequireUV: true}); !errors.Is(err, ErrEnv) || !strings.Contains(err.Error(), "uv program is not on PATH") {
		t.Fatalf("no uv: %v", err)
	}
	if _, err := BuildConda(ctx, Conda{Dir: dir, File: "conda.yaml"}); !errors.Is(err, ErrEnv) || !strings.Contains(err.Error(), "conda program is not on PATH") {
		t.Fatalf("no conda: %v", err)
	}
}

// A ready environment is not built again.
func TestReadyEnvironmentIsReused(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dir := filepath.Join(t.TempDir(), "v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := markReady(dir); err != nil {
		t.Fatal(err)
	}
	py, err := BuildVenv(context.Background(), Venv{Dir: dir, Python: "/bin/false"})
	if err != nil || py != filepath.Join(dir, "bin", "python") {
		t.Fatalf("got %q, %v", py, err)
	}
}
