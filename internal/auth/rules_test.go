package auth

import (
	"reflect"
	"testing"
)

// TestRuleTableServesEveryPrefix: each check and after is found under its
// route bare and below every API prefix, for its method only, and a route
// without one (or a prefix MLflow does not serve) finds no rule.
func TestRuleTableServesEveryPrefix(t *testing.T) {
	tab := newRuleTable()
	fn := func(c check) uintptr {
		if c == nil {
			return 0
		}
		return reflect.ValueOf(c).Pointer()
	}
	for rt, c := range checks {
		for _, p := range rulePrefixes {
			if got := tab.of(rt.method, p+rt.path); fn(got.check) != fn(c) || got.after != afters[rt] {
				t.Fatalf("%s %s%s: another rule", rt.method, p, rt.path)
			}
		}
	}
	for rt, x := range afters {
		if got := tab.of(rt.method, "/ajax-api/2.0"+rt.path); got.after != x {
			t.Fatalf("%s %s: after not found", rt.method, rt.path)
		}
	}
	for _, miss := range [][2]string{{"PUT", "/api/2.0/mlflow/runs/get"}, {"GET", "/api/2.0/mlflow/runs/nothing"},
		{"GET", "/api/9.9/mlflow/runs/get"}, {"GET", ""}} {
		if got := tab.of(miss[0], miss[1]); got.check != nil || got.after != nil {
			t.Fatalf("%s %s has a rule", miss[0], miss[1])
		}
	}
}
