package serve

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlgate/mlgate/flavors"
)

// differ answers as echo, with every number of a tensor input mapped by f.
type differ struct {
	echo
	f func(float64) float64
}

func (d *differ) Predict(ctx context.Context, in *flavors.Input) (*flavors.Output, error) {
	out, err := d.echo.Predict(ctx, in)
	if err != nil || out.Tensor == nil {
		return out, err
	}
	v := reflect.ValueOf(out.Tensor.Data)
	data := make([]float64, v.Len())
	for i := range data {
		x := v.Index(i)
		switch x.Kind() {
		case reflect.Float32, reflect.Float64:
			data[i] = d.f(x.Float())
		default:
			data[i] = d.f(float64(x.Int()))
		}
	}
	return &flavors.Output{Tensor: &flavors.Tensor{DType: flavors.Float64, Shape: out.Tensor.Shape, Data: data}}, nil
}

// postKey posts one prediction with an optional route key and returns the
// version that answered it.
func postKey(t *testing.T, url, header, key string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/invocations", strings.NewReader(`{"inputs": [1]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(header, key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp.Header.Get(VersionHeader)
}

// canaryServer serves echo version 1 with a canary version 2 taking pct.
func canaryServer(t *testing.T, pct int, mod func(*Options)) (*Server, string, *echo, *echo) {
	t.Helper()
	main, canary := &echo{}, &echo{}
	s, ts := newTestServer(t, nil, nil, mod)
	s.Install(&Model{Predictor: main, Flavor: "fake", Version: "1"})
	if err := s.InstallCanary(&Model{Predictor: canary, Flavor: "fake", Version: "2"}, pct); err != nil {
		t.Fatal(err)
	}
	return s, ts.URL, main, canary
}

// The canary's share of 4,000 random requests is within 3 points of its
// weight, each answer names its version, and the per-version figures add
// up to what each version answered.
func TestWeightedSplitShareAndVersionHeader(t *testing.T) {
	s, url, main, canary := canaryServer(t, 25, nil)
	const n = 4000
	got := map[string]int{}
	for range n {
		got[postKey(t, url, "", "")]++
	}
	share := float64(got["2"]) / n * 100
	if math.Abs(share-25) > 3 || got["1"]+got["2"] != n {
		t.Fatalf("versions answered %v of %d: canary share %.1f%%, want 25±3", got, n, share)
	}
	if int(canary.calls.Load()) != got["2"] || int(main.calls.Load()) != got["1"] {
		t.Fatalf("the header names another version than the one that answered: %v, calls %d/%d", got, main.calls.Load(), canary.calls.Load())
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range got {
		vs := st.Versions[v]
		if int(vs.Requests) != want || vs.Latency[len(vs.Latency)-1].Count != uint64(want) || !(vs.LatencyQuantile(0.99) > 0) {
			t.Errorf("version %s: %d requests, latency %v; want %d", v, vs.Requests, vs.Latency, want)
		}
	}
}

// With a route key header the same key always gets the same version, on
// any replica; 2,000 keys split within 3 points of the weight; a key on
// the canary stays there as the weight grows; no key means random.
func TestStickyRoutingByKey(t *testing.T) {
	const header = "X-User"
	key := func(o *Options) { o.RouteKeyHeader = header }
	s1, url1, _, _ := canaryServer(t, 30, key)
	_, url2, _, _ := canaryServer(t, 30, key)
	const n = 2000
	onCanary := map[string]bool{}
	for i := range n {
		k := fmt.Sprintf("user-%d", i)
		v := postKey(t, url1, header, k)
		if v2 := postKey(t, url2, header, k); v2 != v {
			t.Fatalf("key %s: replica 1 answered with version %s, replica 2 with %s", k, v, v2)
		}
		if want := map[bool]string{true: "2", false: "1"}[RouteBucket(k) < 30]; v != want {
			t.Fatalf("key %s (bucket %d) went to version %s", k, RouteBucket(k), v)
		}
		onCanary[k] = v == "2"
	}
	c := 0
	for _, on := range onCanary {
		if on {
			c++
		}
	}
	if share := float64(c) / n * 100; math.Abs(share-30) > 3 {
		t.Fatalf("keyed canary share %.1f%%, want 30±3", share)
	}
	for range 20 { // sticky
		if v := postKey(t, url1, header, "user-7"); (v == "2") != onCanary["user-7"] {
			t.Fatalf("user-7 moved to version %s", v)
		}
	}
	if err := s1.SetCanaryPercent(60); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		k := fmt.Sprintf("user-%d", i)
		if onCanary[k] && postKey(t, url1, header, k) != "2" {
			t.Fatalf("key %s left the canary when its weight grew", k)
		}
	}
	// requests without the header are split at random: both versions answer
	got := map[string]int{}
	for range 200 {
		got[postKey(t, url1, header, "")]++
	}
	if got["1"] == 0 || got["2"] == 0 {
		t.Fatalf("keyless requests: %v", got)
	}
}

