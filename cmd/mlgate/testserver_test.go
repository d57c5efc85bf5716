package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mlgate/mlgate/internal/app"
)

// startTestServer starts an in-process `mlgate server` (SQLite store and
// proxied artifacts in a temporary folder) on a free loopback port and
// returns its URL; it stops with the test.
func startTestServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	srv, err := app.NewServer(context.Background(), app.ServerOptions{BackendStoreURI: "sqlite:///" + filepath.Join(dir, "s.db"),
		ArtifactsDestination: filepath.Join(dir, "a"), ServeArtifacts: true, Host: "127.0.0.1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return srv.URL()
}

// TestMain lets a test run this test binary as the mlgate command
// (selfCommand), without building it: with MLGATE_TEST_AS_MAIN=1 the
// binary is mlgate.
func TestMain(m *testing.M) {
	if os.Getenv("MLGATE_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// selfCommand is `mlgate args...` run by this test binary.
func selfCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "MLGATE_TEST_AS_MAIN=1")
	return cmd
}
