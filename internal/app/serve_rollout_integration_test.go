//go:build integration

package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/rest/resttest"
	"github.com/mlgate/mlgate/rollout"
	"github.com/mlgate/mlgate/serve"
	"github.com/mlgate/mlgate/tracking"
)

// shiftedLinear is a copy of examples/models/linear whose intercept is
// 10 more: the same signature, answers 10 apart.
func shiftedLinear(t *testing.T) string {
	t.Helper()
	src := linearDir(t)
	dst := filepath.Join(t.TempDir(), "linear-shifted")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dst, "model.onnx")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// the LinearRegressor's attribute "intercepts": name, then one float
	// (field 7, fixed32: tag 0x3d) 1.0 = 00 00 80 3f little-endian
	i := bytes.Index(b, []byte("intercepts\x3d\x00\x00\x80\x3f"))
	if i < 0 {
		t.Fatal("examples/models/linear/model.onnx has no intercept 1.0 to shift")
	}
	copy(b[i+len("intercepts\x3d"):], []byte{0x00, 0x00, 0x30, 0x41}) // 11.0
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// scoreAs posts one prediction with a route key and returns the answering
// version and the body.
func scoreAs(addr, key string) (string, string, error) {
	v, status, body, err := scoreWith(http.DefaultClient, addr, key)
	if err == nil && status != 200 {
		err = fmt.Errorf("status %d: %s", status, body)
	}
	return v, body, err
}

// scoreWith posts one prediction of the linear model with a route key
// through hc and returns the answering version, the status and the body.
func scoreWith(hc *http.Client, addr, key string) (version string, status int, body string, err error) {
	return scoreBody(hc, addr, key, `{"inputs": [[1.0, 2.0, 3.0]]}`)
}

