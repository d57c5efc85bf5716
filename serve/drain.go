package serve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Shutdown drains the scoring server behind hs, Kubernetes-style:
//
//  1. readiness turns false at once (Drain), so probes answer 503;
//  2. hs keeps accepting and serving requests for Options.DrainDelay, the
//     time load balancers need to see the failing probe and stop routing
//     (answers carry "Connection: close" meanwhile);
//  3. hs.Shutdown closes the listener and waits for the requests in flight;
//     connections that have not sent a request are closed (see ConnState).
//
// ctx bounds the whole drain: when it ends, the remaining connections are
// closed and ctx's error is returned. Shutdown does not close the models;
// call Close afterwards. A second signal is the caller's business (mlgate
// restores the default disposition so that it ends the process at once).
func (s *Server) Shutdown(ctx context.Context, hs *http.Server) error {
	start := time.Now()
	s.Drain()
	if d := s.opts.DrainDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	stop := make(chan struct{})
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		s.fresh.closeWhileDraining(stop)
	}()
	err := hs.Shutdown(ctx)
	close(stop)
	<-closed
	if err != nil {
		err = errors.Join(err, hs.Close())
		s.log.Warn("drain cut short: open connections closed", slog.Duration("took", time.Since(start)),
			slog.String("error", err.Error()))
		return err
	}
	s.log.Info("drained", slog.Duration("took", time.Since(start)))
	return nil
}

// ConnState is the http.Server ConnState hook of a server that Shutdown
// drains: it tracks the connections that were accepted but have sent no
// request yet. http.Server.Shutdown waits 5 s before it counts such a
// connection as idle, so a load balancer that opens connections ahead of
// need would hold every drain for 5 s; Shutdown closes them instead.
func (s *Server) ConnState(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		s.fresh.add(c)
	case http.StateActive, http.StateClosed, http.StateHijacked:
		s.fresh.remove(c)
	}
}

// freshConns are connections with no request yet, and when they came.
type freshConns struct {
	n     atomic.Int64 // len(conns), read without the lock
	mu    sync.Mutex
	conns map[net.Conn]time.Time
}

func (f *freshConns) add(c net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		f.conns = map[net.Conn]time.Time{}
	}
	f.conns[c] = time.Now()
	f.n.Store(int64(len(f.conns)))
}

// remove forgets c; the common case (no fresh connection) takes no lock.
func (f *freshConns) remove(c net.Conn) {
	if f.n.Load() == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.conns, c)
	f.n.Store(int64(len(f.conns)))
}

// freshGrace is how long a connection may stay without a request once the
// drain closed the listener: a request already on its way gets through.
const freshGrace = 50 * time.Millisecond

// closeWhileDraining closes, until stop, every connection that has been
// without a request for freshGrace.
func (f *freshConns) closeWhileDraining(stop <-chan struct{}) {
	t := time.NewTicker(freshGrace / 2)
	defer t.Stop()
	for {
		f.closeStale(time.Now())
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func (f *freshConns) closeStale(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c, since := range f.conns {
		if now.Sub(since) >= freshGrace {
			_ = c.Close()
			delete(f.conns, c)
		}
	}
	f.n.Store(int64(len(f.conns)))
}
