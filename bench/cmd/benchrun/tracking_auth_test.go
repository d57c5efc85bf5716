package main

import "testing"

// TestMedianRoundRatio: one round hit by a stall (the second server's
// slice at a tenth of its rate) does not move the median ratio.
func TestMedianRoundRatio(t *testing.T) {
	a, b := turnKey{"on", "op", 1}, turnKey{"off", "op", 1}
	turnRates[a] = []float64{96, 100, 98, 97, 99, 95}
	turnRates[b] = []float64{100, 100, 10, 100, 100, 100}
	defer delete(turnRates, a)
	defer delete(turnRates, b)
	got, ok := medianRoundRatio(a, b)
	if !ok || got < 0.975 || got > 0.985 {
		t.Fatalf("median ratio %v %v, want 0.98", got, ok)
	}
	if _, ok := medianRoundRatio(a, turnKey{"none", "op", 1}); ok {
		t.Fatal("a ratio without the other side's rounds")
	}
}
