package serve

import (
	"math"
	"sync/atomic"
	"time"
)

// limiter adapts how many predictions may run at once, between 1 and the
// size of the slot semaphore, to the concurrency the load needs (Little's
// law: the mean number of predictions running is the arrival rate times
// the time each takes), with a quarter of headroom: a limit that is more
// than 80% used grows by the next tick, a mostly idle one shrinks.
//
// Why not always run as many as there are cores: ONNX Runtime calls that
// run side by side slow each other down (on the 2-CPU bench machine a
// linear model's server CPU per request fell 13-17% with one prediction at
// a time, docs/serving.md), which only pays off when the predictions are
// long enough to need the cores. A fixed --max-concurrency turns this off.
//
// The limit is enforced with the slot semaphore itself: the controller
// holds reserved tokens in it, so acquiring a slot stays one channel send.
// Only the controller goroutine touches reserved.
type limiter struct {
	slots    chan struct{}
	max      int
	reserved int
	// busy is the prediction time, in nanoseconds, spent since the last
	// tick by predictions that ended since: each counts from its start or
	// the last tick, whichever is later. Predictions still running at a
	// tick count for the whole period there (running), so that one long
	// prediction raises the limit while it runs instead of holding the
	// only slot until it ends.
	busy    atomic.Int64
	running atomic.Int64
	tickAt  atomic.Int64 // the last tick, Unix ns
	limit   atomic.Int64
	quit    chan struct{}
}

// limitHeadroom is the utilisation the limit aims at, inverted (1/0.8).
const limitHeadroom = 1.25

// limitTick is how often the limit is recomputed.
const limitTick = 100 * time.Millisecond

func newLimiter(slots chan struct{}) *limiter {
	l := &limiter{slots: slots, max: cap(slots), quit: make(chan struct{})}
	l.limit.Store(int64(l.max))
	l.tickAt.Store(time.Now().UnixNano())
	return l
}

// begin records that a prediction started.
func (l *limiter) begin() {
	if l != nil {
		l.running.Add(1)
	}
}

// end records that a prediction that started at start ended now.
func (l *limiter) end(start, now time.Time) {
	if l != nil {
		from := max(start.UnixNano(), l.tickAt.Load())
		l.busy.Add(max(now.UnixNano()-from, 0))
		l.running.Add(-1)
	}
}

// run recomputes the limit every tick until stop.
func (l *limiter) run() {
	t := time.NewTicker(limitTick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-l.quit:
			return
		case now := <-t.C:
			l.adjust(now.Sub(last))
			last = now
		}
	}
}

func (l *limiter) stop() { close(l.quit) }

// target is the limit for a mean of running predictions.
func (l *limiter) target(running float64) int {
	n := int(math.Ceil(running * limitHeadroom))
	return min(max(n, 1), l.max)
}

// adjust moves the limit towards the target for the last period: it
// reserves free slots (never waiting for one) to lower it and hands
// reserved ones back to raise it.
func (l *limiter) adjust(period time.Duration) {
	if period <= 0 {
		return
	}
	l.tickAt.Store(time.Now().UnixNano())
	busy := l.busy.Swap(0) + l.running.Load()*int64(period)
	want := l.target(float64(busy) / float64(period))
	for l.max-l.reserved > want {
		select {
		case l.slots <- struct{}{}:
			l.reserved++
			continue
		default:
		}
		break
	}
	for l.max-l.reserved < want && l.reserved > 0 {
		<-l.slots
		l.reserved--
	}
	l.limit.Store(int64(l.max - l.reserved))
}
