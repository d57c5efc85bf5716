package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/mlgate/mlgate/bench"
)

// Keys of the payload logging runs (issue 16): the same onnx server with
// and without every request and its answer logged.
const (
	keyPayloadsOff    = "mlgate onnx payloads off"
	keyMlgatePayloads = "mlgate onnx payloads=100%"
)

// payloadRounds is how many slices each closed-loop point of the payload
// pair gets: twice the other pairs' (about 20 s more of a full run), as
// its ratio sat a few points above its target and moved ±3 points with 6.
const payloadRounds = 2 * pairedRounds

// runPayloads starts the linear model's server twice, each logging its
// serving run to an embedded SQLite tracking store in its scratch folder,
// once with --payload-log-sample 1 (every request and answer logged and
// uploaded to that run) and once without, so that the two differ in
// payload logging alone, and measures them side by side in turns.
func runPayloads(ctx context.Context, log *slog.Logger, cfg *config, models map[string]*model, rep *bench.Report, fail func(string, error)) {
	m, ok := models["linear"]
	if !ok || (!cfg.want(keyPayloadsOff) && !cfg.want(keyMlgatePayloads) && !cfg.want("payloads")) || ctx.Err() != nil {
		return
	}
	var runs [2]bench.ServingRun
	var sides [2]pairSide
	for i, v := range []struct {
		key, name, baseline, variant string
		payloads                     bool
	}{
		{keyPayloadsOff, "payloads-off", "", "onnx flavor, batching off, a serving run, no payload logging", false},
		{keyMlgatePayloads, "payloads-on", keyPayloadsOff, "onnx flavor, batching off, a serving run, --payload-log-sample 1 (every request and answer logged and uploaded to it)", true},
	} {
		runs[i] = bench.ServingRun{Key: v.key, System: "mlgate", Model: "linear", Baseline: v.baseline, Protocol: "MLflow /invocations", Variant: v.variant}
		dir := filepath.Join(cfg.work, v.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fail(v.key, err)
			return
		}
		port, err := bench.FreePort()
		if err != nil {
			fail(v.key, err)
			return
		}
		argv := []string{"models", "serve", "-m", m.Dir, "-h", "127.0.0.1", "-p", fmt.Sprint(port),
			"--tracking-uri", "sqlite:///" + filepath.Join(dir, "tracking.db"), "--log-experiment", "bench"}
		if v.payloads {
			argv = append(argv, "--payload-log-sample", "1", "--payload-log-dir", filepath.Join(dir, "payloads"))
		}
		side, stop, err := startPairSide(ctx, log, cfg, &runs[i], m, v.name, dir, port, argv, nil)
		if err != nil {
			fail(v.key+" on linear", err)
			return
		}
		defer stop()
		sides[i] = side
	}
	measurePairedRounds(ctx, cfg, sides, &runs, payloadRounds)
	for i := range runs {
		if runs[i].Err = noSuccess(&runs[i]); runs[i].Err != "" {
			fail(runs[i].Key+" on linear", errors.New(runs[i].Err))
		}
	}
	rep.Notes = append(rep.Notes, pairedNoteRounds(cfg, "The two payload-logging servers (off and 100%)", payloadRounds))
	rep.Serving = append(rep.Serving, runs[0], runs[1])
}

// payloadTargets is issue 16's goal for payload logging at 100%, next to
// the same server without it, measured in turns.
func payloadTargets(rep *bench.Report, add func(ok, known bool, name, detail string)) {
	name := "issue 16: payload logging at 100% ≥ 90% of the throughput without, p99 ≤ 1.1× (linear, c=16)"
	a, b := rep.Find(keyMlgatePayloads, "linear").At(16), rep.Find(keyPayloadsOff, "linear").At(16)
	if a == nil || b == nil || b.Throughput == 0 || b.Latency.P99 == 0 {
		add(false, false, name, "not measured in this run")
		return
	}
	add(a.Throughput >= 0.9*b.Throughput && a.Latency.P99 <= b.Latency.P99*11/10, true, name,
		fmt.Sprintf("%.0f vs %.0f req/s = %.0f%%; p99 %s vs %s ms = ×%.2f", a.Throughput, b.Throughput, 100*a.Throughput/b.Throughput,
			bench.Ms(a.Latency.P99), bench.Ms(b.Latency.P99), float64(a.Latency.P99)/float64(b.Latency.P99)))
}
