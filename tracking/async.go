package tracking

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Async metric logging: LogMetricAsync queues a metric and returns at once;
// a background goroutine sends queued metrics with log-batch, up to
// MaxBatchMetrics per request and at least every asyncFlushEvery. The queue
// is bounded (asyncQueueSize); when it is full LogMetricAsync blocks until
// there is room or ctx ends, so a fast producer cannot exhaust memory.
const (
	asyncQueueSize  = 10000
	asyncFlushEvery = 200 * time.Millisecond
)

type queued struct {
	runID string
	m     Metric
	flush chan error // non-nil for a flush marker
}

type asyncLogger struct {
	c     *Client
	q     chan queued
	done  chan struct{}
	errMu sync.Mutex
	err   error // first send error since the last Flush

	mu     sync.RWMutex // guards closed against sends on a closed q
	closed bool
}

var errClosed = errors.New("tracking: client is closed")

func (a *asyncLogger) enqueue(ctx context.Context, it queued) error {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return errClosed
	}
	select {
	case a.q <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) asyncLog() *asyncLogger {
	c.asyncOnce.Do(func() {
		a := &asyncLogger{c: c, q: make(chan queued, asyncQueueSize), done: make(chan struct{})}
		go a.loop()
		c.async = a
	})
	return c.async
}

// LogMetricAsync queues a metric for the background batch logger. Errors
// from sending show up in the next Flush, SetTerminated or Close.
func (c *Client) LogMetricAsync(ctx context.Context, runID, key string, value float64, opts ...MetricOption) error {
	if err := validateRunID(runID); err != nil {
		return err
	}
	m := newMetric(key, value, opts)
	if err := validateMetric(m); err != nil {
		return err
	}
	return c.asyncLog().enqueue(ctx, queued{runID: runID, m: m})
}

// Flush waits until every metric queued by LogMetricAsync has been sent and
// returns the first error seen since the previous Flush.
func (c *Client) Flush(ctx context.Context) error {
	if c.async == nil {
		return nil
	}
	return c.async.flush(ctx)
}

func (a *asyncLogger) flush(ctx context.Context) error {
	ch := make(chan error, 1)
	if err := a.enqueue(ctx, queued{flush: ch}); err != nil {
		if errors.Is(err, errClosed) {
			return a.takeErr()
		}
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *asyncLogger) takeErr() error {
	a.errMu.Lock()
	defer a.errMu.Unlock()
	err := a.err
	a.err = nil
	return err
}

func (a *asyncLogger) close(ctx context.Context) error {
	err := a.flush(ctx)
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.q)
	}
	a.mu.Unlock()
	select {
	case <-a.done:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	return errors.Join(err, a.takeErr())
}

func (a *asyncLogger) loop() {
	defer close(a.done)
	pending := map[string][]Metric{}
	n := 0
	t := time.NewTicker(asyncFlushEvery)
	defer t.Stop()
	send := func() {
		for runID, ms := range pending {
			// A background send has no caller context; bound it instead.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			err := a.c.LogBatch(ctx, runID, ms, nil, nil)
			cancel()
			if err != nil {
				a.c.log.Warn("async metric logging failed", "run_id", runID, "metrics", len(ms), "err", err)
				a.errMu.Lock()
				if a.err == nil {
					a.err = fmt.Errorf("async metric logging for run %s: %w", runID, err)
				}
				a.errMu.Unlock()
			}
		}
		clear(pending)
		n = 0
	}
	for {
		select {
		case it, ok := <-a.q:
			if !ok {
				send()
				return
			}
			if it.flush != nil {
				send()
				it.flush <- a.takeErr()
				continue
			}
			pending[it.runID] = append(pending[it.runID], it.m)
			n++
			if n >= MaxBatchMetrics {
				send()
			}
		case <-t.C:
			if n > 0 {
				send()
			}
		}
	}
}
