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

// pairSide is one server of a paired comparison.
type pairSide struct {
	op bench.Op
	// pgid is the server's process group, whose CPU time each slice
	// records (0: not measured).
	pgid int
	// counters, when set, reads some of the server's counters (e.g. its
	// mirrored predictions); each point records how much they grew
	// during its slices.
	counters func(ctx context.Context) ([]float64, error)
}

// pointCounts is how much a side's counters grew during one point's
// slices (nil when they could not be read).
type pointCounts struct {
	Label string // "c=16", "open loop"
	Delta []float64
}

// measurePaired warms both sides, then runs every closed-loop point
// and the open loop in alternating slices (each side goes first in every
// other round), merges each side's slices into its run with the CPU time
// the server and the load generator used during them, and returns how
// each side's counters grew at each point.
func measurePaired(ctx context.Context, cfg *config, sides [2]pairSide, runs *[2]bench.ServingRun) [2][]pointCounts {
	return measurePairedRounds(ctx, cfg, sides, runs, pairedRounds)
}

// measurePairedRounds is measurePaired with rounds slices for each
// closed-loop point (each as long as measurePaired's; the open loop keeps
// pairedRounds): more of them steady a ratio that moves by a few points
// from run to run, for more wall time.
func measurePairedRounds(ctx context.Context, cfg *config, sides [2]pairSide, runs *[2]bench.ServingRun, rounds int) [2][]pointCounts {
	for i := range sides {
		bench.Closed(ctx, sides[i].op, 16, bench.Bounds{Duration: cfg.warm})
	}
	var counts [2][]pointCounts
	slice := cfg.point / pairedRounds
	turns := func(label string, rounds int, measure func(op bench.Op) bench.Result) [2]bench.Result {
		var cpu [2][2]time.Duration
		var grew [2][]float64
		ok := [2]bool{sides[0].counters != nil, sides[1].counters != nil}
		parts := turnSlices(2, rounds, func(i int) bench.Result {
			before, err := readCounters(ctx, sides[i].counters)
			ok[i] = ok[i] && err == nil
			mark := startCPU(sides[i].pgid)
			r := measure(sides[i].op)
			srv, cli := mark.stop()
			cpu[i][0], cpu[i][1] = cpu[i][0]+srv, cpu[i][1]+cli
			if ok[i] {
				after, err := readCounters(ctx, sides[i].counters)
				if ok[i] = err == nil && len(after) == len(before); ok[i] {
					grew[i] = addDeltas(grew[i], before, after)
				}
			}
			return r
		})
		var res [2]bench.Result
		for i := range res {
			res[i] = bench.Merge(parts[i])
			res[i].ServerCPU, res[i].ClientCPU = cpu[i][0], cpu[i][1]
			if sides[i].counters != nil {
				pc := pointCounts{Label: label}
				if ok[i] {
					pc.Delta = grew[i]
				}
				counts[i] = append(counts[i], pc)
			}
		}
		return res
	}
	for _, c := range cfg.concs {
		res := turns(fmt.Sprintf("c=%d", c), rounds, func(op bench.Op) bench.Result {
			return bench.Closed(ctx, op, c, bench.Bounds{Duration: slice, MaxRequests: cfg.maxReqPerPoint / pairedRounds})
		})
		for i := range runs {
			runs[i].Closed = append(runs[i].Closed, res[i])
		}
	}
	open := turns("open loop", pairedRounds, func(op bench.Op) bench.Result {
		return bench.Open(ctx, op, cfg.rate, 64, bench.Bounds{Duration: pairedOpenFactor * slice})
	})
	for i := range runs {
		runs[i].Open = &open[i]
	}
	return counts
}

func readCounters(ctx context.Context, read func(context.Context) ([]float64, error)) ([]float64, error) {
	if read == nil {
		return nil, nil
	}
	return read(ctx)
}

// addDeltas adds after−before to sum, element by element.
func addDeltas(sum, before, after []float64) []float64 {
	if sum == nil {
		sum = make([]float64, len(before))
	}
	for j := range before {
		sum[j] += after[j] - before[j]
	}
	return sum
}

// turnSlices measures n systems in the given rounds of one slice each, taking
// turns (a different one goes first in every round): measure(i) measures
// system i for one slice, and parts[i][r] is its slice of round r.
func turnSlices(n, rounds int, measure func(i int) bench.Result) [][]bench.Result {
	parts := make([][]bench.Result, n)
	for r := range rounds {
		for k := range n {
			i := (k + r) % n
			parts[i] = append(parts[i], measure(i))
		}
	}
	return parts
}

// pairedNote explains the paired measurement in the report.
func pairedNote(cfg *config, what string) string { return pairedNoteRounds(cfg, what, pairedRounds) }

// pairedNoteRounds explains a measurePairedRounds in the report.
func pairedNoteRounds(cfg *config, what string, rounds int) string {
	return fmt.Sprintf("%s run side by side and are measured in turns: each closed-loop point is cut into %d slices of %s "+
		"(the open loop into %d of %s), alternating which goes first, and each one's slices are merged; the other is idle meanwhile. "+
		"Their server CPU per request is the CPU time of the server's processes during its own slices.", what, rounds, cfg.point/pairedRounds,
		pairedRounds, pairedOpenFactor*cfg.point/pairedRounds)
}

// startPairSide starts `mlgate argv…` (from dir) as one side of a paired
// comparison on the linear model m listening on port, records its command
// and start-to-first-answer in run, waits for ready (when set) after the
// first answer, and returns the side (the op that sends it predictions
// and its process group) and a stop for the process and its client.
func startPairSide(ctx context.Context, log *slog.Logger, cfg *config, run *bench.ServingRun, m *model, name, dir string,
	port int, argv []string, ready func(*bench.Proc) error) (pairSide, func(), error) {
	run.Command = shellLine(cfg.mlgate, argv)
	log.Info("serving", "system", run.Key, "model", m.Kind, "cmd", run.Command)
	proc, err := bench.Start(name, cfg.work, pythonEnv(cfg.python), dir, cfg.mlgate, argv...)
	if err != nil {
		return pairSide{}, nil, err
	}
	req := invocations(m, port)
	probe := bench.NewClient(1, 5*time.Second)
	if run.StartToFirst, err = proc.WaitReady(ctx, cfg.startTimeout, func(ctx context.Context) error { return req.Do(ctx, probe) }); err == nil && ready != nil {
		err = ready(proc)
	}
	if err != nil {
		proc.Stop(15 * time.Second)
		return pairSide{}, nil, err
	}
	client := bench.NewClient(cfg.concs[len(cfg.concs)-1]+64, 60*time.Second)
	return pairSide{op: bench.HTTPOp(client, req), pgid: proc.Cmd.Process.Pid}, func() {
		client.CloseIdleConnections()
		proc.Stop(15 * time.Second)
	}, nil
}
