package serve

import (
	"math"
	"strings"
	"testing"
)

func TestStatsCountPredictionRequests(t *testing.T) {
	s, ts := newTestServer(t, &echo{}, nil, nil)
	before, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if status, _, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1, 2]}`); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	if status, _, _ := post(t, ts.URL+"/invocations", "application/json", `{"nope": 1}`); status != 400 {
		t.Fatalf("bad request answered %d", status)
	}
	get(t, ts.URL+"/health") // not a prediction route
	after, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	d := after.Sub(before)
	if d.Requests != 4 || d.ClientErrors != 1 || d.ServerErrors != 0 || d.Calls != 3 || d.Waits != 3 {
		t.Fatalf("interval stats %+v", d)
	}
	if d.InferenceSeconds <= 0 || d.Latency[len(d.Latency)-1].Count != 4 {
		t.Fatalf("inference %v s, latency buckets %v", d.InferenceSeconds, d.Latency)
	}
	if p := d.LatencyQuantile(0.5); !(p > 0 && p < 5) {
		t.Errorf("p50 %v s", p)
	}
	if z := after.Sub(after); z.Requests != 0 || !math.IsNaN(z.LatencyQuantile(0.5)) {
		t.Errorf("an empty interval: %+v, p50 %v", z, z.LatencyQuantile(0.5))
	}
}

func TestLatencyQuantile(t *testing.T) {
	s := Stats{Latency: []Bucket{{0.001, 10}, {0.01, 90}, {0.1, 100}, {math.Inf(1), 100}}}
	for _, c := range []struct{ q, want float64 }{
		{0.05, 0.0005}, // half-way through the first bucket
		{0.5, 0.0055},  // 50th of 100: 40 of the 80 in (1ms, 10ms]
		{0.95, 0.055},  // half of the last finite bucket
		{1, 0.1},
	} {
		if got := s.LatencyQuantile(c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("q%v = %v, want %v", c.q, got, c.want)
		}
	}
	inf := Stats{Latency: []Bucket{{0.001, 0}, {math.Inf(1), 5}}}
	if got := inf.LatencyQuantile(0.99); got != 0.001 {
		t.Errorf("a quantile in +Inf = %v, want the highest finite bound", got)
	}
	if !math.IsNaN(s.LatencyQuantile(1.5)) || !math.IsNaN((Stats{}).LatencyQuantile(0.5)) {
		t.Error("no NaN for a bad q or no buckets")
	}
}

// Requests are counted under the version of the model that is served now.
func TestRequestsLabelledWithServedVersion(t *testing.T) {
	s, ts := newTestServer(t, &echo{}, nil, nil)
	s.Install(&Model{Predictor: &echo{}, Flavor: "fake", Version: "7"})
	if status, _, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`); status != 200 {
		t.Fatalf("status %d", status)
	}
	_, body := get(t, ts.URL+"/metrics")
	if !strings.Contains(body, `mlgate_serve_requests_total{model="m",route="/invocations",status="200",version="7"} 1`) {
		t.Errorf("no request counted under version 7:\n%s", grepLines(body, "requests_total"))
	}
}
