//go:build integration

package app

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlgate/mlgate/tracking"
)

// TestQuickstart runs what `make run` runs, on free ports, scores the served
// model, checks the logged run, then stops it with the context.
func TestQuickstart(t *testing.T) {
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		t.Fatal("ONNXRUNTIME_LIB is not set: the quickstart serves an ONNX model")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan [2]string, 1)
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- RunQuickstart(ctx, QuickstartOptions{
			Dir: t.TempDir(), ModelDir: filepath.Join("..", "..", "examples", "models", "linear"),
			ONNXRuntimeLib: lib, Stdout: &out, Logger: slog.New(slog.DiscardHandler),
			Ready: func(s, sc string) { ready <- [2]string{s, sc} },
		})
	}()
	var urls [2]string
	select {
	case urls = <-ready:
	case err := <-done:
		t.Fatalf("quickstart ended early: %v\n%s", err, out.String())
	case <-time.After(3 * time.Minute):
		t.Fatal("quickstart not ready after 3 minutes")
	}
	res, err := http.Post(urls[1]+"/invocations", "application/json",
		strings.NewReader(`{"inputs": {"input": [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]}}`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Predictions map[string][][]float64 `json:"predictions"`
	}
	err = json.NewDecoder(res.Body).Decode(&got)
	_ = res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("status %d, %v", res.StatusCode, err)
	}
	// The example model is y = 2·x0 − 3·x1 + 0.5·x2 + 1.
	want := []float64{2*1 - 3*2 + 0.5*3 + 1, 2*0.5 - 3*(-1) + 0 + 1}
	var preds [][]float64
	for _, v := range got.Predictions {
		preds = v
	}
	if len(preds) != 2 || math.Abs(preds[0][0]-want[0]) > 1e-4 || math.Abs(preds[1][0]-want[1]) > 1e-4 {
		t.Fatalf("predictions %v, want %v", got.Predictions, want)
	}
	if !strings.Contains(out.String(), "curl -s "+urls[1]+"/invocations") {
		t.Fatalf("no curl line in:\n%s", out.String())
	}
	c, err := tracking.NewClient(tracking.Config{TrackingURI: urls[0]})
	if err != nil {
		t.Fatal(err)
	}
	exp, err := c.GetExperimentByName(ctx, "quickstart")
	if err != nil {
		t.Fatal(err)
	}
	runs, _, err := c.SearchRuns(ctx, tracking.SearchRunsRequest{ExperimentIDs: []string{exp.ExperimentID}})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %v %v", runs, err)
	}
	if v, _ := runs[0].Param("model"); v != "linear" || runs[0].Info.Status != tracking.StatusFinished {
		t.Fatalf("run %+v", runs[0])
	}
	if m, ok := runs[0].Metric("mse"); !ok || m != 0.01 {
		t.Fatalf("mse %v", m)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("quickstart stop: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("quickstart did not stop")
	}
}