// Every scoring route names the version that answered.
func TestVersionHeaderOnEveryScoringRoute(t *testing.T) {
	_, url, _, _ := canaryServer(t, 100, nil)
	for _, c := range []struct{ path, body string }{
		{"/invocations", `{"inputs": [1]}`},
		{"/v2/models/m/infer", `{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}`},
		{"/v1/models/m:predict", `{"instances": [1]}`},
	} {
		status, body, h := post(t, url+c.path, "application/json", c.body)
		if status != 200 || h.Get(VersionHeader) != "2" {
			t.Errorf("%s: %d %s, %s %q", c.path, status, body, VersionHeader, h.Get(VersionHeader))
		}
	}
	status, _, h := post(t, url+"/v2/models/m/versions/1/infer", "application/json",
		`{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}`)
	if status != 200 || h.Get(VersionHeader) != "1" {
		t.Errorf("named version 1: %d, header %q", status, h.Get(VersionHeader))
	}
}

// Promoting the canary serves it as the main model without closing it.
func TestPromoteCanary(t *testing.T) {
	s, url, main, canary := canaryServer(t, 10, nil)
	if !s.PromoteCanary() {
		t.Fatal("no canary promoted")
	}
	if s.Canary() != nil || s.Model().Version != "2" || canary.closed.Load() != 0 {
		t.Fatalf("after promotion: canary %v, main version %s, canary closed %d", s.Canary(), s.Model().Version, canary.closed.Load())
	}
	for range 20 {
		if v := postKey(t, url, "", ""); v != "2" {
			t.Fatalf("answered by version %s after promotion", v)
		}
	}
	if main.closed.Load() != 1 {
		t.Errorf("the old main model closed %d times", main.closed.Load())
	}
	if s.PromoteCanary() {
		t.Error("promoted a canary that is not there")
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Shadow at 100%: every answer of the main model is mirrored to the
// canary and compared; the caller always gets the main model's answer;
// the disagreements are those the canary answers off the tolerance.
func TestShadowCountsDisagreements(t *testing.T) {
	main := &echo{}
	// 7 answers 8: a disagreement; 9 answers 9·(1+1e-9): within 1e-6
	canary := &differ{f: func(x float64) float64 {
		switch x {
		case 7:
			return 8
		case 9:
			return 9 * (1 + 1e-9)
		}
		return x
	}}
	s, ts := newTestServer(t, nil, nil, func(o *Options) { o.ShadowQueue = 1000 })
	s.Install(&Model{Predictor: main, Flavor: "fake", Version: "1"})
	if err := s.InstallCanary(&Model{Predictor: canary, Flavor: "fake", Version: "2"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetShadow(100); err != nil {
		t.Fatal(err)
	}
	const n = 60
	for i := range n {
		x := []int{1, 7, 9}[i%3]
		status, body, h := post(t, ts.URL+"/invocations", "application/json", fmt.Sprintf(`{"inputs": [%d]}`, x))
		if want := fmt.Sprintf(`{"predictions": [%d]}`, x); status != 200 || body != want || h.Get(VersionHeader) != "1" {
			t.Fatalf("caller got %d %s from version %q, want the main model's %s", status, body, h.Get(VersionHeader), want)
		}
	}
	var v VersionStats
	waitFor(t, "the mirrors", func() bool {
		st, err := s.Stats()
		if err != nil {
			t.Fatal(err)
		}
		v = st.Versions["2"]
		// the gatherer reads the disagreements before the requests, so a
		// read can see every mirror run but not yet every disagreement
		return v.ShadowRequests == n && v.ShadowDisagreements >= n/3
	})
	if v.ShadowDisagreements != n/3 || v.ShadowDropped != 0 || v.Requests != 0 {
		t.Fatalf("canary figures %+v, want %d mirrors, %d disagreements", v, n, n/3)
	}
	if err := s.SetShadow(101); err == nil {
		t.Error("a 101% shadow share was taken")
	}
}

// A slow canary neither delays the callers nor grows the queue: mirrors
// beyond the queue are dropped and counted.
func TestShadowNeverDelaysTheCaller(t *testing.T) {
	main := &echo{}
	canary := &echo{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	s, ts := newTestServer(t, nil, nil, func(o *Options) { o.ShadowQueue = 2 })
	s.Install(&Model{Predictor: main, Flavor: "fake", Version: "1"})
	if err := s.InstallCanary(&Model{Predictor: canary, Flavor: "fake", Version: "2"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetShadow(100); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	for i := range 10 {
		start := time.Now()
		if status, _, _ := post(t, ts.URL+"/invocations", "application/json", `{"inputs": [1]}`); status != 200 {
			t.Fatalf("status %d", status)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("request %d took %s while the canary was stuck", i, d)
		}
		once.Do(func() { <-canary.entered }) // the worker holds the first mirror
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// one mirror running, two queued, seven dropped
	if v := st.Versions["2"]; v.ShadowDropped != 7 || v.ShadowRequests != 0 {
		t.Fatalf("canary figures %+v, want 7 dropped", v)
	}
	close(canary.gate)
	waitFor(t, "the queued mirrors", func() bool {
		st, _ := s.Stats()
		return st.Versions["2"].ShadowRequests == 3
	})
	_, metrics := get(t, ts.URL+"/metrics")
	if line := `mlgate_serve_shadow_dropped_total{model="m",reason="queue_full",version="2"} 7`; !strings.Contains(metrics, line) {
		t.Errorf("no %s in\n%s", line, grepLines(metrics, "shadow"))
	}
}

func TestSameAnswers(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{`{"predictions": [1, 2]}`, `{"predictions": [1, 2]}`, true},
		{`{"predictions": [1, 2]}`, `{"predictions": [1.0, 2.0]}`, true},
		{`{"predictions": [1, 2]}`, `{"predictions": [1, 3]}`, false},
		{`{"predictions": [0.1]}`, `{"predictions": [0.1000000001]}`, true},
		{`{"predictions": [0.1]}`, `{"predictions": [0.1001]}`, false},
		{`{"predictions": [NaN]}`, `{"predictions": [NaN]}`, true},
		{`{"predictions": [NaN]}`, `{"predictions": [1.5]}`, false},
		{`{"predictions": [Infinity]}`, `{"predictions": [1e308]}`, false},
		{`{"predictions": ["cat"]}`, `{"predictions": ["dog"]}`, false},
		{`{"predictions": [{"label": 1, "p": 0.5}]}`, `{"predictions": [{"p": 0.5, "label": 1}]}`, true},
		{`{"predictions": [{"label": 1}]}`, `{"predictions": [{"label": 2}]}`, false},
		{`{"predictions": [{"label": 1}]}`, `{"predictions": [{"class": 1}]}`, false},
		{`{"predictions": [1, 2]}`, `{"predictions": [1]}`, false},
		{`{"predictions": [true]}`, `{"predictions": [false]}`, false},
		{`{"predictions": [null]}`, `{"predictions": [0]}`, false},
		{`{"predictions": [12345678901234567]}`, `{"predictions": [12345678901234568]}`, false},
		{`not json`, `not json either`, false},
	} {
		if got := sameAnswers([]byte(c.a), []byte(c.b), 1e-6); got != c.same {
			t.Errorf("sameAnswers(%s, %s) = %v", c.a, c.b, got)
		}
	}
}
