package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mlgate/mlgate/bench"
)

func TestBatchCeiling(t *testing.T) {
	rep := &bench.Report{Machine: bench.Machine{CPUs: 2}}
	if c := batchCeiling(rep, 170e3, 55e3); c != 0 {
		t.Fatalf("no floor measured: ceiling %v, want 0", c)
	}
	rep.Serving = []bench.ServingRun{{Key: keyFloorGin, Model: "linear", Closed: []bench.Result{
		{Concurrency: 16, Throughput: 40000},
		{Concurrency: 64, Throughput: 20000}, // 2 CPUs / 20000 req/s = 100 µs per request
	}}}
	want := (100e3 + 170e3) / (100e3 + 55e3)
	if c := batchCeiling(rep, 170e3, 55e3); math.Abs(c-want) > 1e-9 {
		t.Fatalf("ceiling %v, want %v", c, want)
	}
	rep.Machine.CPUs = 0
	if c := batchCeiling(rep, 170e3, 55e3); c != 0 {
		t.Fatalf("unknown CPU count: ceiling %v, want 0", c)
	}
}

func TestCPUBudget(t *testing.T) {
	mg := &bench.Result{Requests: 1000, ServerCPU: 100 * time.Millisecond, ClientCPU: 60 * time.Millisecond}
	floor := &bench.Result{Requests: 2000, ServerCPU: 80 * time.Millisecond, ClientCPU: 120 * time.Millisecond}
	// per request: mlgate 100 + 60 µs, floor 40 + 60 µs; (40+60)/0.75 − 60 = 73 µs
	got := cpuBudget(mg, floor)
	for _, want := range []string{"mlgate's server 100 µs and its load generator 60 µs", "the floor's 40 µs and 60 µs", "about 73 µs or less"} {
		if !strings.Contains(got, want) {
			t.Errorf("budget %q lacks %q", got, want)
		}
	}
	floor.ServerCPU = 0
	if got := cpuBudget(mg, floor); got != "" {
		t.Errorf("unmeasured floor CPU: %q, want nothing", got)
	}
}
