package app

import (
	"testing"
	"time"
)

func TestMovingURI(t *testing.T) {
	for uri, want := range map[string]bool{
		"models:/m@champion": true, "models:/m/Production": true, "models:/m/latest": true,
		"models:/m/3": false, "runs:/abc/model": false, "/tmp/model": false, "models:/": false,
	} {
		if got := MovingURI(uri); got != want {
			t.Errorf("MovingURI(%q) = %v, want %v", uri, got, want)
		}
	}
}

func TestLoadBackoff(t *testing.T) {
	var b loadBackoff
	now := time.Unix(1000, 0)
	const poll = 10 * time.Second
	if !b.due("3", now) {
		t.Fatal("a version never tried must be due")
	}
	for i, want := range []time.Duration{10, 20, 40, 80} {
		if d := b.failed("3", now, poll); d != want*time.Second {
			t.Fatalf("failure %d: wait %v, want %v", i+1, d, want*time.Second)
		}
	}
	if b.due("3", now.Add(79*time.Second)) {
		t.Fatal("version 3 due before its wait ended")
	}
	if !b.due("3", now.Add(80*time.Second)) {
		t.Fatal("version 3 not due once its wait ended")
	}
	if !b.due("4", now) {
		t.Fatal("another version must be tried at once")
	}
	for range 20 {
		b.failed("3", now, poll)
	}
	if d := b.failed("3", now, poll); d != maxLoadBackoff {
		t.Fatalf("wait after many failures %v, want the cap %v", d, maxLoadBackoff)
	}
	if d := b.failed("4", now, poll); d != poll {
		t.Fatalf("first failure of another version waits %v, want one poll", d)
	}
	if d := (&loadBackoff{}).failed("5", now, time.Hour); d != time.Hour {
		t.Fatalf("a poll longer than the cap waits %v, want the poll", d)
	}
}
