package serve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
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
	err := s.fresh.Shutdown(ctx, hs)
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
// drains: it tracks the connections that have sent no request yet, which
// Shutdown closes instead of waiting 5 s for them (see package conns).
func (s *Server) ConnState(c net.Conn, st http.ConnState) { s.fresh.ConnState(c, st) }
