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

// Each version that answered or was mirrored to logs its figures under
// the rollout's names; an idle or unversioned one logs nothing.
func TestVersionMetrics(t *testing.T) {
	lat := []serve.Bucket{{Le: 0.001, Count: 50}, {Le: 0.01, Count: 100}, {Le: math.Inf(1), Count: 100}}
	got := versionMetrics(serve.Stats{Versions: map[string]serve.VersionStats{
		"1":  {Requests: 100, ClientErrors: 2, ServerErrors: 1, Latency: lat},
		"2":  {ShadowRequests: 40, ShadowDisagreements: 4, ShadowDropped: 3},
		"3":  {Latency: []serve.Bucket{{Le: math.Inf(1)}}},
		"":   {Requests: 5, Latency: lat},
		"42": {},
	}})
	want := map[string]float64{
		"version.1.requests": 100, "version.1.errors_4xx": 2, "version.1.errors_5xx": 1,
		"version.1.latency_p50_ms": 1, "version.1.latency_p99_ms": 9.82,
		"version.2.shadow_requests": 40, "version.2.shadow_disagreements": 4, "version.2.shadow_dropped": 3,
	}
	if len(got) != len(want) {
		t.Errorf("metrics %v, want %v", got, want)
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || math.Abs(g-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
}
