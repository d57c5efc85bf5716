//go:build integration

package tracking_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/internal/db/dbtest"
	"github.com/mlgate/mlgate/tracking"
)

// scenario runs the same calls on a client and returns a normalized
// description of what the backend stored (ids and times removed).
func scenario(t *testing.T, c *tracking.Client, artDir string) string {
	t.Helper()
	ctx := context.Background()
	expID, err := c.CreateExperiment(ctx, "same-results", tracking.WithExperimentTags(map[string]string{"purpose": "compare"}))
	must(t, err)
	run, err := c.CreateRun(ctx, expID, tracking.WithRunName("cmp"), tracking.WithRunTags(map[string]string{"a": "1"}))
	must(t, err)
	id := run.Info.RunID
	must(t, c.LogParam(ctx, id, "lr", 0.01))
	must(t, c.LogParams(ctx, id, map[string]any{"depth": 4, "name": "x"}))
	for s := range 3 {
		must(t, c.LogMetric(ctx, id, "loss", float64(3-s), tracking.WithStep(int64(s)), tracking.WithTimestamp(int64(1000+s))))
	}
	must(t, c.LogMetric(ctx, id, "loss", 0.5, tracking.WithStep(1), tracking.WithTimestamp(2000)))
	must(t, c.LogMetrics(ctx, id, map[string]float64{"acc": 0.75}, tracking.WithStep(2), tracking.WithTimestamp(3000)))
	must(t, c.SetTag(ctx, id, "t", "v"))
	must(t, c.SetTags(ctx, id, map[string]any{"u": 1, "w": "z"}))
	must(t, c.DeleteTag(ctx, id, "u"))
	must(t, c.LogArtifacts(ctx, id, artDir, "files"))
	errChange := c.LogParam(ctx, id, "lr", 0.02)
	must(t, c.SetTerminated(ctx, id, tracking.StatusFinished))

	got, err := c.GetRun(ctx, id)
	must(t, err)
	hist, err := c.GetMetricHistory(ctx, id, "loss")
	must(t, err)
	sort.Slice(hist, func(i, j int) bool {
		if hist[i].Step != hist[j].Step {
			return hist[i].Step < hist[j].Step
		}
		return hist[i].Timestamp < hist[j].Timestamp
	})
	arts, err := c.ListArtifacts(ctx, id, "files")
	must(t, err)
	exp, err := c.GetExperiment(ctx, expID)
	must(t, err)
	var b strings.Builder
	fmt.Fprintf(&b, "exp %s %s tags %v\n", exp.Name, exp.LifecycleStage, userTags(exp.Tags))
	fmt.Fprintf(&b, "run %s %s %s end>0=%v stage=%s\n", got.Info.RunName, got.Info.Status, got.Info.UserID, got.Info.EndTime > 0, got.Info.LifecycleStage)
	ps := append([]tracking.Param(nil), got.Data.Params...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Key < ps[j].Key })
	fmt.Fprintf(&b, "params %v\n", ps)
	fmt.Fprintf(&b, "tags %v\n", userTags(got.Data.Tags))
	ms := append([]tracking.Metric(nil), got.Data.Metrics...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Key < ms[j].Key })
	fmt.Fprintf(&b, "latest %v\n", ms)
	fmt.Fprintf(&b, "history %v\n", hist)
	sort.Slice(arts, func(i, j int) bool { return arts[i].Path < arts[j].Path })
	fmt.Fprintf(&b, "artifacts %v\n", arts)
	fmt.Fprintf(&b, "param change rejected: %v\n", errChange != nil)
	return b.String()
}

func userTags(ts []tracking.Tag) []tracking.Tag {
	var out []tracking.Tag
	for _, t := range ts {
		if !strings.HasPrefix(t.Key, "mlflow.") || t.Key == tracking.TagRunName {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// TestEmbeddedAndHTTPGiveSameResults runs one scenario against the real
// mlflow server (HTTP), `mlgate server` (HTTP), an embedded SQLite store and
// an embedded PostgreSQL store, and compares what each stored.
func TestEmbeddedAndHTTPGiveSameResults(t *testing.T) {
	artDir := t.TempDir()
	writeFile(t, filepath.Join(artDir, "a.txt"), "aaa")
	writeFile(t, filepath.Join(artDir, "d", "b.bin"), "bbbbbb")

	httpClient, err := tracking.NewClient(testConfig(mlflowServer.URL))
	must(t, err)
	want := scenario(t, httpClient, artDir)

	t.Run("mlgate-server", func(t *testing.T) {
		c, err := tracking.NewClient(testConfig(mlgateURL))
		must(t, err)
		if got := scenario(t, c, artDir); got != want {
			t.Fatalf("mlgate server differs from mlflow server:\n--- mlflow\n%s--- mlgate\n%s", want, got)
		}
	})
	for _, b := range dbtest.Backends() {
		name := b.Name
		t.Run(name, func(t *testing.T) {
			cfg := testConfig(b.URI(t))
			cfg.ArtifactsDestination = t.TempDir()
			c, err := tracking.NewClient(cfg)
			must(t, err)
			defer func() { must(t, c.Close(context.Background())) }()
			got := scenario(t, c, artDir)
			if got != want {
				t.Fatalf("embedded %s differs from HTTP:\n--- http\n%s--- %s\n%s", name, want, name, got)
			}
			// The artifacts landed under the destination as the server would keep them.
			n := 0
			_ = filepath.Walk(cfg.ArtifactsDestination, func(_ string, info os.FileInfo, _ error) error {
				if info != nil && !info.IsDir() {
					n++
				}
				return nil
			})
			if n != 2 {
				t.Fatalf("%d artifact files under the destination, want 2", n)
			}
		})
	}
}
