package pyfunc

import (
	"crypto/sha256"
	_ "embed" // the worker script
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

//go:embed worker.py
var workerScript []byte

// writeWorkerScript writes the embedded worker script to cacheDir (once per
// content: the name carries its hash) and returns its path.
func writeWorkerScript(cacheDir string) (string, error) {
	sum := sha256.Sum256(workerScript)
	dir := filepath.Join(cacheDir, "pyfunc")
	path := filepath.Join(dir, "worker-"+hex.EncodeToString(sum[:6])+".py")
	if b, err := os.ReadFile(path); err == nil && string(b) == string(workerScript) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("pyfunc: cache dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".worker-*.py")
	if err != nil {
		return "", fmt.Errorf("pyfunc: write worker script: %w", err)
	}
	if _, err := tmp.Write(workerScript); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("pyfunc: write worker script: %w", err)
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("pyfunc: write worker script: %w", err)
	}
	return path, nil
}
