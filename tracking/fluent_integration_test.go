//go:build integration

package tracking_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlgate/mlgate/tracking"
)

func testConfig(uri string) tracking.Config {
	return tracking.Config{TrackingURI: uri, User: "alice", SourceName: "train.go"}
}

// pyRun reads a run back through the real Python client and returns what it
// saw as JSON.
const pyReadRun = `
import json, sys, mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
c = MlflowClient()
r = c.get_run(sys.argv[2])
f = lambda v: "NaN" if v != v else v
hist = {k: [[m.step, m.timestamp, f(m.value)] for m in c.get_metric_history(r.info.run_id, k)] for k in r.data.metrics}
def walk(p):
    out = []
    for f in c.list_artifacts(r.info.run_id, p):
        out.extend(walk(f.path) if f.is_dir else [[f.path, f.file_size]])
    return out
d = mlflow.artifacts.download_artifacts(run_id=r.info.run_id, artifact_path="data/sub/c.txt", dst_path=sys.argv[3])
print(json.dumps({"status": r.info.status, "name": r.info.run_name, "exp": r.info.experiment_id,
  "user": r.info.user_id, "params": r.data.params, "tags": r.data.tags, "metrics": {k: f(v) for k, v in r.data.metrics.items()},
  "history": hist, "artifacts": sorted(walk(None)), "c_txt": open(d).read()}))
`

// TestFluentRunReadsBackThroughPythonClient uses every fluent function
// against the real mlflow server and against mlgate server, and reads each
// run back through the real Python client.
func TestFluentRunReadsBackThroughPythonClient(t *testing.T) {
	for name, url := range map[string]string{"mlflow-server": mlflowServer.URL, "mlgate-server": mlgateURL} {
		t.Run(name, func(t *testing.T) { fluentReadBack(t, url) })
	}
}

