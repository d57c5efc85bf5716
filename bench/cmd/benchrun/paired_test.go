package main

import (
	"strings"
	"testing"
	"time"

	"github.com/mlgate/mlgate/bench"
)

// Each system gets one slice a round, in rounds rounds, and a different
// one goes first in each round.
func TestTurnSlices(t *testing.T) {
	for _, rounds := range []int{pairedRounds, payloadRounds} {
		var order []int
		parts := turnSlices(2, rounds, func(i int) bench.Result {
			order = append(order, i)
			return bench.Result{Requests: uint64(len(order))}
		})
		if len(order) != 2*rounds || len(parts[0]) != rounds || len(parts[1]) != rounds {
			t.Fatalf("%d rounds: %d slices measured, parts %d and %d", rounds, len(order), len(parts[0]), len(parts[1]))
		}
		for r := range rounds {
			first := order[2*r]
			if want := r % 2; first != want || order[2*r+1] != 1-want {
				t.Fatalf("%d rounds: round %d went %v", rounds, r, order[2*r:2*r+2])
			}
			// parts[i][r] is the slice i measured in round r
			if got := parts[first][r].Requests; got != uint64(2*r+1) {
				t.Errorf("%d rounds: parts[%d][%d] is slice %d, want %d", rounds, first, r, got, 2*r+1)
			}
		}
	}
	if got := turnSlices(3, trackingRounds, func(int) bench.Result { return bench.Result{} }); len(got) != 3 || len(got[2]) != trackingRounds {
		t.Errorf("turnSlices: %d systems, %d slices", len(got), len(got[2]))
	}
}

// The note names the slices each closed-loop point and the open loop get.
func TestPairedNoteRounds(t *testing.T) {
	cfg := &config{point: 3 * time.Second}
	n := pairedNoteRounds(cfg, "The pair", payloadRounds)
	for _, want := range []string{"cut into 12 slices of 500ms", "the open loop into 6 of 2s"} {
		if !strings.Contains(n, want) {
			t.Errorf("note %q lacks %q", n, want)
		}
	}
}
