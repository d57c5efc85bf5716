package main

import (
	"strings"
	"testing"
	"time"
)

func TestLevel(t *testing.T) {
	mk := func(rss ...uint64) []soakSample {
		var xs []soakSample
		for i, r := range rss {
			xs = append(xs, soakSample{at: time.Duration(i) * soakEvery, rss: r << 20, fds: 10, goroutines: 5})
		}
		return xs
	}
	// A load peak in the last third is not growth.
	if got := level(mk(60, 62, 61, 63, 62, 61, 62, 130, 61)); !strings.Contains(got, "levels off") || !strings.Contains(got, "peak 130.0 MiB") {
		t.Fatalf("flat with a peak: %s", got)
	}
	if got := level(mk(60, 62, 64, 66, 70, 74, 80, 86, 92)); !strings.Contains(got, "still growing") {
		t.Fatalf("rising: %s", got)
	}
	if got := level(mk(60, 61)); got != "too few samples" {
		t.Fatalf("short: %s", got)
	}
}
