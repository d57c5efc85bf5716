//go:build integration

package app

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlgate/mlgate/artifacts"
	"github.com/mlgate/mlgate/tracking"
)

// models serve --log-experiment logs the server as a run of the tracking
// server: params and tags at start, a step of metrics every interval
// while it serves, and at the end the last figures, serving/summary.json
// and serving/MLmodel, and status FINISHED.
func TestServeLogsItsRunToTracking(t *testing.T) {
	ctx := context.Background()
	url := localTrackingServer(t)
	model, _ := filepath.Abs("../../examples/models/linear")
	addr, stop := serveLinear(t, ServeOptions{
		LogExperiment: "serving", LogInterval: 150 * time.Millisecond, Tracking: tracking.Config{TrackingURI: url},
	})

	c, err := tracking.NewClient(tracking.Config{TrackingURI: url})
	if err != nil {
		t.Fatal(err)
	}
	runID := waitRun(t, c, "serving")
	for range 5 {
		if status, body := invoke(t, addr, `{"inputs": [[1.0, 2.0, 3.0]]}`); status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
	}
	if status, _ := invoke(t, addr, `{"inputs": [[1.0, 2.0]]}`); status != 400 {
		t.Fatalf("a bad request answered %d", status)
	}
	// while serving, a step covers them
	deadline := time.Now().Add(10 * time.Second)
	for lastValue(t, c, runID, "requests_total") < 6 {
		if time.Now().After(deadline) {
			t.Fatal("no interval logged the 6 requests")
		}
		time.Sleep(50 * time.Millisecond)
	}

	stop()
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Info.Status != tracking.StatusFinished {
		t.Errorf("status %s, want FINISHED", run.Info.Status)
	}
	params := map[string]string{}
	for _, p := range run.Data.Params {
		params[p.Key] = p.Value
	}
	if params["model_uri"] != model || params["flavor"] != "onnx" || params["max_concurrency"] != "0" {
		t.Errorf("params %v", params)
	}
	tags := map[string]string{}
	for _, tg := range run.Data.Tags {
		tags[tg.Key] = tg.Value
	}
	if tags["mlgate.flavor"] != "onnx" || tags[tracking.TagSourceName] != "mlgate models serve" || tags["mlgate.address"] != addr {
		t.Errorf("tags %v", tags)
	}
	if got := lastValue(t, c, runID, "requests_total"); got != 6 {
		t.Errorf("requests_total %v, want 6", got)
	}
	if got := sumValues(t, c, runID, "client_errors"); got != 1 {
		t.Errorf("client_errors over the steps %v, want 1", got)
	}
	if got := sumValues(t, c, runID, "requests"); got != 6 {
		t.Errorf("requests over the steps %v, want 6", got)
	}
	if p99 := lastValue(t, c, runID, "latency_p99_ms"); !(p99 > 0) {
		t.Errorf("latency_p99_ms %v", p99)
	}

	files, err := c.ListArtifacts(ctx, runID, "serving")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, f := range files {
		listed[f.Path] = true
	}
	if !listed["serving/summary.json"] || !listed["serving/MLmodel"] {
		t.Fatalf("artifacts under serving/: %+v", files)
	}
	dst := t.TempDir()
	if err := c.DownloadArtifacts(ctx, runID, "serving", dst, artifacts.DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dst, "serving", "summary.json"))
	if err != nil {
		raw, err = os.ReadFile(filepath.Join(dst, "summary.json"))
	}
	if err != nil {
		t.Fatalf("no summary.json: %v", err)
	}
	var sum servingSummary
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Status != "FINISHED" || sum.Flavor != "onnx" || sum.Totals["requests"] != 6 || sum.Totals["client_errors"] != 1 {
		t.Errorf("summary %s", raw)
	}
	want, _ := os.ReadFile(filepath.Join(model, "MLmodel"))
	got, err := os.ReadFile(filepath.Join(dst, "serving", "MLmodel"))
	if err != nil {
		got, err = os.ReadFile(filepath.Join(dst, "MLmodel"))
	}
	if err != nil || string(got) != string(want) {
		t.Errorf("serving/MLmodel differs from the model's (%v)", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitHealthy(t *testing.T, addr string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("serve ended before it was ready: %v", err)
		default:
		}
		if resp, err := http.Get("http://" + addr + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("serve never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRun returns the one run of the experiment once it exists.
func waitRun(t *testing.T, c *tracking.Client, experiment string) string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if exp, err := c.GetExperimentByName(ctx, experiment); err == nil {
			runs, _, err := c.SearchRuns(ctx, tracking.SearchRunsRequest{ExperimentIDs: []string{exp.ExperimentID}})
			if err == nil && len(runs) == 1 {
				return runs[0].Info.RunID
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the serving run never appeared")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func metricHistory(t *testing.T, c *tracking.Client, runID, key string) []tracking.Metric {
	t.Helper()
	h, err := c.GetMetricHistory(context.Background(), runID, key)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func lastValue(t *testing.T, c *tracking.Client, runID, key string) float64 {
	t.Helper()
	h := metricHistory(t, c, runID, key)
	if len(h) == 0 {
		return -1
	}
	best := h[0]
	for _, m := range h {
		if m.Step > best.Step {
			best = m
		}
	}
	return float64(best.Value)
}

func sumValues(t *testing.T, c *tracking.Client, runID, key string) float64 {
	t.Helper()
	total := 0.0
	for _, m := range metricHistory(t, c, runID, key) {
		total += float64(m.Value)
	}
	return total
}
