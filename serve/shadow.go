package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlgate/mlgate/flavors"
)

// Shadow traffic: a share of the predictions the main model answers is
// mirrored to the canary once the caller's answer is written, and the two
// answers are compared. The canary's answer is never returned, and
// mirrors yield to callers: a mirror runs only while the server has spare
// capacity, that is while fewer requests are being answered than
// predictions it lets run at once now (its adaptive concurrency limit,
// which follows what the load needs, at most the CPUs or the flavor's
// workers; a fixed MaxConcurrency otherwise). A mirror made while the
// server is busier than that and other mirrors already wait is dropped at
// once; a queued one waits up to shadowMaxWait for a quieter moment, then
// is dropped. A saturated server (admit.go: many recent callers found no
// spare capacity, or found another caller in flight while the CPUs were
// short) also runs mirrors on a budget, a tenth of the time its
// callers' predictions take, and drops the rest. A server below its
// capacity runs every mirror. Mirrors also wait in a bounded queue and
// are dropped when it is full. Every drop is counted with its reason, so
// that a busy server sheds its mirrors instead of slowing its callers,
// and says so.

// Reasons a mirror was dropped (label "reason" of
// mlgate_serve_shadow_dropped_total).
const (
	ShadowDroppedQueueFull = "queue_full" // the shadow queue was full
	ShadowDroppedBusy      = "busy"       // no spare capacity, or saturated with the mirrors' budget spent
)

// shadowMaxWait is how long a queued mirror waits for the server to have
// spare capacity before it is dropped.
const shadowMaxWait = time.Second

// shadow is the server's mirroring state.
type shadow struct {
	pct   atomic.Int32
	queue chan shadowJob
	tol   float64

	// callers counts the requests being answered (between the start and
	// the end of observe); mirrors run only while it is below spare().
	callers atomic.Int64
	spare   func() int64
	maxWait time.Duration
	// waiting is set while a worker waits for spare capacity; a caller
	// that leaves then signals idle.
	waiting atomic.Bool
	idle    chan struct{}
	// adm says whether the server is saturated and holds the mirrors'
	// budget there (admit.go).
	adm admission
	cpu *pressure // nil without a CPU pressure signal (admit_pressure.go)

	start  sync.Once
	ctx    context.Context //nolint:containedctx // the workers' lifetime, cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// shadowJob is one mirrored prediction: the input the main model answered
// and its output.
type shadowJob struct {
	in       *flavors.Input
	primary  *flavors.Output
	rendered []byte // primary as renderPredictions renders it, when the caller's answer was that
	at       time.Time
	budgeted bool // admitted at saturation: its time is taken from the budget
}

// newShadow builds the mirroring state; spare is how many callers in
// flight leave no spare capacity.
func newShadow(o Options, spare func() int64) *shadow {
	ctx, cancel := context.WithCancel(context.Background())
	return &shadow{queue: make(chan shadowJob, o.ShadowQueue), tol: o.ShadowTolerance, ctx: ctx, cancel: cancel,
		spare: spare, maxWait: shadowMaxWait, idle: make(chan struct{}, 1), cpu: newPressure()}
}

// enter and leave bracket a request being answered.
func (sh *shadow) enter() { sh.callers.Add(1) }

func (sh *shadow) leave() {
	if n := sh.callers.Add(-1); sh.waiting.Load() && n < sh.spare() {
		select {
		case sh.idle <- struct{}{}:
		default:
		}
	}
}

// awaitSpare waits until fewer callers than spare are in flight, at most
// until deadline; false when the deadline passed first or the workers end.
// A caller that leaves below spare signals the moment, and the mirror
// runs then, even if the next caller came in before the worker woke (on
// a busy machine it would otherwise seldom wake in time).
func (sh *shadow) awaitSpare(deadline time.Time) bool {
	if sh.callers.Load() < sh.spare() {
		return true
	}
	select {
	case <-sh.idle: // a signal left from an earlier wait
	default:
	}
	sh.waiting.Store(true)
	defer sh.waiting.Store(false)
	if sh.callers.Load() < sh.spare() {
		return true // a caller left before waiting was set
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-sh.idle:
		return true
	case <-t.C:
		return sh.callers.Load() < sh.spare()
	case <-sh.ctx.Done():
		return false
	}
}

// SetShadow mirrors percent (0 to 100) of the predictions the main model
// answers to the canary; 0 turns mirroring off.
func (s *Server) SetShadow(percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("serve: shadow share %d%% is not between 0 and 100", percent)
	}
	if percent > 0 && !s.closed.Load() {
		s.shadow.start.Do(func() {
			for range s.opts.ShadowWorkers {
				s.shadow.wg.Add(1)
				go s.shadowWorker()
			}
			if cpu := s.shadow.cpu; cpu != nil {
				s.shadow.wg.Add(1)
				go func() {
					defer s.shadow.wg.Done()
					cpu.run(s.shadow.ctx.Done())
				}()
			}
		})
	}
	s.shadow.pct.Store(int32(percent))
	return nil
}

