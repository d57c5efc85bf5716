package serve

import (
	"sync/atomic"
	"time"
)

// Mirror admission at saturation. Waiting for a quiet moment is not enough
// on a saturated server: a closed loop of callers always has one about to
// arrive, so every mirror started in a gap takes CPU from the next caller
// (on the 2-CPU bench machine half the mirrors still ran that way at 16
// callers, and the callers lost 8-12% of their throughput). So the server
// also tracks whether it is saturated: more than saturatedShare of its
// recent callers found it full, that is found the other callers in flight
// filling its concurrency limit, or found another caller in flight while
// the CPUs were short (some task waiting for one, admit_pressure.go: a
// load generator or another process on the same machine takes the CPU a
// free slot suggests, and a mirror run beside a caller then delays it; on
// the 2-CPU bench machine 16 callers in a closed loop seldom fill even one
// slot, but a third of them find another in flight, a caller at a fixed
// 200 per second seldom does, and one caller at a time never). While saturated,
// mirrors run on a budget: their time is kept under mirrorShare of the
// time the callers' own predictions take, earned as those end. Below
// capacity the budget is not used and every mirror runs.

// Tuning of the admission.
const (
	// mirrorShare is the mirrors' time allowed per unit of the callers'
	// prediction time while the server is saturated.
	mirrorShare = 0.1
	// mirrorCreditCap bounds the credit saved while mirrors are not
	// spending it, and the debt a long mirror leaves.
	mirrorCreditCap = time.Millisecond
	// saturatedWeight is how many callers the busy share averages over
	// (an exponentially weighted mean, each caller weighing 1/saturatedWeight).
	saturatedWeight = 64
	// saturatedShare is the busy share above which the server counts as
	// saturated.
	saturatedShare = 0.15
	// saturatedHold is how long the server still counts as saturated
	// after the busy share fell back (the share of a closed loop hovers
	// around saturatedShare).
	saturatedHold = 250 * time.Millisecond
	// saturatedForget: after a pause this long without callers, the
	// server no longer counts as saturated.
	saturatedForget = time.Second
	// busyScale is the fixed-point scale of the busy share.
	busyScale = 1 << 20
)

// admission holds the saturation estimate and the mirrors' budget.
type admission struct {
	// busy is the recent share of callers that found the server full,
	// scaled by busyScale.
	busy   atomic.Int64
	lastAt atomic.Int64 // the last caller sampled, Unix ns
	// heldTo is when the server stops counting as saturated, Unix ns,
	// saturatedHold after the busy share was last above saturatedShare.
	heldTo atomic.Int64
	// credit is the mirror time, in nanoseconds, still allowed at
	// saturation (negative after a mirror longer than what was earned).
	credit atomic.Int64
}

// sample records one caller answered at now, full when it found the
// server full (see mirror), and says whether the server counts as
// saturated: more than saturatedShare of the recent callers found it full,
// or did so less than saturatedHold ago.
func (a *admission) sample(full bool, now time.Time) bool {
	at := now.UnixNano()
	forget := time.Duration(at-a.lastAt.Swap(at)) > saturatedForget
	var target int64
	if full {
		target = busyScale
	}
	for {
		cur := a.busy.Load()
		old := cur
		if forget {
			old = 0
		}
		v := old + (target-old)/saturatedWeight
		if a.busy.CompareAndSwap(cur, v) {
			break
		}
	}
	if a.saturated() {
		a.heldTo.Store(at + int64(saturatedHold))
		return true
	}
	return !forget && at < a.heldTo.Load()
}

// saturated says whether the busy share is above saturatedShare.
func (a *admission) saturated() bool { return float64(a.busy.Load()) > busyScale*saturatedShare }

// earn adds the budget a caller's prediction that took d earns mirrors.
func (a *admission) earn(d time.Duration) {
	add := int64(float64(d) * mirrorShare)
	for {
		old := a.credit.Load()
		if old >= int64(mirrorCreditCap) {
			return
		}
		if a.credit.CompareAndSwap(old, min(old+add, int64(mirrorCreditCap))) {
			return
		}
	}
}

// spend takes the time a mirror took from the budget.
func (a *admission) spend(d time.Duration) {
	for {
		old := a.credit.Load()
		if a.credit.CompareAndSwap(old, max(old-int64(d), -int64(mirrorCreditCap))) {
			return
		}
	}
}

// allow says whether the budget lets one more mirror run.
func (a *admission) allow() bool { return a.credit.Load() > 0 }
