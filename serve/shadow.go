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
// answers are compared. The canary's answer is never returned; mirrors
// wait in a bounded queue and are dropped (and counted) when it is full,
// so that the caller never waits for the canary.

// shadow is the server's mirroring state.
type shadow struct {
	pct   atomic.Int32
	queue chan shadowJob
	tol   float64

	start  sync.Once
	ctx    context.Context //nolint:containedctx // the workers' lifetime, cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// shadowJob is one mirrored prediction: the input the main model answered
// and its output.
type shadowJob struct {
	in      *flavors.Input
	primary *flavors.Output
}

func newShadow(o Options) *shadow {
	ctx, cancel := context.WithCancel(context.Background())
	return &shadow{queue: make(chan shadowJob, o.ShadowQueue), tol: o.ShadowTolerance, ctx: ctx, cancel: cancel}
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
// for the canary; it never blocks. Only the main model's answers are
// mirrored.
func (s *Server) mirror(h *handle, in *flavors.Input, out *flavors.Output) {
	p := int(s.shadow.pct.Load())
	if p <= 0 || (p < 100 && rand.IntN(100) >= p) { //nolint:gosec // sampling, not security
		return
	}
	ch := s.canary.cur.Load()
	if ch == nil || ch == h {
		return
	}
	select {
	case s.shadow.queue <- shadowJob{in: in, primary: out}:
	default:
		s.metrics.shadowDropped.WithLabelValues(s.opts.Name, ch.m.Version).Inc()
	}
}

func (s *Server) shadowWorker() {
	defer s.shadow.wg.Done()
	for {
		select {
		case <-s.shadow.ctx.Done():
			return
		case job := <-s.shadow.queue:
			s.runShadow(job)
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
		same, err = sameOutputs(job.primary, out, s.shadow.tol)
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
