package serve

import (
	"log/slog"
	"sync/atomic"

	"github.com/mlgate/mlgate/flavors"
	"github.com/mlgate/mlgate/pkgformat"
)

// Model is a loaded model ready to serve.
type Model struct {
	Name    string
	Version string
	// Meta is the parsed MLmodel (its signature drives schema enforcement).
	Meta      *pkgformat.Model
	Predictor flavors.Predictor
	// Flavor is the flavor key that loaded it; Dir its local folder.
	Flavor string
	Dir    string
}

func (m *Model) signature() *pkgformat.Signature {
	if m.Meta == nil {
		return nil
	}
	return m.Meta.Signature
}

// handle is one installed model with a reference count. The slot owns one
// reference; each request holds one while it runs. When the count drops to
// zero (the model was replaced and its last request ended) the predictor
// is closed.
type handle struct {
	m     *Model
	refs  atomic.Int64
	batch *batcher // nil when batching is off
	log   *slog.Logger
	obs   modelSeries
}

func newHandle(m *Model, s *Server) *handle {
	h := &handle{m: m, log: s.log, obs: s.metrics.modelSeries(m.Name)}
	h.refs.Store(1)
	if b, ok := m.Predictor.(flavors.Batcher); ok && b.CanBatch() &&
		s.opts.MaxBatchSize > 1 && s.opts.MaxBatchDelay > 0 {
		h.batch = newBatcher(s, h)
	}
	return h
}

// tryAcquire takes a reference unless the handle is already retired.
func (h *handle) tryAcquire() bool {
	for {
		n := h.refs.Load()
		if n <= 0 {
			return false
		}
		if h.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference; the last one closes the model.
func (h *handle) release() {
	if h.refs.Add(-1) != 0 {
		return
	}
	if h.batch != nil {
		h.batch.stop()
	}
	if err := h.m.Predictor.Close(); err != nil {
		h.log.Warn("closing model", slog.String("model", h.m.Name), slog.String("error", err.Error()))
	} else {
		h.log.Info("model closed", slog.String("model", h.m.Name), slog.String("version", h.m.Version))
	}
}

// slot holds the current handle of one model name.
type slot struct {
	cur atomic.Pointer[handle]
}

func (sl *slot) acquire() *handle {
	for {
		h := sl.cur.Load()
		if h == nil {
			return nil
		}
		if h.tryAcquire() {
			return h
		}
		// retired between Load and tryAcquire: the slot already holds a
		// newer handle (or nil); look again.
		if sl.cur.Load() == h {
			return nil
		}
	}
}

// install switches traffic to h and retires the previous handle.
func (sl *slot) install(h *handle) {
	if old := sl.cur.Swap(h); old != nil {
		old.release()
	}
}

// retire removes the current handle.
func (sl *slot) retire() {
	if old := sl.cur.Swap(nil); old != nil {
		old.release()
	}
}
