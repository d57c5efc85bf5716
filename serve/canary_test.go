package serve

import (
	"fmt"
	"strings"
	"testing"
)

// The canary takes its share of the predictions, each counted under its
// version; metadata and readiness stay on the main model unless a version
// is named; a share of 0 or a removed canary takes nothing.
func TestCanarySplit(t *testing.T) {
	main, canary := &echo{}, &echo{}
	s, ts := newTestServer(t, nil, nil, nil)
	s.Install(&Model{Predictor: main, Flavor: "fake", Version: "1"})
	if err := s.InstallCanary(&Model{Predictor: canary, Flavor: "fake", Version: "2"}, 30); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for range n {
		if status, body, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`); status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
	}
	// 30% of 1000: the binomial's standard deviation is 14.5; 6 of them either way
	if c := canary.calls.Load(); c < 213 || c > 387 || c+main.calls.Load() != n {
		t.Fatalf("canary answered %d and main %d of %d", c, main.calls.Load(), n)
	}
	_, metrics := get(t, ts.URL+"/metrics")
	for v, e := range map[string]*echo{"1": main, "2": canary} {
		line := fmt.Sprintf(`mlgate_serve_requests_total{model="m",route="/invocations",status="200",version=%q} %d`, v, e.calls.Load())
		if !strings.Contains(metrics, line) {
			t.Errorf("no %s in\n%s", line, grepLines(metrics, "requests_total"))
		}
	}

	// metadata is the main model's unless a version is named
	for range 20 {
		if _, body := get(t, ts.URL+"/v2/models/m"); !strings.Contains(body, `"versions":["1"]`) {
			t.Fatalf("metadata %s", body)
		}
	}
	if _, body := get(t, ts.URL+"/v2/models/m/versions/2"); !strings.Contains(body, `"versions":["2"]`) {
		t.Fatalf("canary metadata %s", body)
	}
	before := canary.calls.Load()
	for range 10 {
		status, body, _ := post(t, ts.URL+"/v2/models/m/versions/2/infer", "application/json",
			`{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}`)
		if status != 200 || !strings.Contains(body, `"model_version": "2"`) {
			t.Fatalf("infer on version 2: %d %s", status, body)
		}
	}
	if canary.calls.Load() != before+10 {
		t.Errorf("named version 2: the canary answered %d of 10", canary.calls.Load()-before)
	}
	if status, _ := get(t, ts.URL+"/v2/models/m/versions/3"); status != 404 {
		t.Errorf("an unknown version answered %d", status)
	}

	if err := s.SetCanaryPercent(0); err != nil {
		t.Fatal(err)
	}
	before = canary.calls.Load()
	for range 50 {
		post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`)
	}
	if canary.calls.Load() != before {
		t.Error("a 0% canary answered")
	}
	s.RemoveCanary()
	if s.Canary() != nil {
		t.Error("the canary is still there")
	}
	if err := s.InstallCanary(&Model{Predictor: canary}, 101); err == nil {
		t.Error("a 101% share was taken")
	}
}
