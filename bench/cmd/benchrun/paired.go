package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/mlgate/mlgate/bench"
)

// pairedRounds is how many slices each point of a paired comparison is
// cut into: the two servers take turns, slice by slice, so that both see
// the same machine (a shared one's load drifts within seconds).
const pairedRounds = 6

// pairedOpenFactor lengthens the open loop of a paired comparison: its
// target is on the p99 at a fixed rate, and at 200 requests/s one point
// holds 600 answers, so its p99 would rest on 6 of them.
const pairedOpenFactor = 4

// measurePaired warms both ops, then runs every closed-loop point and the
// open loop in alternating slices (each op goes first in every other
// round) and merges each op's slices into its run.
func measurePaired(ctx context.Context, cfg *config, ops [2]bench.Op, runs *[2]bench.ServingRun) {
	for i := range ops {
		bench.Closed(ctx, ops[i], 16, bench.Bounds{Duration: cfg.warm})
	}
	slice := cfg.point / pairedRounds
	turns := func(measure func(op bench.Op) bench.Result) [2]bench.Result {
		res := inTurns(2, func(i int) bench.Result { return measure(ops[i]) })
		return [2]bench.Result{res[0], res[1]}
	}
	for _, c := range cfg.concs {
		res := turns(func(op bench.Op) bench.Result {
			return bench.Closed(ctx, op, c, bench.Bounds{Duration: slice, MaxRequests: cfg.maxReqPerPoint / pairedRounds})
		})
		for i := range runs {
			runs[i].Closed = append(runs[i].Closed, res[i])
		}
	}
	open := turns(func(op bench.Op) bench.Result {
		return bench.Open(ctx, op, cfg.rate, 64, bench.Bounds{Duration: pairedOpenFactor * slice})
	})
	for i := range runs {
		runs[i].Open = &open[i]
	}
}

// inTurns measures n systems in pairedRounds slices each, taking turns
// (a different one goes first in every round), and merges each one's
// slices: measure(i) measures system i for one slice.
func inTurns(n int, measure func(i int) bench.Result) []bench.Result {
	parts := turnSlices(n, measure)
	out := make([]bench.Result, n)
	for i := range parts {
		out[i] = bench.Merge(parts[i])
	}
	return out
}

// turnSlices is inTurns without the merge: parts[i][r] is system i's
// slice of round r.
func turnSlices(n int, measure func(i int) bench.Result) [][]bench.Result {
	parts := make([][]bench.Result, n)
	for r := range pairedRounds {
		for k := range n {
			i := (k + r) % n
			parts[i] = append(parts[i], measure(i))
		}
	}
	return parts
}

// pairedNote explains the paired measurement in the report.
func pairedNote(cfg *config, what string) string {
	return fmt.Sprintf("%s run side by side and are measured in turns: each point is cut into %d slices of %s (the open loop's %s), "+
		"alternating which goes first, and each one's slices are merged; the other is idle meanwhile.", what, pairedRounds, cfg.point/pairedRounds,
		pairedOpenFactor*cfg.point/pairedRounds)
}

// startPairSide starts `mlgate argv…` (from dir) as one side of a paired
// comparison on the linear model m listening on port, records its command
// and start-to-first-answer in run, waits for ready (when set) after the
// first answer, and returns the op that sends it predictions and a stop
// for the process and its client.
func startPairSide(ctx context.Context, log *slog.Logger, cfg *config, run *bench.ServingRun, m *model, name, dir string,
	port int, argv []string, ready func(*bench.Proc) error) (bench.Op, func(), error) {
	run.Command = shellLine(cfg.mlgate, argv)
	log.Info("serving", "system", run.Key, "model", m.Kind, "cmd", run.Command)
	proc, err := bench.Start(name, cfg.work, pythonEnv(cfg.python), dir, cfg.mlgate, argv...)
	if err != nil {
		return nil, nil, err
	}
	req := invocations(m, port)
	probe := bench.NewClient(1, 5*time.Second)
	if run.StartToFirst, err = proc.WaitReady(ctx, cfg.startTimeout, func(ctx context.Context) error { return req.Do(ctx, probe) }); err == nil && ready != nil {
		err = ready(proc)
	}
	if err != nil {
		proc.Stop(15 * time.Second)
		return nil, nil, err
	}
	client := bench.NewClient(cfg.concs[len(cfg.concs)-1]+64, 60*time.Second)
	return bench.HTTPOp(client, req), func() {
		client.CloseIdleConnections()
		proc.Stop(15 * time.Second)
	}, nil
}
