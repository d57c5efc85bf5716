package app

import (
	"math"
	"testing"
	"time"

	"github.com/mlgate/mlgate/serve"
)

func TestIntervalMetrics(t *testing.T) {
	idle := intervalMetrics(serve.Stats{}, time.Minute)
	for _, k := range []string{"latency_p50_ms", "latency_p99_ms", "inference_mean_ms", "queue_mean_ms", "rows_per_call"} {
		if _, ok := idle[k]; ok {
			t.Errorf("an idle interval logs %s", k)
		}
	}
	if idle["requests"] != 0 || idle["requests_per_second"] != 0 {
		t.Errorf("idle interval %v", idle)
	}
	busy := intervalMetrics(serve.Stats{
		Requests: 120, ClientErrors: 3, ServerErrors: 1,
		Latency: []serve.Bucket{{Le: 0.001, Count: 60}, {Le: 0.01, Count: 120}, {Le: math.Inf(1), Count: 120}},
		Calls:   100, InferenceSeconds: 0.05, Waits: 120, QueueSeconds: 0.012, Batches: 100, Rows: 250,
	}, 2*time.Second)
	want := map[string]float64{
		"requests": 120, "client_errors": 3, "server_errors": 1, "requests_per_second": 60,
		"latency_p50_ms": 1, "inference_mean_ms": 0.5, "queue_mean_ms": 0.1, "rows_per_call": 2.5,
	}
	for k, v := range want {
		if math.Abs(busy[k]-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, busy[k], v)
		}
	}
	for k, v := range busy {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s = %v", k, v)
		}
	}
}