func fluentReadBack(t *testing.T, serverURL string) {
	ctx := context.Background()
	tracking.Configure(testConfig(serverURL))
	if got := tracking.GetTrackingURI(); got != serverURL {
		t.Fatalf("GetTrackingURI = %q", got)
	}
	exp, err := tracking.SetExperiment(ctx, "go-fluent")
	if err != nil {
		t.Fatal(err)
	}
	run, err := tracking.StartRun(ctx, tracking.WithRunName("first"), tracking.WithRunTags(map[string]string{"team": "ml"}))
	if err != nil {
		t.Fatal(err)
	}
	if run.Info.ExperimentID != exp.ExperimentID || run.Info.Status != tracking.StatusRunning {
		t.Fatalf("run info %+v", run.Info)
	}
	if tracking.ActiveRun().Info.RunID != run.Info.RunID {
		t.Fatal("ActiveRun is not the started run")
	}
	if _, err := tracking.StartRun(ctx); err == nil {
		t.Fatal("a second non-nested StartRun succeeded")
	}
	must(t, tracking.LogParam(ctx, "alpha", 0.5))
	must(t, tracking.LogParams(ctx, map[string]any{"layers": 3, "opt": "adam"}))
	for step := range 5 {
		must(t, tracking.LogMetric(ctx, "loss", 1/float64(step+1), tracking.WithStep(int64(step)), tracking.WithTimestamp(1700000000000+int64(step))))
	}
	must(t, tracking.LogMetric(ctx, "nan_metric", math.NaN()))
	must(t, tracking.LogMetrics(ctx, map[string]float64{"acc": 0.9, "f1": 0.8}, tracking.WithStep(4)))
	must(t, tracking.SetTag(ctx, "stage", "dev"))
	must(t, tracking.SetTags(ctx, map[string]any{"k1": "v1", "k2": 2}))

	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "model.txt"), "weights")
	writeFile(t, filepath.Join(dir, "data", "a.txt"), "aaa")
	writeFile(t, filepath.Join(dir, "data", "sub", "c.txt"), "cc")
	must(t, tracking.LogArtifact(ctx, filepath.Join(dir, "model.txt"), ""))
	must(t, tracking.LogArtifacts(ctx, filepath.Join(dir, "data"), "data"))
	uri, err := tracking.GetArtifactURI(ctx, "data")
	if err != nil || !strings.HasSuffix(uri, "/"+run.Info.RunID+"/artifacts/data") {
		t.Fatalf("GetArtifactURI = %q, %v", uri, err)
	}

	child, err := tracking.StartRun(ctx, tracking.Nested(), tracking.WithRunName("child"))
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := child.Tag(tracking.TagParentRunID); p != run.Info.RunID {
		t.Fatalf("child parent tag = %q", p)
	}
	must(t, tracking.EndRun(ctx))
	if tracking.ActiveRun().Info.RunID != run.Info.RunID {
		t.Fatal("after ending the child the parent is not active")
	}
	must(t, tracking.EndRun(ctx))
	if tracking.ActiveRun() != nil {
		t.Fatal("a run is still active")
	}
	last, err := tracking.LastActiveRun(ctx)
	if err != nil || last.Info.RunID != run.Info.RunID || last.Info.Status != tracking.StatusFinished || last.Info.EndTime == 0 {
		t.Fatalf("LastActiveRun = %+v, %v", last, err)
	}

	pyStart := time.Now()
	out, err := exec.Command(mlflowServer.Python, "-c", pyReadRun, serverURL, run.Info.RunID, t.TempDir()).Output()
	if err != nil {
		t.Fatalf("python read-back: %v: %s", err, stderrOf(err))
	}
	t.Logf("python read-back took %s", time.Since(pyStart))
	var got struct {
		Status, Name, Exp, User string
		Params, Tags            map[string]string
		Metrics                 map[string]any
		History                 map[string][][3]any
		Artifacts               [][2]any
		CTxt                    string `json:"c_txt"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Status != "FINISHED" || got.Name != "first" || got.Exp != exp.ExperimentID || got.User != "alice" {
		t.Fatalf("python sees %+v", got)
	}
	wantParams := map[string]string{"alpha": "0.5", "layers": "3", "opt": "adam"}
	for k, v := range wantParams {
		if got.Params[k] != v {
			t.Errorf("param %s = %q, want %q", k, got.Params[k], v)
		}
	}
	for k, v := range map[string]string{"team": "ml", "stage": "dev", "k1": "v1", "k2": "2",
		"mlflow.user": "alice", "mlflow.source.name": "train.go", "mlflow.source.type": "LOCAL", "mlflow.runName": "first"} {
		if got.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, got.Tags[k], v)
		}
	}
	loss := got.History["loss"]
	if len(loss) != 5 {
		t.Fatalf("loss history %v", loss)
	}
	sort.Slice(loss, func(i, j int) bool { return loss[i][0].(float64) < loss[j][0].(float64) })
	for i, h := range loss {
		if h[0].(float64) != float64(i) || h[1].(float64) != float64(1700000000000+i) || h[2].(float64) != 1/float64(i+1) {
			t.Errorf("loss[%d] = %v", i, h)
		}
	}
	if got.Metrics["acc"].(float64) != 0.9 || got.History["f1"][0][0].(float64) != 4 {
		t.Errorf("metrics %v history %v", got.Metrics, got.History["f1"])
	}
	if got.Metrics["nan_metric"] != "NaN" {
		t.Errorf("NaN metric = %v", got.Metrics["nan_metric"])
	}
	wantArts := [][2]any{{"data/a.txt", 3.0}, {"data/sub/c.txt", 2.0}, {"model.txt", 7.0}}
	if len(got.Artifacts) != len(wantArts) {
		t.Fatalf("artifacts %v", got.Artifacts)
	}
	for i := range wantArts {
		if got.Artifacts[i] != wantArts[i] {
			t.Errorf("artifact %d = %v, want %v", i, got.Artifacts[i], wantArts[i])
		}
	}
	if got.CTxt != "cc" {
		t.Errorf("downloaded c.txt = %q", got.CTxt)
	}
}

func TestResumeRunByID(t *testing.T) {
	ctx := context.Background()
	tracking.Configure(testConfig(mlflowServer.URL))
	run, err := tracking.StartRun(ctx, tracking.WithRunName("resumable"))
	if err != nil {
		t.Fatal(err)
	}
	if run.Info.ExperimentID != "0" {
		t.Fatalf("default experiment = %q, want 0", run.Info.ExperimentID)
	}
	must(t, tracking.EndRun(ctx, tracking.StatusFailed))
	again, err := tracking.StartRun(ctx, tracking.WithRunID(run.Info.RunID), tracking.WithRunTags(map[string]string{"resumed": "yes"}))
	if err != nil {
		t.Fatal(err)
	}
	if again.Info.RunID != run.Info.RunID || again.Info.Status != tracking.StatusRunning {
		t.Fatalf("resumed %+v", again.Info)
	}
	if v, _ := again.Tag("resumed"); v != "yes" {
		t.Fatal("resume tags not logged")
	}
	must(t, tracking.EndRun(ctx, tracking.StatusKilled))
	c, _ := tracking.DefaultClient()
	got, err := c.GetRun(ctx, run.Info.RunID)
	if err != nil || got.Info.Status != tracking.StatusKilled {
		t.Fatalf("status %v %v", got, err)
	}

	// MLFLOW_RUN_ID resumes the first run started.
	cfg := testConfig(mlflowServer.URL)
	cfg.RunID = run.Info.RunID
	tracking.Configure(cfg)
	r3, err := tracking.StartRun(ctx)
	if err != nil || r3.Info.RunID != run.Info.RunID {
		t.Fatalf("env resume: %v %v", r3, err)
	}
	must(t, tracking.EndRun(ctx))
	r4, err := tracking.StartRun(ctx)
	if err != nil || r4.Info.RunID == run.Info.RunID {
		t.Fatalf("second start resumed again: %v", err)
	}
	must(t, tracking.EndRun(ctx))
}

func TestExperimentFromEnvName(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(mlflowServer.URL)
	cfg.ExperimentName = "from-env"
	tracking.Configure(cfg)
	run, err := tracking.StartRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	must(t, tracking.EndRun(ctx))
	c, _ := tracking.DefaultClient()
	exp, err := c.GetExperimentByName(ctx, "from-env")
	if err != nil || exp.ExperimentID != run.Info.ExperimentID {
		t.Fatalf("experiment %v %v", exp, err)
	}
	if _, err := c.GetExperimentByName(ctx, "no-such-experiment"); !errors.Is(err, tracking.ErrNotFound) {
		t.Fatalf("missing experiment error = %v", err)
	}
	if _, err := c.CreateExperiment(ctx, "from-env"); err == nil {
		t.Fatal("duplicate experiment created")
	}
}

func TestValidationBeforeSending(t *testing.T) {
	ctx := context.Background()
	c, err := tracking.NewClient(testConfig(mlflowServer.URL))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.CreateRun(ctx, "0")
	if err != nil {
		t.Fatal(err)
	}
	var ve *tracking.ValidationError
	for _, err := range []error{
		c.LogParam(ctx, run.Info.RunID, "../x", 1),
		c.LogMetric(ctx, run.Info.RunID, "", 1),
		c.SetTag(ctx, run.Info.RunID, "bad!key", "v"),
		c.LogParam(ctx, run.Info.RunID, "long", strings.Repeat("x", tracking.MaxParamValueLength+1)),
		c.LogParam(ctx, "not a run id", "k", 1),
	} {
		if !errors.As(err, &ve) {
			t.Errorf("want a ValidationError, got %v", err)
		}
	}
	must(t, c.LogParam(ctx, run.Info.RunID, "p", 1))
	// Changing a param is rejected by the server with its MLflow code.
	err = c.LogParam(ctx, run.Info.RunID, "p", 2)
	var coded interface{ ErrorCode() string }
	if !errors.As(err, &coded) || coded.ErrorCode() != "INVALID_PARAMETER_VALUE" {
		t.Fatalf("changing a param: %v", err)
	}
}

func TestClientConcurrentAndAsync(t *testing.T) {
	ctx := context.Background()
	c, err := tracking.NewClient(testConfig(mlflowServer.URL))
	if err != nil {
		t.Fatal(err)
	}
	const runs, perRun = 4, 1500
	ids := make([]string, runs)
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for i := range runs {
		wg.Go(func() {
			r, err := c.CreateRun(ctx, "0", tracking.WithRunName("async"))
			if err != nil {
				errs <- err
				return
			}
			ids[i] = r.Info.RunID
			for s := range perRun {
				if err := c.LogMetricAsync(ctx, r.Info.RunID, "m", float64(s), tracking.WithStep(int64(s))); err != nil {
					errs <- err
					return
				}
			}
			if err := c.LogParam(ctx, r.Info.RunID, "worker", i); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	start := time.Now()
	for _, id := range ids {
		must(t, c.SetTerminated(ctx, id, tracking.StatusFinished)) // flushes
	}
	t.Logf("flush after %d async metrics took %s", runs*perRun, time.Since(start))
	for _, id := range ids {
		h, err := c.GetMetricHistory(ctx, id, "m")
		if err != nil || len(h) != perRun {
			t.Fatalf("run %s history %d %v", id, len(h), err)
		}
	}
	must(t, c.Close(ctx))
	if err := c.LogMetricAsync(ctx, ids[0], "m", 1); err == nil {
		t.Fatal("LogMetricAsync after Close succeeded")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(s), 0o644))
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}
