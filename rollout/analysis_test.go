package rollout

import (
	"math"
	"strings"
	"testing"

	"github.com/mlgate/mlgate/tracking"
)

func TestAnalyze(t *testing.T) {
	def := DefaultThresholds()
	def.MinRequests = 100
	good := Figures{Requests: 1000, Errors5xx: 5, Errors4xx: 40, P99Ms: 20}
	stable := Figures{Requests: 9000, Errors5xx: 1, P99Ms: 10}
	with := func(f func(*Thresholds)) Thresholds { th := def; f(&th); return th }
	cases := []struct {
		name      string
		stable    Figures
		candidate Figures
		th        Thresholds
		want      Verdict
		in        string
	}{
		{"good", stable, good, def, Pass, "1000 requests"},
		{"too few requests", stable, Figures{Requests: 99, Errors5xx: 99}, def, Wait, "fewer than the 100"},
		{"no traffic", Figures{}, Figures{}, def, Wait, "served 0 requests"},
		{"5xx above", stable, Figures{Requests: 1000, Errors5xx: 11}, def, Breach, "error rate 0.0110 (5xx"},
		{"5xx at the bound", stable, Figures{Requests: 1000, Errors5xx: 10}, def, Pass, ""},
		{"4xx ignored by default", stable, Figures{Requests: 100, Errors4xx: 50}, def, Pass, ""},
		{"4xx counted", stable, good, with(func(t *Thresholds) { t.Count4xx = true }), Breach, "4xx+5xx, 45 of 1000"},
		{"p99 absolute", stable, good, with(func(t *Thresholds) { t.MaxP99Ms = 19.5 }), Breach, "p99 latency 20.0 ms is above 19.5 ms"},
		{"p99 absolute holds", stable, good, with(func(t *Thresholds) { t.MaxP99Ms = 20 }), Pass, ""},
		{"p99 ratio", stable, good, with(func(t *Thresholds) { t.MaxP99Ratio = 1.5 }), Breach, "above 1.5 × the stable version's 10.0 ms"},
		{"p99 ratio holds", stable, good, with(func(t *Thresholds) { t.MaxP99Ratio = 2 }), Pass, ""},
		{"p99 ratio without stable traffic", Figures{}, good, with(func(t *Thresholds) { t.MaxP99Ratio = 1.1 }), Pass, "p99 ratio not judged"},
		{"disagreement", stable, Figures{Requests: 1000, ShadowRequests: 500, ShadowDisagreements: 60},
			with(func(t *Thresholds) { t.MaxDisagreement = 0.1 }), Breach, "0.1200 (60 of 500 shadow requests)"},
		{"disagreement holds", stable, Figures{Requests: 1000, ShadowRequests: 500, ShadowDisagreements: 50},
			with(func(t *Thresholds) { t.MaxDisagreement = 0.1 }), Pass, ""},
		{"disagreement too few shadow requests", stable, Figures{Requests: 1000, ShadowRequests: 10, ShadowDisagreements: 10},
			with(func(t *Thresholds) { t.MaxDisagreement = 0.1 }), Pass, "disagreement not judged (10 shadow"},
		{"disagreement off", stable, Figures{Requests: 1000, ShadowRequests: 500, ShadowDisagreements: 500}, def, Pass, ""},
		{"NaN requests wait", stable, Figures{Requests: math.NaN()}, def, Wait, "fewer than"},
		{"NaN errors breach", stable, Figures{Requests: 1000, Errors5xx: math.NaN()}, def, Breach, "error rate NaN"},
		{"NaN p99 breaches", stable, Figures{Requests: 1000, P99Ms: math.NaN()}, with(func(t *Thresholds) { t.MaxP99Ms = 5 }), Breach, "p99 latency NaN"},
		{"zero disagreement allowed", stable, Figures{Requests: 1000, ShadowRequests: 500, ShadowDisagreements: 1},
			with(func(t *Thresholds) { t.MaxDisagreement = 0 }), Breach, "disagreement"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Analyze(c.stable, c.candidate, c.th)
			if d.Verdict != c.want || !strings.Contains(d.Reason, c.in) {
				t.Fatalf("got %s %q, want %s containing %q", d.Verdict, d.Reason, c.want, c.in)
			}
		})
	}
}

