//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/artifacts/artifactstest"
	"github.com/mlgate/mlgate/rest/resttest"
)

// The linear ONNX example, served by `mlgate models serve` from a fake GCS
// bucket and from Azurite (wasbs and abfss URIs), answers as the local
// folder does.

const linearDir = "../../examples/models/linear"

// lockedBuffer is a bytes.Buffer the server goroutine writes while the
// test may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startInProcess runs `mlgate args...` in-process with env until the test
// ends, and waits until base+ready answers 200.
func startInProcess(t *testing.T, env map[string]string, base, ready string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &cliEnv{stdout: io.Discard, stderr: &stderr, getenv: func(k string) string { return env[k] }}, args)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("mlgate %v did not stop", args)
		}
	})
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if resp, err := http.Get(base + ready); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("mlgate %v exited %d:\n%s", args, code, stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("mlgate %v did not answer %s in 2 minutes:\n%s", args, ready, stderr.String())
		}
	}
}

// serveAndScore runs `mlgate models serve -m uri` in-process with env,
// posts the model's serving input example and returns the answer.
func serveAndScore(t *testing.T, uri string, env map[string]string) (int, string) {
	t.Helper()
	port := resttest.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	startInProcess(t, env, base, "/ping", "models", "serve", "-m", uri, "-h", "127.0.0.1", "-p", strconv.Itoa(port))
	input, err := os.ReadFile(filepath.Join(linearDir, "serving_input_example.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/invocations", "application/json", bytes.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// upload copies the files of dir into the store at uri.
func upload(t *testing.T, uri string, opts artifacts.Options, dir string) {
	t.Helper()
	ctx := context.Background()
	repo, err := artifacts.Open(ctx, uri, opts)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		return repo.Put(ctx, filepath.ToSlash(rel), f, st.Size())
	})
	if err != nil {
		t.Fatalf("upload %s to %s: %v", dir, uri, err)
	}
}

func TestModelsServeFromCloudStores(t *testing.T) {
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		t.Fatal("ONNXRUNTIME_LIB is not set (make test sets it)")
	}
	baseEnv := func() map[string]string {
		return map[string]string{"ONNXRUNTIME_LIB": lib, "MLGATE_CACHE": t.TempDir(), "HOME": t.TempDir()}
	}
	status, want := serveAndScore(t, linearDir, baseEnv())
	if status != http.StatusOK {
		t.Fatalf("the local folder: %d %s", status, want)
	}

	t.Run("gs", func(t *testing.T) {
		_, host := artifactstest.GCS(t)
		upload(t, "gs://mlgate/models/linear", artifacts.Options{GCS: artifacts.GCSOptions{EmulatorHost: host}}, linearDir)
		env := baseEnv()
		env["STORAGE_EMULATOR_HOST"] = host
		if status, got := serveAndScore(t, "gs://mlgate/models/linear", env); status != http.StatusOK || got != want {
			t.Errorf("served from gs://: %d %s, want 200 %s", status, got, want)
		}
	})
	t.Run("azure", func(t *testing.T) {
		conn := artifactstest.AzuriteConn(artifactstest.Azurite(t), artifactstest.AzuriteKey)
		wasbs := "wasbs://mlgate@" + artifactstest.AzuriteAccount + ".blob.core.windows.net/models/linear"
		upload(t, wasbs, artifacts.Options{Azure: artifacts.AzureOptions{ConnectionString: conn}}, linearDir)
		for _, uri := range []string{wasbs, "abfss://mlgate@" + artifactstest.AzuriteAccount + ".dfs.core.windows.net/models/linear"} {
			env := baseEnv()
			env["AZURE_STORAGE_CONNECTION_STRING"] = conn
			if status, got := serveAndScore(t, uri, env); status != http.StatusOK || got != want {
				t.Errorf("served from %s: %d %s, want 200 %s", uri, status, got, want)
			}
		}
	})
}
