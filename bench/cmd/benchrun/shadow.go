package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlgate/mlgate/bench"
	"github.com/mlgate/mlgate/registry"
	"github.com/mlgate/mlgate/rollout"
	"github.com/mlgate/mlgate/tracking"
)

// Shadow traffic (issue 16): a replica following a rollout
// (`models serve -m models:/NAME@champion --follow-rollout`) whose
// candidate is loaded beside the stable version at weight 0, once with
// shadow 0 and once with shadow 100%: every prediction of the stable
// version mirrored to the candidate, its answer compared and dropped. The
// two runs differ in the shadow share alone; the registry is a `mlgate
// server` the harness starts.

// Keys of the shadow runs.
const (
	keyShadowOff = "mlgate onnx rollout shadow off"
	keyShadowOn  = "mlgate onnx rollout shadow 100%"
)

// runShadow starts the registry, registers the linear model twice under
// one name per replica with its rollout state, starts both replicas side
// by side and measures them in alternating slices.
func runShadow(ctx context.Context, log *slog.Logger, cfg *config, models map[string]*model, rep *bench.Report, fail func(string, error)) {
	m, ok := models["linear"]
	if !ok || (!cfg.want(keyShadowOff) && !cfg.want(keyShadowOn) && !cfg.want("shadow")) || ctx.Err() != nil {
		return
	}
	url, stop, err := startRegistry(ctx, cfg)
	if err != nil {
		fail("shadow: the registry (mlgate server)", err)
		return
	}
	defer stop()
	var runs [2]bench.ServingRun
	var sides [2]pairSide
	var ports [2]int
	for i, v := range []struct {
		key, name, baseline string
		shadow              int
	}{{keyShadowOff, "shadow-off", "", 0}, {keyShadowOn, "shadow-on", keyShadowOff, 100}} {
		runs[i] = bench.ServingRun{Key: v.key, System: "mlgate", Model: "linear", Baseline: v.baseline, Protocol: "MLflow /invocations",
			Variant: fmt.Sprintf("onnx flavor, --follow-rollout: versions 1 and 2 of the same model, weight 0, shadow %d%%", v.shadow)}
		if err := registerRollout(ctx, url, v.name, m.Dir, v.shadow); err != nil {
			fail(v.key+": registering the model", err)
			return
		}
		if ports[i], err = bench.FreePort(); err != nil {
			fail(v.key, err)
			return
		}
		argv := []string{"models", "serve", "-m", "models:/" + v.name + "@champion", "--follow-rollout",
			"--watch-interval", "1s", "--tracking-uri", url, "-h", "127.0.0.1", "-p", fmt.Sprint(ports[i])}
		side, stop, err := startPairSide(ctx, log, cfg, &runs[i], m, v.name, cfg.work, ports[i], argv,
			func(p *bench.Proc) error { return candidateLoaded(ctx, p) })
		if err != nil {
			fail(v.key+" on linear", err)
			return
		}
		defer stop()
		port := ports[i]
		side.counters = func(ctx context.Context) ([]float64, error) { return shadowCounters(ctx, port) }
		sides[i] = side
	}
	counts := measurePaired(ctx, cfg, sides, &runs)
	cfg.shadowMirrors = counts[1]
	for i := range runs {
		if runs[i].Err = noSuccess(&runs[i]); runs[i].Err != "" {
			fail(runs[i].Key+" on linear", errors.New(runs[i].Err))
		}
		if f := shadowFigures(ctx, ports[i]); f != "" {
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s (linear, the whole run): %s.", runs[i].Key, f))
		}
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("%s: the mirrors actually run (a mirror is dropped when the server has no spare capacity, "+
		"when it is saturated and the mirrors have spent their budget, or when the shadow queue is full; docs/serving.md), point by point over its slices: %s.", keyShadowOn, mirrorShares(counts[1])))
	rep.Notes = append(rep.Notes, pairedNote(cfg, "The two shadow replicas"))
	rep.Serving = append(rep.Serving, runs[0], runs[1])
}