// scoreBody posts one request body to /invocations.
func scoreBody(hc *http.Client, addr, key, in string) (version string, status int, body string, err error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/invocations", strings.NewReader(in))
	if err != nil {
		return "", 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-User", key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.Header.Get(serve.VersionHeader), resp.StatusCode, string(b), err
}

// registerVersions logs each model directory in a run of the experiment
// "models" and registers it as the next version of name; champion names
// version 1.
func registerVersions(t *testing.T, c *tracking.Client, reg *registry.Client, name string, dirs ...string) {
	t.Helper()
	ctx := context.Background()
	expID, err := c.CreateExperiment(ctx, "models")
	if err != nil {
		t.Fatal(err)
	}
	for i, dir := range dirs {
		run, err := c.CreateRun(ctx, expID)
		if err != nil {
			t.Fatal(err)
		}
		runID := run.Info.RunID
		if err := c.LogArtifacts(ctx, runID, dir, "model"); err != nil {
			t.Fatal(err)
		}
		mv, err := reg.RegisterModel(ctx, "runs:/"+runID+"/model", name, time.Minute)
		if err != nil || mv.Version != strconv.Itoa(i+1) {
			t.Fatalf("registered %+v: %v", mv, err)
		}
	}
	if err := reg.SetRegisteredModelAlias(ctx, name, "champion", "1"); err != nil {
		t.Fatal(err)
	}
}

// A replica started with --follow-rollout against a real mlgate server
// applies the rollout tag within one watch interval (stable and candidate
// side by side at the tag's weight, shadow mirrored), keeps what it serves
// when the tag is broken, logs per-version figures to its serving run,
// and goes back to the alias when the rollout ends: the candidate removed
// when aborted, taken over as it is loaded when promoted.
func TestServeFollowsRollout(t *testing.T) {
	_, url, _ := startServer(t, nil)
	followRollout(t, url)
}

// The same against a real `mlflow server`: the rollout lives in plain
// MLflow registered-model tags.
func TestServeFollowsRolloutOnMLflow(t *testing.T) {
	m, err := resttest.StartMLflow(resttest.Python(t), t.TempDir(), resttest.FreePort(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	followRollout(t, m.URL)
}

// followRollout registers two versions of the linear model on the
// tracking server at url, serves models:/lin@champion with
// --follow-rollout and drives it through rollouts with the tag.
func followRollout(t *testing.T, url string) {
	ctx := context.Background()
	discard := slog.New(slog.DiscardHandler)
	c, err := tracking.NewClient(tracking.Config{TrackingURI: url, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.NewClient(c.Transport())
	registerVersions(t, c, reg, "lin", linearDir(t), shiftedLinear(t))
	src, err := NewModelSource(ModelSourceOptions{Tracking: tracking.Config{TrackingURI: url, Logger: discard}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}

	const interval = time.Second
	port := freePort(t)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	lib := ortLib(t)
	go func() {
		done <- RunServe(sctx, ServeOptions{
			ModelURI: "models:/lin@champion", Host: "127.0.0.1", Port: port, Timeout: 10 * time.Second,
			ONNXRuntimeLib: lib, Logger: discard, Source: src,
			FollowRollout: true, WatchInterval: interval, RouteKeyHeader: "X-User",
			LogExperiment: "serving", LogInterval: 500 * time.Millisecond, Tracking: tracking.Config{TrackingURI: url},
		})
	}()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	waitHealthy(t, addr, done)
	runID := waitRun(t, c, "serving")
	// the run counts from its first snapshot: score once it logged a step
	for deadline := time.Now().Add(10 * time.Second); len(metricHistory(t, c, runID, "requests")) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the serving run logged no interval")
		}
	}

	answered := map[string]int{} // by version over the whole test
	bodies := map[string]string{}
	score := func(key string) string {
		t.Helper()
		v, body, err := scoreAs(addr, key)
		if err != nil {
			t.Fatal(err)
		}
		if b, ok := bodies[v]; ok && b != body {
			t.Fatalf("version %s answered %s and %s", v, b, body)
		}
		bodies[v] = body
		answered[v]++
		return v
	}
	setState := func(st rollout.State) {
		t.Helper()
		val, err := st.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.SetRegisteredModelTag(ctx, "lin", rollout.TagKey, val); err != nil {
			t.Fatal(err)
		}
	}
	// waitVersion scores until version want answers n requests in a row,
	// that streak starting at most one interval and the candidate's load
	// after the tag changed, and returns when it started (the streak's
	// own requests are not charged to the change: on a busy machine 100
	// of them take seconds)
	waitVersion := func(what, want string, n int) time.Duration {
		t.Helper()
		start := time.Now()
		var from time.Time
		for streak := 0; streak < n; {
			if score("") == want {
				if streak == 0 {
					from = time.Now()
				}
				streak++
				continue
			}
			streak = 0
			if time.Since(start) > interval+5*time.Second {
				t.Fatalf("%s: not applied %s after the tag changed", what, time.Since(start))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if took := from.Sub(start); took > interval+5*time.Second {
			t.Fatalf("%s: applied %s after the tag changed", what, took)
		}
		return from.Sub(start)
	}

	for range 20 {
		if v := score(""); v != "1" {
			t.Fatalf("before the rollout version %s answered", v)
		}
	}
	setState(rollout.State{ID: "r1", Stable: "1", Candidate: "2", Alias: "champion", Weight: 30, Shadow: 100,
		Steps: []int{30, 100}, Status: rollout.Running, Updated: time.Now().UnixMilli()})
	took := waitVersion("the rollout's candidate", "2", 1)
	t.Logf("the candidate answered %s after the tag was set", took)

	// the split: 2,000 requests within 3 points of the weight
	split := map[string]int{}
	for range 2000 {
		split[score("")]++
	}
	if share := float64(split["2"]) / 2000 * 100; math.Abs(share-30) > 3 || split["1"]+split["2"] != 2000 {
		t.Fatalf("split %v: candidate share %.1f%%, want 30±3", split, share)
	}
	if bodies["1"] == bodies["2"] {
		t.Fatalf("both versions answered %s", bodies["1"])
	}
	// a key sticks to its bucket's version
	for i := range 50 {
		k := fmt.Sprintf("user-%d", i)
		want := map[bool]string{true: "2", false: "1"}[serve.RouteBucket(k) < 30]
		if v := score(k); v != want {
			t.Fatalf("key %s answered by %s, want %s", k, v, want)
		}
	}

	// a broken tag changes nothing
	if err := reg.SetRegisteredModelTag(ctx, "lin", rollout.TagKey, `{"stable": "1", "candidate": "nope"`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * interval)
	seen := map[string]int{}
	for range 200 {
		seen[score("")]++
	}
	if seen["1"] == 0 || seen["2"] == 0 {
		t.Fatalf("with a broken tag the split changed: %v", seen)
	}

	// aborted: back to the alias alone
	setState(rollout.State{ID: "r1", Stable: "1", Candidate: "2", Alias: "champion", Weight: 0, Shadow: 0,
		Steps: []int{30, 100}, Status: rollout.Aborted, Reason: "test"})
	waitVersion("the abort", "1", 100)

	// promoted: the alias moves to the candidate, which takes over
	setState(rollout.State{ID: "r2", Stable: "1", Candidate: "2", Alias: "champion", Weight: 50, Steps: []int{50, 100},
		Status: rollout.Running})
	waitVersion("the second rollout", "2", 1)
	if err := reg.SetRegisteredModelAlias(ctx, "lin", "champion", "2"); err != nil {
		t.Fatal(err)
	}
	setState(rollout.State{ID: "r2", Stable: "1", Candidate: "2", Alias: "champion", Weight: 100, Steps: []int{50, 100},
		Step: 1, Status: rollout.Promoted})
	waitVersion("the promotion", "2", 100)

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	run, err := c.GetRun(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tg := range run.Data.Tags {
		tags[tg.Key] = tg.Value
	}
	if tags[rollout.RunModelTag] != "lin" {
		t.Errorf("run tags %v: no %s=lin", tags, rollout.RunModelTag)
	}
	for _, v := range []string{"1", "2"} {
		if got := sumValues(t, c, runID, rollout.MetricRequests(v)); int(got) != answered[v] {
			t.Errorf("%s summed to %v, version %s answered %d", rollout.MetricRequests(v), got, v, answered[v])
		}
		if got := sumValues(t, c, runID, rollout.MetricErrors5xx(v)); got != 0 {
			t.Errorf("%s = %v", rollout.MetricErrors5xx(v), got)
		}
		for _, m := range metricHistory(t, c, runID, rollout.MetricLatencyP99(v)) {
			if !(m.Value > 0) || m.Timestamp <= 0 {
				t.Errorf("%s: %+v", rollout.MetricLatencyP99(v), m)
			}
		}
	}
	// every mirror of the stable's answers disagreed: version 2 adds 10
	mirrored := sumValues(t, c, runID, rollout.MetricShadowRequests("2"))
	dropped := sumValues(t, c, runID, rollout.MetricShadowDropped("2"))
	if !(mirrored > 0) || sumValues(t, c, runID, rollout.MetricShadowDisagreements("2")) != mirrored {
		t.Errorf("shadow: %v mirrored, %v disagreed, %v dropped", mirrored, sumValues(t, c, runID, rollout.MetricShadowDisagreements("2")), dropped)
	}
	t.Logf("answered %v; shadow: %v mirrored, %v dropped", answered, mirrored, dropped)
	if mirrored+dropped > float64(answered["1"]) {
		t.Errorf("%v mirrors and %v drops of %d stable answers", mirrored, dropped, answered["1"])
	}
	if h := metricHistory(t, c, runID, rollout.MetricShadowRequests("1")); len(h) != 0 {
		t.Errorf("the stable version got shadow traffic: %+v", h)
	}
}
