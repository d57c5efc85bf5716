package server

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/mlgate/mlgate/internal/wire"
	"github.com/mlgate/mlgate/tracking/store"
)

// marshalSearchRuns is the runs/search answer as encoding/json writes it
// from wRun: the reference appendSearchRuns must equal byte for byte.
func marshalSearchRuns(t testing.TB, runs []*store.Run, next string) []byte {
	out := struct {
		Runs          []wRun `json:"runs,omitempty"`
		NextPageToken string `json:"next_page_token,omitempty"`
	}{NextPageToken: next}
	for _, r := range runs {
		out.Runs = append(out.Runs, runOut(r))
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// oddStrings escape in every way encoding/json knows.
var oddStrings = []string{"", "plain", `q"uote`, `back\slash`, "<script>&amp;</script>", "tab\tnl\nret\r", "\x00\x01\x1f\x7f",
	"\b\f", "é ü 日本 🙂", "\u2028\u2029", "bad \xff\xfe utf8", "\xe6\x97", "a/b"}

// oddFloats cover every format encoding/json uses for a float64.
var oddFloats = []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1.0 / 3, 123456789.125, 1e-6, 9.99e-7, 1e-7, 5e-324,
	1e20, 1e21, 1.5e300, -2.5e-10, math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 0.123456789012345678}

func searchFixtureRuns() []*store.Run {
	var runs []*store.Run
	for i, s := range oddStrings {
		r := &store.Run{Info: store.RunInfo{RunID: "0123456789abcdef0123456789abcdef", RunName: s, ExperimentID: "7", UserID: s,
			Status: store.StatusRunning, StartTime: int64(i) * 1_700_000_000_123, ArtifactURI: "mlflow-artifacts:/7/" + s, LifecycleStage: store.StageActive}}
		if i%2 == 1 {
			r.Info.EndTime = -int64(i)
		}
		if i%3 != 0 {
			for k, f := range oddFloats {
				m := store.Metric{Key: s + "m", Value: f, Timestamp: int64(k) - 3, Step: int64(k * i)}
				if k%4 == 1 {
					m.DatasetName, m.DatasetDigest, m.ModelID = s, "d"+s, "m-"+s
				}
				r.Data.Metrics = append(r.Data.Metrics, m)
			}
		}
		if i%4 != 1 {
			r.Data.Params = []store.Param{{Key: "p", Value: s}, {Key: s, Value: ""}}
		}
		if i%5 != 2 {
			r.Data.Tags = []store.Tag{{Key: "mlflow.runName", Value: s}, {Key: "w", Value: "1"}}
		}
		if i%3 == 1 {
			r.Inputs = []store.DatasetInput{
				{Dataset: store.Dataset{Name: s, Digest: "dg", SourceType: "local", Source: `{"uri": "` + s + `"}`}},
				{Tags: []store.Tag{{Key: "mlflow.data.context", Value: s}}, Dataset: store.Dataset{Name: "n", Digest: s, SourceType: "s3", Source: "x", Schema: s, Profile: `{"rows": 3}`}},
			}
		}
		if i%4 == 2 {
			r.Models = []store.ModelInput{{ModelID: "m-1"}, {ModelID: s}}
		}
		if i%3 == 2 {
			r.Outputs = []store.ModelOutput{{ModelID: s, Step: int64(i)}, {ModelID: "m-2", Step: -1}}
		}
		runs = append(runs, r)
	}
	return runs
}

func TestSearchAnswerBytes(t *testing.T) {
	runs := searchFixtureRuns()
	for _, tc := range []struct {
		name string
		runs []*store.Run
		next string
	}{
		{"empty", nil, ""},
		{"token only", nil, "eyJvZmZzZXQiOiAxMDB9"},
		{"one", runs[:1], ""},
		{"all", runs, ""},
		{"all and token", runs, "eyJvZmZzZXQiOiAxMDB9"},
		{"bare run", []*store.Run{{}}, "<&>"},
	} {
		want := marshalSearchRuns(t, tc.runs, tc.next)
		got := appendSearchRuns(nil, tc.runs, tc.next)
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Fatalf("%s: answers differ at byte %d:\n got %.200q\nwant %.200q", tc.name, i, got[max(0, i-60):], want[max(0, i-60):])
		}
	}
}

// FuzzAppendJSONString holds the hand-written string and number
// encoders equal to encoding/json.
func FuzzAppendJSONString(f *testing.F) {
	for i, s := range oddStrings {
		f.Add(s, oddFloats[i%len(oddFloats)])
	}
	f.Fuzz(func(t *testing.T, s string, v float64) {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); !bytes.Equal(got[1:], want) || got[0] != 'x' {
			t.Fatalf("string %q: got %s, want %s", s, got[1:], want)
		}
		want, _ = json.Marshal(wMetric{Value: wire.Double(v)})
		got := appendMetric(nil, &store.Metric{Value: v})
		if !bytes.Equal(got, want) {
			t.Fatalf("value %v: got %s, want %s", v, got, want)
		}
	})
}

// metricsAnswer is the answer writeMetrics writes, built for
// encoding/json as the handlers built it before.
func metricsAnswer(ms []store.Metric, next string, withRun bool) any {
	out := struct {
		Metrics       []wMetric `json:"metrics,omitempty"`
		NextPageToken string    `json:"next_page_token,omitempty"`
	}{NextPageToken: next}
	for _, m := range ms {
		out.Metrics = append(out.Metrics, metricOut(m, withRun))
	}
	return out
}

// TestMetricsAnswerBytes holds the metric history answers equal to
// json.Marshal(metricsAnswer(…)): odd keys, values, datasets, model and
// run ids, with and without run_id and next_page_token, and empty.
func TestMetricsAnswerBytes(t *testing.T) {
	var ms []store.Metric
	for i, s := range oddStrings {
		m := store.Metric{Key: s, Value: oddFloats[i%len(oddFloats)], Timestamp: int64(i) * 1e12, Step: int64(i) - 3}
		switch i % 3 {
		case 0:
			m.RunID = s
		case 1:
			m.DatasetName, m.DatasetDigest, m.RunID = s, "d"+s, "r"
		case 2:
			m.ModelID = "m-" + s
		}
		ms = append(ms, m)
	}
	for _, f := range oddFloats {
		ms = append(ms, store.Metric{Key: "loss", Value: f, RunID: "0123456789abcdef0123456789abcdef"})
	}
	for _, withRun := range []bool{false, true} {
		for _, tc := range []struct {
			ms   []store.Metric
			next string
		}{{nil, ""}, {nil, "tok"}, {ms[:1], ""}, {ms, ""}, {ms, "eyJvZmZzZXQiOiAxMDB9<&>"}} {
			want, err := json.Marshal(metricsAnswer(tc.ms, tc.next, withRun))
			if err != nil {
				t.Fatal(err)
			}
			if got := appendMetrics(nil, tc.ms, tc.next, withRun); !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("%d metrics, run ids %v: answers differ at byte %d:\n got %.200q\nwant %.200q", len(tc.ms), withRun, i, got[max(0, i-60):], want[max(0, i-60):])
			}
		}
	}
}
