package memtrim

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Releaser hands the heap's free pages back to the kernel once a burst of
// outsized work is over. Go keeps freed heap memory mapped until its next
// collections and the background scavenger bring the heap goal down, which
// on an idle server takes minutes: one 50 MB request leaves a scoring
// server 160 MiB larger for that long. A Releaser is told the size of each
// finished request (Note); when one reached Threshold, it waits until
// no outsized request has finished for Quiet, then runs two collections
// and returns every free page (debug.FreeOSMemory) once. Two, because a
// sync.Pool keeps what was put in it through one collection: encoding/json
// pools the buffer of every Marshal, however large, so the answer quoting
// a 50 MB column name would stay pinned after a single one.
// Steady traffic of large requests thus costs one release when it stops,
// not one per request.
type Releaser struct {
	threshold int64
	quiet     time.Duration
	free      func()

	mu    sync.Mutex
	timer *time.Timer
	runs  atomic.Int64
}

// Default settings of NewReleaser's callers: requests from 4 MiB up, half
// a second of quiet.
const (
	DefaultThreshold = 4 << 20
	DefaultQuiet     = 500 * time.Millisecond
)

// NewReleaser returns a Releaser that frees after requests of at least
// threshold bytes, quiet after the last of them.
func NewReleaser(threshold int64, quiet time.Duration) *Releaser {
	return &Releaser{threshold: threshold, quiet: quiet, free: freeAll}
}

// freeAll empties the pools (their victims go at the second collection)
// and returns the free heap to the kernel.
func freeAll() {
	runtime.GC()
	debug.FreeOSMemory()
}

// Note reports a finished request that handled n bytes (its body, its
// decoded body, its answer: whatever the caller counts).
func (r *Releaser) Note(n int64) {
	if r == nil || n < r.threshold {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer == nil {
		r.timer = time.AfterFunc(r.quiet, r.release)
		return
	}
	r.timer.Reset(r.quiet)
}

func (r *Releaser) release() {
	r.free()
	r.runs.Add(1)
}

// Runs counts the releases so far.
func (r *Releaser) Runs() int64 {
	if r == nil {
		return 0
	}
	return r.runs.Load()
}

// Stop cancels a pending release.
func (r *Releaser) Stop() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil {
		r.timer.Stop()
	}
}