func TestThresholdsValidate(t *testing.T) {
	if err := DefaultThresholds().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, th := range map[string]Thresholds{
		"error rate":   {MaxErrorRate: 1.5, MinRequests: 1},
		"nan rate":     {MaxErrorRate: math.NaN(), MinRequests: 1},
		"p99":          {MaxP99Ms: -1, MinRequests: 1},
		"ratio":        {MaxP99Ratio: -2, MinRequests: 1},
		"disagreement": {MaxDisagreement: 2, MinRequests: 1},
		"min requests": {MinRequests: 0},
	} {
		if th.Validate() == nil {
			t.Errorf("%s: %+v accepted", name, th)
		}
	}
}

func metric(key string, v float64, step, ts int64) tracking.Metric {
	return tracking.Metric{Key: key, Value: tracking.Float(v), Step: tracking.Int64(step), Timestamp: tracking.Int64(ts)}
}

// SumRun adds the run's intervals that ended in (from, to] and weighs the
// interval p99s by their requests.
func TestSumRunWindow(t *testing.T) {
	h := map[string][]tracking.Metric{}
	add := func(v, fig string, val float64, step, ts int64) {
		k := VersionMetric(v, fig)
		h[k] = append(h[k], metric(k, val, step, ts))
	}
	// version 2, intervals 0..3 ending at 1000, 2000, 3000, 4000
	for i, f := range []struct{ req, e5, e4, p99 float64 }{{10, 1, 0, 50}, {100, 2, 3, 10}, {300, 0, 1, 30}, {7, 7, 7, 7}} {
		ts := int64(i+1) * 1000
		add("2", Requests, f.req, int64(i), ts)
		add("2", Errors5xx, f.e5, int64(i), ts)
		add("2", Errors4xx, f.e4, int64(i), ts)
		add("2", LatencyP99, f.p99, int64(i), ts)
	}
	add("2", ShadowRequests, 40, 1, 2000)
	add("2", ShadowDisagreements, 4, 1, 2000)
	add("1", Requests, 999, 1, 2000)  // another version
	got := SumRun(h, "2", 1000, 3000) // intervals 1 and 2
	if got.Requests != 400 || got.Errors5xx != 2 || got.Errors4xx != 4 || got.ShadowRequests != 40 || got.ShadowDisagreements != 4 {
		t.Fatalf("sum %+v", got)
	}
	if want := (100*10 + 300*30) / 400.0; math.Abs(got.P99Ms-want) > 1e-9 {
		t.Fatalf("p99 %v, want %v", got.P99Ms, want)
	}
	if other := SumRun(h, "1", 1000, 3000); other.Requests != 999 {
		t.Fatalf("version 1: %+v", other)
	}
	if none := SumRun(h, "2", 4000, 9000); none.Requests != 0 || none.P99Ms != 0 {
		t.Fatalf("empty window: %+v", none)
	}
	// two replicas' windows merge with the same weighting
	var all Figures
	all.add(got)
	all.add(SumRun(h, "2", 0, 1000)) // interval 0: 10 requests at p99 50
	if want := (100*10 + 300*30 + 10*50) / 410.0; all.Requests != 410 || math.Abs(all.P99Ms-want) > 1e-9 {
		t.Fatalf("merged %+v, want p99 %v", all, want)
	}
}

// Whatever the figures (they come from runs anyone may write), Analyze
// never passes a window with too few requests or too many errors.
func FuzzAnalyze(f *testing.F) {
	f.Add(1000.0, 5.0, 40.0, 20.0, 10.0, 0.01, 100, false)
	f.Add(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1, true)
	f.Add(math.NaN(), 0.0, 0.0, 0.0, 0.0, 0.01, 1, false)
	f.Add(500.0, math.NaN(), 0.0, math.NaN(), 1.0, 0.01, 1, false)
	f.Fuzz(func(t *testing.T, req, e5, e4, p99, stableP99, maxRate float64, minReq int, with4xx bool) {
		th := Thresholds{MaxErrorRate: maxRate, Count4xx: with4xx, MaxP99Ratio: 1.5, MaxDisagreement: -1, MinRequests: minReq}
		if th.Validate() != nil {
			return
		}
		c := Figures{Requests: req, Errors5xx: e5, Errors4xx: e4, P99Ms: p99}
		d := Analyze(Figures{Requests: 1, P99Ms: stableP99}, c, th)
		if d.Verdict == Pass && (!(req >= float64(minReq)) || c.ErrorRate(with4xx) > maxRate) {
			t.Fatalf("passed %+v under %+v: %s", c, th, d.Reason)
		}
		if d.Reason == "" {
			t.Fatal("a decision without a reason")
		}
	})
}
