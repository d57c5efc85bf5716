package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesMatchSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]int64, 0, 100000)
	for range 100000 {
		// Log-uniform between 10µs and 1s.
		v := int64(math.Exp(rng.Float64()*math.Log(1e5)) * 1e4)
		vals = append(vals, v)
		h.Record(time.Duration(v))
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := float64(vals[int(math.Ceil(q*float64(len(vals))))-1])
		got := float64(h.Quantile(q))
		if rel := math.Abs(got-want) / want; rel > 0.01 {
			t.Errorf("q%.3f = %v, want %v (rel err %.4f)", q, time.Duration(got), time.Duration(want), rel)
		}
	}
	if h.Min() != time.Duration(vals[0]) || h.Max() != time.Duration(vals[len(vals)-1]) {
		t.Errorf("min/max = %v/%v, want %v/%v", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
	if h.Count() != 100000 {
		t.Errorf("count %d", h.Count())
	}
}

func TestHistogramSmallExactAndEmpty(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram must give 0")
	}
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i))
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 50}, {0.9, 90}, {0.99, 99}, {1, 100}, {0, 1}}
	for _, tt := range tests {
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("q%v = %d, want %d", tt.q, got, tt.want)
		}
	}
	if h.Mean() != 50 { // 50.5 truncated
		t.Errorf("mean %d", h.Mean())
	}
}

func TestHistogramMergeAndExtremes(t *testing.T) {
	var a, b Histogram
	a.Record(time.Millisecond)
	b.Record(2 * time.Second)
	b.Record(-5)                     // clamped to 0
	b.Record(time.Duration(1 << 62)) // beyond the top bucket: still counted
	a.Merge(&b)
	a.Merge(nil)
	if a.Count() != 4 {
		t.Fatalf("count %d", a.Count())
	}
	if a.Min() != 0 || a.Max() != time.Duration(1<<62) {
		t.Errorf("min %v max %v", a.Min(), a.Max())
	}
	if got := a.Quantile(0.5); got < time.Millisecond*99/100 || got > time.Millisecond*101/100 {
		t.Errorf("median %v, want ~1ms", got)
	}
}

func TestBucketsAreContiguous(t *testing.T) {
	prevEnd := int64(0)
	for i := range (maxExp + 1) * subCount {
		lo, w := bucketLow(i)
		if lo != prevEnd {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevEnd)
		}
		if bucketOf(lo) != i || bucketOf(lo+w-1) != i {
			t.Fatalf("bucket %d [%d,+%d) maps to %d/%d", i, lo, w, bucketOf(lo), bucketOf(lo+w-1))
		}
		prevEnd = lo + w
	}
}
