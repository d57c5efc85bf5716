package memtrim

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestReleaserFreesOnceAfterTheLastLargeRequest(t *testing.T) {
	var freed atomic.Int64
	r := NewReleaser(1000, 500*time.Millisecond) // quiet: far above the gaps below, even on a loaded machine
	r.free = func() { freed.Add(1) }
	defer r.Stop()

	r.Note(999) // under the threshold: nothing to do
	time.Sleep(600 * time.Millisecond)
	if n := freed.Load(); n != 0 {
		t.Fatalf("released %d times after a small request", n)
	}
	// a burst of large requests, each within the quiet time of the last
	for range 5 {
		r.Note(1000)
		time.Sleep(10 * time.Millisecond)
	}
	if n := freed.Load(); n != 0 {
		t.Fatalf("released %d times during the burst", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for freed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(600 * time.Millisecond)
	if n, runs := freed.Load(), r.Runs(); n != 1 || runs != 1 {
		t.Fatalf("released %d times (Runs %d) after the burst, want 1", n, runs)
	}
	// a later large request releases again
	r.Note(1 << 20)
	for freed.Load() == 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := freed.Load(); n != 2 {
		t.Fatalf("released %d times after a second burst, want 2", n)
	}
}

func TestNilReleaserDoesNothing(t *testing.T) {
	var r *Releaser
	r.Note(1 << 30)
	r.Stop()
	if r.Runs() != 0 {
		t.Fatal("a nil Releaser ran")
	}
}
