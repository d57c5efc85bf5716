package serve

import (
	"testing"
	"time"
)

// The server counts as saturated once more than saturatedShare of the
// recent callers found it full, stops counting so saturatedHold after
// callers find room again, and forgets it after a pause.
func TestAdmissionSaturation(t *testing.T) {
	var a admission
	at := time.Unix(1000, 0)
	next := func(full bool) bool {
		at = at.Add(time.Millisecond)
		return a.sample(full, at)
	}
	for i := range 200 {
		if next(i%14 == 0) {
			t.Fatalf("saturated after %d callers of which one in 14 found the server full", i+1)
		}
	}
	n := 0
	for !next(true) {
		if n++; n > saturatedWeight {
			t.Fatalf("not saturated after %d callers that all found the server full", n)
		}
	}
	if !a.saturated() {
		t.Fatal("saturated() disagrees with the last sample")
	}
	for range 20 * saturatedWeight {
		next(true)
	}
	n = 0
	for next(false) && a.saturated() {
		if n++; n > 2*saturatedWeight {
			t.Fatalf("busy share still above saturatedShare after %d callers that found room", n)
		}
	}
	if !next(false) {
		t.Fatal("not held saturated right after the busy share fell back")
	}
	at = at.Add(saturatedHold)
	if next(false) {
		t.Fatal("still saturated saturatedHold after the busy share fell back")
	}
	for range 20 * saturatedWeight {
		next(true)
	}
	at = at.Add(2 * saturatedForget)
	if next(true) {
		t.Error("still saturated after a pause longer than saturatedForget")
	}
}

// Mirrors at saturation spend what the callers' predictions earn, a tenth
// of their time; the saved credit and the debt are bounded.
func TestAdmissionBudget(t *testing.T) {
	var a admission
	if a.allow() {
		t.Fatal("a mirror allowed before any caller earned the budget")
	}
	a.earn(100 * time.Microsecond) // 10 µs for mirrors
	if !a.allow() {
		t.Fatal("no mirror allowed after a caller's prediction")
	}
	a.spend(30 * time.Microsecond) // owes 20 µs
	for i := range 2 {
		if a.allow() {
			t.Fatalf("a mirror allowed with %d µs owed", 20-10*i)
		}
		a.earn(100 * time.Microsecond)
	}
	if a.allow() {
		t.Fatal("a mirror allowed with the debt just paid")
	}
	a.earn(time.Microsecond)
	if !a.allow() {
		t.Fatal("no mirror allowed once the debt is paid")
	}

	// an hour of callers saves at most mirrorCreditCap
	a.earn(time.Hour)
	a.spend(mirrorCreditCap)
	if a.allow() {
		t.Errorf("credit %v after an hour of callers and a mirror of mirrorCreditCap, want at most the cap", time.Duration(a.credit.Load()))
	}
	// a mirror of an hour leaves at most mirrorCreditCap owed
	a.spend(time.Hour)
	a.earn(time.Duration(float64(mirrorCreditCap)/mirrorShare) + time.Microsecond)
	if !a.allow() {
		t.Errorf("credit %v after an hour-long mirror and earnings of mirrorCreditCap, want the debt bounded", time.Duration(a.credit.Load()))
	}
}
