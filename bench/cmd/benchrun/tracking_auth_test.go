package main

import (
	"strings"
	"testing"

	"github.com/mlgate/mlgate/bench"
)

// TestMedianRoundRatio: one round hit by a stall (the second server's
// slice at a tenth of its rate) does not move the median ratio.
func TestMedianRoundRatio(t *testing.T) {
	a, b := turnKey{"on", "op", 1}, turnKey{"off", "op", 1}
	turnRates[a] = []float64{96, 100, 98, 97, 99, 95}
	turnRates[b] = []float64{100, 100, 10, 100, 100, 100}
	defer delete(turnRates, a)
	defer delete(turnRates, b)
	got, ok := medianRoundRatio(a, b)
	if !ok || got < 0.975 || got > 0.985 {
		t.Fatalf("median ratio %v %v, want 0.98", got, ok)
	}
	if _, ok := medianRoundRatio(a, turnKey{"none", "op", 1}); ok {
		t.Fatal("a ratio without the other side's rounds")
	}
}

// TestTurnTargetsJudgeRoundByRound: the middleware target, like the
// permissions one, is decided by the median of the rounds' ratios, not by
// the whole points (which one stalled slice drags under 95%).
func TestTurnTargetsJudgeRoundByRound(t *testing.T) {
	cfg := &config{trackConcs: []int{1}}
	point := func(system string, rate float64) bench.TrackingRun {
		var ops []bench.TrackingOp
		for _, op := range trackingOps {
			ops = append(ops, bench.TrackingOp{Op: op, Results: []bench.Result{{Concurrency: 1, Throughput: rate}}})
		}
		return bench.TrackingRun{System: system, Ops: ops}
	}
	rep := &bench.Report{Tracking: []bench.TrackingRun{point(systemMlgateServer, 80), point(systemMlgateServerOpen, 100)}}
	for _, op := range trackingOps {
		turnRates[turnKey{systemMlgateServer, op, 1}] = []float64{97, 98, 20, 99, 96, 98}
		turnRates[turnKey{systemMlgateServerOpen, op, 1}] = []float64{100, 100, 100, 100, 100, 100}
	}
	defer clear(turnRates)
	verdicts := map[bool]int{}
	turnTargets(cfg, rep, func(ok, known bool, name, detail string) {
		if !known {
			t.Errorf("%s: not measured", name)
		}
		verdicts[ok]++
	}, systemMlgateServer, systemMlgateServerOpen, "middleware %s c=%d")
	if verdicts[true] != len(trackingOps) || verdicts[false] != 0 {
		t.Fatalf("verdicts %v, want all %d passing on the rounds' median", verdicts, len(trackingOps))
	}
}

// TestTargetsCompareWithTheAAPairMean: with an A/A control measured, the
// server with permissions is compared round by round with the mean of the
// two identical servers without (here 96 over the mean of 100 and 104 is
// 94%: a miss that the open server's rounds alone, 96%, would pass).
func TestTargetsCompareWithTheAAPairMean(t *testing.T) {
	cfg := &config{trackConcs: []int{1}}
	var run []bench.TrackingRun
	for _, system := range []string{systemMlgateAuth, systemMlgateServerOpen, systemMlgateServerControl} {
		var ops []bench.TrackingOp
		for _, op := range trackingOps {
			ops = append(ops, bench.TrackingOp{Op: op, Results: []bench.Result{{Concurrency: 1, Throughput: 100}}})
		}
		run = append(run, bench.TrackingRun{System: system, Ops: ops})
	}
	rates := map[string][]float64{systemMlgateAuth: {96, 96, 96}, systemMlgateServerOpen: {100, 100, 100}, systemMlgateServerControl: {104, 104, 104}}
	for _, op := range trackingOps {
		for system, rs := range rates {
			turnRates[turnKey{system, op, 1}] = rs
		}
	}
	defer clear(turnRates)
	var details []string
	turnTargets(cfg, &bench.Report{Tracking: run}, func(ok, known bool, name, detail string) {
		if ok || !known {
			t.Errorf("%s: ok %v known %v, want a measured miss: %s", name, ok, known, detail)
		}
		details = append(details, detail)
	}, systemMlgateAuth, systemMlgateServerOpen, "perms %s c=%d")
	if len(details) != len(trackingOps) || !strings.Contains(details[0], "ratios 94% to the mean of the two servers without") || !strings.Contains(details[0], "A/A control 104%") {
		t.Fatalf("details %q", details)
	}
}
