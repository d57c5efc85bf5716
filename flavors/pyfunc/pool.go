package pyfunc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/mlgate/mlgate/flavors"
)

// Restart backoff bounds: the delay doubles from backoffMin up to
// backoffMax and resets once a worker has lived for backoffReset.
const (
	backoffMin   = 100 * time.Millisecond
	backoffMax   = 10 * time.Second
	backoffReset = 30 * time.Second
)

// pool supervises N workers and hands requests to idle ones.
type pool struct {
	sp          spec
	log         *slog.Logger
	hangTimeout time.Duration
	metrics     *metrics

	idle   chan *worker // idle, live workers (the first free one is the least busy)
	closed chan struct{}
	cancel context.CancelFunc // ends every worker's process context
	wg     sync.WaitGroup

	mu      sync.Mutex
	current []*worker // per slot, the live worker or nil
	lastErr error     // the last death or restart failure
	closing bool
}

// newPool starts n workers and waits until all are ready. On failure every
// started worker is stopped and the first error returned.
func newPool(ctx context.Context, sp spec, n int, hangTimeout time.Duration, log *slog.Logger, m *metrics) (*pool, error) {
	if n <= 0 {
		n = 1
	}
	life, cancel := context.WithCancel(context.Background())
	p := &pool{
		sp: sp, log: log, hangTimeout: hangTimeout, metrics: m,
		idle: make(chan *worker, n), closed: make(chan struct{}), cancel: cancel,
		current: make([]*worker, n),
	}
	type started struct {
		slot int
		w    *worker
		err  error
	}
	res := make(chan started, n)
	for i := range n {
		go func() {
			t0 := time.Now()
			w, err := startWorker(life, ctx, sp, i, log)
			m.started(err == nil, time.Since(t0).Seconds())
			res <- started{i, w, err}
		}()
	}
	var errs []error
	for range n {
		s := <-res
		if s.err != nil {
			errs = append(errs, s.err)
			continue
		}
		p.current[s.slot] = s.w
	}
	if len(errs) > 0 {
		for _, w := range p.current {
			if w != nil {
				w.kill()
			}
		}
		cancel()
		return nil, errs[0]
	}
	for i, w := range p.current {
		p.idle <- w
		p.wg.Add(1)
		go p.supervise(life, i, w)
	}
	return p, nil
}

// supervise restarts the worker of one slot whenever it dies, until the
// pool closes.
func (p *pool) supervise(ctx context.Context, slot int, w *worker) {
	defer p.wg.Done()
	backoff := backoffMin
	for {
		born := time.Now()
		select {
		case <-w.proc.Done():
		case <-ctx.Done():
			return
		}
		p.mu.Lock()
		p.current[slot] = nil
		closing := p.closing
		p.mu.Unlock()
		if closing {
			return
		}
		death := w.proc.ExitError(10)
		p.metrics.death(strconv.Itoa(slot))
		p.log.Error("worker died; restarting it", slog.Int("worker", slot), slog.Int("pid", w.proc.Pid()), slog.Any("reason", death))
		p.setLastErr(fmt.Errorf("worker %d (pid %d) died: %w", slot, w.proc.Pid(), death))
		if time.Since(born) > backoffReset {
			backoff = backoffMin
		}
		for {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			backoff = min(backoff*2, backoffMax)
			t0 := time.Now()
			nw, err := startWorker(ctx, ctx, p.sp, slot, p.log)
			p.metrics.started(err == nil, time.Since(t0).Seconds())
			p.metrics.restart(err == nil)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				p.log.Error("worker restart failed", slog.Int("worker", slot), slog.Any("err", err), slog.Duration("retry_in", backoff))
				p.setLastErr(err)
				continue
			}
			p.mu.Lock()
			if p.closing {
				p.mu.Unlock()
				nw.kill()
				return
			}
			p.current[slot] = nw
			p.mu.Unlock()
			w = nw
			p.idle <- w
			break
		}
	}
}

func (p *pool) setLastErr(err error) {
	p.mu.Lock()
	p.lastErr = err
	p.mu.Unlock()
}

// alive counts live workers.
func (p *pool) alive() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, w := range p.current {
		if w != nil && !w.proc.Exited() {
			n++
		}
	}
	return n
}

// acquire takes an idle live worker, waiting while all are busy or
// restarting.
func (p *pool) acquire(ctx context.Context) (*worker, error) {
	for {
		select {
		case w := <-p.idle:
			if w.proc.Exited() {
				continue // died while idle; supervision replaces it
			}
			return w, nil
		case <-p.closed:
			return nil, &unavailableError{msg: "the model is shutting down"}
		case <-ctx.Done():
			if p.alive() == 0 {
				p.mu.Lock()
				last := p.lastErr
				p.mu.Unlock()
				if last != nil {
					return nil, &unavailableError{msg: fmt.Sprintf("no live worker: %v", last)}
				}
			}
			return nil, ctx.Err()
		}
	}
}

// accept says whether every worker announced the optional frame kind
// (workers of one pool run the same program, so restarted ones do too).
func (p *pool) accept(kind byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.current {
		if w == nil || !w.info.accepts(kind) {
			return false
		}
	}
	return len(p.current) > 0
}

// predict sends a request frame to an idle worker and returns its answer
// frame. A worker that dies while it holds the request (the process exits
// or its stream breaks, not a model error and not a timeout) costs the
// request nothing: it is sent once more, to the next idle worker or the
// replacement, within the same deadline.
func (p *pool) predict(ctx context.Context, kind byte, body []byte) (frame, error) {
	f, err := p.predictOnce(ctx, kind, body)
	var ue *unavailableError
	if err == nil || !errors.As(err, &ue) || !ue.died || ctx.Err() != nil {
		return f, err
	}
	p.metrics.retry()
	p.log.Warn("worker died with a request; sending it again", slog.String("reason", ue.msg))
	return p.predictOnce(ctx, kind, body)
}

// predictOnce sends a request frame to an idle worker and returns its
// answer frame.
func (p *pool) predictOnce(ctx context.Context, kind byte, body []byte) (frame, error) {
	w, err := p.acquire(ctx)
	if err != nil {
		return frame{}, err
	}
	return w.call(ctx, kind, body, p.hangTimeout, func(reusable bool) {
		if reusable && !w.proc.Exited() {
			select {
			case p.idle <- w:
			default: // cannot happen: one slot per worker
			}
		}
	})
}

// close stops every worker gracefully, then kills what is left.
func (p *pool) close(ctx context.Context) {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		return
	}
	p.closing = true
	ws := append([]*worker(nil), p.current...)
	p.mu.Unlock()
	close(p.closed)
	var wg sync.WaitGroup
	for _, w := range ws {
		if w == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.stop(ctx)
		}()
	}
	wg.Wait()
	p.cancel() // kills workers being (re)started
	p.wg.Wait()
}

// decodeAnswer turns a worker's answer frame into an Output or an error.
func decodeAnswer(f frame) (*flavors.Output, error) {
	switch f.kind {
	case frameOK, frameUnwrapped:
		return &flavors.Output{JSON: f.body}, nil
	case frameError:
		we := decodeError(f.body)
		switch we.Code {
		case "BAD_REQUEST", "INVALID_PARAMETER_VALUE":
			we.badInput = flavors.ErrBadInput
		}
		return nil, we
	default:
		return nil, fmt.Errorf("%w: unknown answer frame type %q", ErrProtocol, f.kind)
	}
}

var errClosed = errors.New("predictor is closed")