// startRegistry starts `mlgate server` on a SQLite store in the scratch
// folder and returns its URL once it answers.
func startRegistry(ctx context.Context, cfg *config) (string, func(), error) {
	dir := filepath.Join(cfg.work, "shadow-registry")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	port, err := bench.FreePort()
	if err != nil {
		return "", nil, err
	}
	proc, err := bench.Start("shadow-registry", cfg.work, nil, dir, cfg.mlgate, "server", "--backend-store-uri",
		"sqlite:///"+filepath.Join(dir, "s.db"), "--artifacts-destination", filepath.Join(dir, "artifacts"),
		"-h", "127.0.0.1", "-p", fmt.Sprint(port))
	if err != nil {
		return "", nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if _, err := proc.WaitReady(ctx, cfg.startTimeout, func(ctx context.Context) error {
		_, err := get(ctx, url+"/health")
		return err
	}); err != nil {
		proc.Stop(5 * time.Second)
		return "", nil, err
	}
	return url, func() { proc.Stop(15 * time.Second) }, nil
}

// registerRollout registers dir as versions 1 and 2 of name, champion →
// 1, with a running rollout of 2 at weight 0 and the shadow share.
func registerRollout(ctx context.Context, url, name, dir string, shadow int) error {
	quiet := slog.New(slog.DiscardHandler)
	c, err := tracking.NewClient(tracking.Config{TrackingURI: url, Logger: quiet})
	if err != nil {
		return err
	}
	defer func() { _ = c.Close(ctx) }()
	reg := registry.NewClient(c.Transport())
	exp, err := c.CreateExperiment(ctx, name)
	if err != nil {
		return err
	}
	for range 2 {
		run, err := c.CreateRun(ctx, exp)
		if err != nil {
			return err
		}
		if err := c.LogArtifacts(ctx, run.Info.RunID, dir, "model"); err != nil {
			return err
		}
		if _, err := reg.RegisterModel(ctx, "runs:/"+run.Info.RunID+"/model", name, time.Minute); err != nil {
			return err
		}
	}
	if err := reg.SetRegisteredModelAlias(ctx, name, "champion", "1"); err != nil {
		return err
	}
	st := rollout.State{ID: "bench", Stable: "1", Candidate: "2", Alias: "champion", Shadow: shadow, Status: rollout.Running,
		Updated: time.Now().UnixMilli()}
	val, err := st.Encode()
	if err != nil {
		return err
	}
	return reg.SetRegisteredModelTag(ctx, name, rollout.TagKey, val)
}

// candidateLoaded waits until the replica logged that it follows the
// rollout with the candidate loaded.
func candidateLoaded(ctx context.Context, p *bench.Proc) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		tail := p.LogTail(1 << 16)
		if strings.Contains(tail, "candidate_loaded=true") || strings.Contains(tail, `"candidate_loaded":true`) {
			return nil
		}
		if p.Exited() || time.Now().After(deadline) || ctx.Err() != nil {
			return errors.New("the replica never loaded the rollout's candidate")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Indexes of the counters shadowCounters reads.
const (
	shadowRun = iota
	shadowBusy
	shadowQueueFull
	shadowDisagreed
)

// shadowCounters reads the replica's shadow counters from its metrics
// (indexed by shadowRun…), each summed over its labels.
func shadowCounters(ctx context.Context, port int) ([]float64, error) {
	body, err := get(ctx, fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return nil, err
	}
	out := make([]float64, 4)
	for _, line := range strings.Split(body, "\n") {
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err != nil {
			continue
		}
		switch {
		case name == "mlgate_serve_shadow_requests_total":
			out[shadowRun] += v
		case name == "mlgate_serve_shadow_disagreements_total":
			out[shadowDisagreed] += v
		case name == "mlgate_serve_shadow_dropped_total" && strings.Contains(rest, `reason="busy"`):
			out[shadowBusy] += v
		case name == "mlgate_serve_shadow_dropped_total":
			out[shadowQueueFull] += v
		}
	}
	return out, nil
}

// shadowFigures is what the replica's metrics say of its shadow traffic
// over the whole run.
func shadowFigures(ctx context.Context, port int) string {
	c, err := shadowCounters(ctx, port)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("the candidate got %.0f mirrored predictions, %.0f dropped (%.0f busy: no spare capacity or no budget left, %.0f with the queue full), "+
		"%.0f disagreed with the stable version", c[shadowRun], c[shadowBusy]+c[shadowQueueFull], c[shadowBusy], c[shadowQueueFull], c[shadowDisagreed])
}

// mirrorShare is the share of the mirrors made that ran, as text.
func mirrorShare(d []float64) string {
	made := d[shadowRun] + d[shadowBusy] + d[shadowQueueFull]
	if made == 0 {
		return "none made"
	}
	return fmt.Sprintf("%.0f%% (%.0f of %.0f)", 100*d[shadowRun]/made, d[shadowRun], made)
}

// mirrorShares lists the share of mirrors run at each point.
func mirrorShares(points []pointCounts) string {
	var parts []string
	for _, p := range points {
		if p.Delta == nil {
			parts = append(parts, p.Label+" not read")
			continue
		}
		parts = append(parts, p.Label+" "+mirrorShare(p.Delta))
	}
	return strings.Join(parts, ", ")
}

func get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return string(b), err
}

// shadowTargets are issue 16's goals for shadow traffic at 100%, next to
// shadow off in the same run.
func shadowTargets(cfg *config, rep *bench.Report, add func(ok, known bool, name, detail string)) {
	ms := func(d time.Duration) string { return bench.Ms(d) + " ms" }
	off, on := rep.Find(keyShadowOff, "linear"), rep.Find(keyShadowOn, "linear")
	name := "issue 16: shadow at 100% ≥ 90% of the throughput of shadow off, p99 ≤ 1.1× (linear, c=16)"
	a, b := on.At(16), off.At(16)
	if a == nil || b == nil || b.Throughput == 0 || b.Latency.P99 == 0 {
		add(false, false, name, "not measured in this run")
	} else {
		add(a.Throughput >= 0.9*b.Throughput && a.Latency.P99 <= b.Latency.P99*11/10, true, name,
			fmt.Sprintf("%.0f vs %.0f req/s = %.0f%%, mirrors run %s; p99 %s vs %s = ×%.2f", a.Throughput, b.Throughput, 100*a.Throughput/b.Throughput,
				pointShare(cfg.shadowMirrors, "c=16"), ms(a.Latency.P99), ms(b.Latency.P99), float64(a.Latency.P99)/float64(b.Latency.P99)))
	}
	name = "issue 16: the caller's p99 with shadow at 100% within 5% of shadow off (linear, open loop at a fixed rate)"
	if on == nil || off == nil || on.Open == nil || off.Open == nil || off.Open.Latency.P99 == 0 {
		add(false, false, name, "not measured in this run")
		return
	}
	a, b = on.Open, off.Open
	add(a.Latency.P99 <= b.Latency.P99*105/100, true, name, fmt.Sprintf("p99 %s vs %s = ×%.2f; p50 %s vs %s; mirrors run %s",
		ms(a.Latency.P99), ms(b.Latency.P99), float64(a.Latency.P99)/float64(b.Latency.P99), ms(a.Latency.P50), ms(b.Latency.P50),
		pointShare(cfg.shadowMirrors, "open loop")))
}

// pointShare is the share of mirrors run at the point labelled label.
func pointShare(points []pointCounts, label string) string {
	for _, p := range points {
		if p.Label == label && p.Delta != nil {
			return mirrorShare(p.Delta)
		}
	}
	return "unknown"
}
