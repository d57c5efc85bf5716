//go:build integration

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mlgate/mlgate/rest/resttest"
	"github.com/mlgate/mlgate/tracking"
)

// startChild runs the mlgate binary with args and waits until path answers
// 200 on port.
func startChild(t *testing.T, bin string, port int, path string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	log, err := os.Create(filepath.Join(cmd.Dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			_ = res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(log.Name())
	t.Fatalf("%v not ready: %s", args, b)
}

// TestTrainExampleEndToEnd runs the example against `mlgate server`, then
// serves the model it registered with `mlgate models serve` from
// models:/linear-example@champion and scores it.
func TestTrainExampleEndToEnd(t *testing.T) {
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		t.Fatal("ONNXRUNTIME_LIB is not set: the example model is ONNX")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "mlgate")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mlgate")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build mlgate: %v\n%s", err, out)
	}
	srvPort, servePort := resttest.FreePort(t), resttest.FreePort(t)
	store := t.TempDir()
	startChild(t, bin, srvPort, "/health", "server", "--port", strconv.Itoa(srvPort),
		"--backend-store-uri", "sqlite:///"+filepath.Join(store, "db.sqlite"),
		"--artifacts-destination", filepath.Join(store, "artifacts"))
	uri := fmt.Sprintf("http://127.0.0.1:%d", srvPort)

	err = run(context.Background(), []string{"-tracking-uri", uri, "-model", filepath.Join(root, "examples", "models", "linear"), "-epochs", "40"})
	if err != nil {
		t.Fatal(err)
	}
	// The run has what the example logged.
	c, err := tracking.NewClient(tracking.Config{TrackingURI: uri})
	if err != nil {
		t.Fatal(err)
	}
	last, err := tracking.LastActiveRun(context.Background())
	if err != nil || last == nil {
		t.Fatalf("last run %v %v", last, err)
	}
	r, err := c.GetRun(context.Background(), last.Info.RunID)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := c.GetMetricHistory(context.Background(), r.Info.RunID, "mse")
	if err != nil || len(hist) != 40 {
		t.Fatalf("mse history %d %v", len(hist), err)
	}
	if w0, _ := r.Metric("w0"); math.Abs(w0-2) > 0.1 {
		t.Fatalf("learned w0 = %v, want about 2", w0)
	}
	if v, _ := r.Tag("language"); v != "go" || r.Info.Status != tracking.StatusFinished {
		t.Fatalf("run %+v", r.Info)
	}

	startChild(t, bin, servePort, "/health", "models", "serve", "-m", "models:/linear-example@champion",
		"--tracking-uri", uri, "--port", strconv.Itoa(servePort), "--onnxruntime-lib", lib,
		"--cache-dir", filepath.Join(t.TempDir(), "cache"))
	res, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/invocations", servePort), "application/json",
		strings.NewReader(`{"inputs": {"input": [[1.0, 1.0, 1.0]]}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	var got struct {
		Predictions map[string][][]float64 `json:"predictions"`
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 {
		t.Fatalf("status %d %v", res.StatusCode, err)
	}
	for _, v := range got.Predictions {
		if len(v) != 1 || math.Abs(v[0][0]-0.5) > 1e-4 { // 2 - 3 + 0.5 + 1
			t.Fatalf("prediction %v, want 0.5", v)
		}
		return
	}
	t.Fatalf("no predictions in %+v", got)
}
