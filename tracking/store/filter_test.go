package store

import (
	"errors"
	"testing"
)

func TestParseFilter(t *testing.T) {
	cases := []struct {
		in   string
		want []Comparison
	}{
		{"", nil},
		{"metrics.rmse < 1", []Comparison{{Kind: KindMetric, Key: "rmse", Op: "<", Str: "1", Num: 1, IsNum: true}}},
		{"params.model = 'lr' and attributes.status = \"FINISHED\"", []Comparison{
			{Kind: KindParam, Key: "model", Op: "=", Str: "lr"},
			{Kind: KindAttribute, Key: "status", Op: "=", Str: "FINISHED"}}},
		{"tags.\"user-name\" ILIKE '%tom%'", []Comparison{{Kind: KindTag, Key: "user-name", Op: "ILIKE", Str: "%tom%"}}},
		{"tags.`my tag` != 'x'", []Comparison{{Kind: KindTag, Key: "my tag", Op: "!=", Str: "x"}}},
		{"tags.mlflow.runName = 'a'", []Comparison{{Kind: KindTag, Key: "mlflow.runName", Op: "=", Str: "a"}}},
		{"attribute.run_id IN ('a', 'b')", []Comparison{{Kind: KindAttribute, Key: "run_id", Op: "IN", List: []string{"a", "b"}}}},
		{"run_id not in ('a')", []Comparison{{Kind: KindAttribute, Key: "run_id", Op: "NOT IN", List: []string{"a"}}}},
		{"metrics.a>=-1.5e3", []Comparison{{Kind: KindMetric, Key: "a", Op: ">=", Str: "-1.5e3", Num: -1500, IsNum: true}}},
		{"tags.x IS NOT NULL", []Comparison{{Kind: KindTag, Key: "x", Op: "IS NOT NULL"}}},
		{"\"run name\" = 'x'", []Comparison{{Kind: KindAttribute, Key: "run name", Op: "=", Str: "x"}}},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseFilter(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for i := range got {
				g, w := got[i], c.want[i]
				if g.Kind != w.Kind || g.Key != w.Key || g.Op != w.Op || g.Str != w.Str || g.Num != w.Num || g.IsNum != w.IsNum || len(g.List) != len(w.List) {
					t.Fatalf("clause %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, in := range []string{
		"metrics.a < 1 OR metrics.b > 2", "metrics.", "foo.bar = 'x'", "metrics.a <", "params.a = 'x",
		"run_id IN ()", "metrics.a ~ 1", "metrics.a < 1 metrics.b > 1",
	} {
		if _, err := ParseFilter(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: err %v, want INVALID_PARAMETER_VALUE", in, err)
		}
	}
}

// TestParseFilterMessages checks messages against a real mlflow server
// 3.17.2's (interop/test_parity.py compares them live).
func TestParseFilterMessages(t *testing.T) {
	for in, want := range map[string]string{
		"metrics.a >":                     "Invalid clause(s) in filter string: 'metrics.a', '>'",
		"metrics.a > 1 or params.b = 'x'": "Invalid clause(s) in filter string: 'or'",
	} {
		if _, err := ParseFilter(in); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %s", in, err, want)
		}
	}
	if _, err := ParseExperimentFilter("name ="); err == nil || err.Error() != "Invalid clause(s) in filter string: name, =" {
		t.Errorf("experiments: %v", err)
	}
	if c, err := ParseFilter("metrics.a < 1 and"); err != nil || len(c) != 1 {
		t.Errorf("a trailing AND is accepted, as MLflow does: %v %v", c, err)
	}
}

func TestParseOrderBy(t *testing.T) {
	o, err := ParseOrderBy("metrics.`f1 score` DESC")
	if err != nil || o.Kind != KindMetric || o.Key != "f1 score" || o.Asc {
		t.Fatalf("got %+v, %v", o, err)
	}
	if _, err := ParseOrderBy("start_time sideways"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("want invalid, got %v", err)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"metrics.rmse < 1 and params.model = 'lr'", "tags.`a b` LIKE '%x%'", "run_id IN ('a','b')", "attr.start_time >= 5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		comps, err := ParseFilter(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("non-validation error %v", err)
			}
			return
		}
		for _, c := range comps {
			if c.Op == "" || c.Kind == "" {
				t.Fatalf("incomplete comparison %+v from %q", c, s)
			}
		}
		_, _ = ParseOrderBy(s)
	})
}