// ShadowPercent is the share of the main model's predictions mirrored.
func (s *Server) ShadowPercent() int { return int(s.shadow.pct.Load()) }

// stopShadow ends the workers after the prediction they run (cancelled),
// waiting at most the request timeout for a predictor that ignores it.
func (s *Server) stopShadow() {
	s.shadow.pct.Store(0)
	s.shadow.cancel()
	done := make(chan struct{})
	go func() {
		s.shadow.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(s.opts.Timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Warn("a shadow prediction is still running after the request timeout; not waiting for it")
	}
}

// mirror queues, for its share, a prediction that h answered with out
// (rendered, when not nil, as renderPredictions renders it) for the
// canary; it never blocks. Only the main model's answers are mirrored.
func (s *Server) mirror(h *handle, in *flavors.Input, out *flavors.Output, rendered []byte) {
	p := int(s.shadow.pct.Load())
	if p <= 0 || (p < 100 && rand.IntN(100) >= p) { //nolint:gosec // sampling, not security
		return
	}
	ch := s.canary.cur.Load()
	if ch == nil || ch == h {
		return
	}
	// the caller counts itself: full when the others alone leave no spare
	// capacity, or when the CPUs are short and another caller is being
	// answered
	now := time.Now()
	others := s.shadow.callers.Load() - 1
	noSpare := others >= s.shadow.spare()
	budgeted := s.shadow.adm.sample(noSpare || (others > 0 && s.shadow.cpu.short()), now)
	if (budgeted && !s.shadow.adm.allow()) || (noSpare && len(s.shadow.queue) > 0) {
		// saturated with the budget spent, or full with mirrors already
		// waiting for spare capacity
		s.dropShadow(ch.m.Version, ShadowDroppedBusy)
		return
	}
	select {
	case s.shadow.queue <- shadowJob{in: in, primary: out, rendered: rendered, at: now, budgeted: budgeted}:
	default:
		s.dropShadow(ch.m.Version, ShadowDroppedQueueFull)
	}
}

func (s *Server) dropShadow(version, reason string) {
	s.metrics.shadowDropped.WithLabelValues(s.opts.Name, version, reason).Inc()
}

func (s *Server) shadowWorker() {
	defer s.shadow.wg.Done()
	for {
		select {
		case <-s.shadow.ctx.Done():
			return
		case job := <-s.shadow.queue:
			if s.shadow.awaitSpare(job.at.Add(s.shadow.maxWait)) {
				s.runShadow(job)
			} else if s.shadow.ctx.Err() == nil {
				if ch := s.canary.cur.Load(); ch != nil {
					s.dropShadow(ch.m.Version, ShadowDroppedBusy)
				}
			}
		}
	}
}

// runShadow runs one mirror on the canary and counts whether it agreed
// with the main model's answer; a failed or empty answer disagrees.
func (s *Server) runShadow(job shadowJob) {
	h := s.canary.acquire()
	if h == nil {
		return // the rollout ended meanwhile
	}
	defer h.release()
	if job.budgeted {
		start := time.Now()
		defer func() { s.shadow.adm.spend(time.Since(start)) }()
	}
	ctx, cancel := context.WithTimeout(s.shadow.ctx, s.opts.Timeout)
	defer cancel()
	out, err := shadowPredict(ctx, h, job.in)
	if s.shadow.ctx.Err() != nil {
		return // closing: not a disagreement
	}
	v := h.m.Version
	s.metrics.shadowRequests.WithLabelValues(s.opts.Name, v).Inc()
	same := false
	if err == nil {
		same, err = sameOutputs(job.primary, job.rendered, out, s.shadow.tol)
	}
	if !same {
		s.metrics.shadowDisagreements.WithLabelValues(s.opts.Name, v).Inc()
		if err != nil {
			s.log.Debug("shadow prediction failed", slog.String("version", v), slog.String("error", err.Error()))
		}
	}
}

// shadowPredict calls h's predictor directly, outside the request slots
// and their metrics, turning a panic into an error.
func shadowPredict(ctx context.Context, h *handle, in *flavors.Input) (out *flavors.Output, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("predictor panicked: %v", r)
		}
	}()
	out, err = h.m.Predictor.Predict(ctx, in)
	if err == nil && out == nil {
		err = errors.New("the predictor returned no output")
	}
	return out, err
}
