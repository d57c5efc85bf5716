// Package conns closes, during a graceful shutdown, the connections that
// were accepted but have sent no request. http.Server.Shutdown waits 5 s
// before it counts such a connection as idle, so a load balancer or client
// pool that opens connections ahead of need would hold every drain for 5 s.
//
// Install Fresh.ConnState as the http.Server's ConnState hook and wrap
// Shutdown in Fresh.Shutdown.
package conns

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Grace is how long a connection may stay without a request once the
// shutdown has closed the listener: a request already on its way gets
// through.
const Grace = 50 * time.Millisecond

// Fresh tracks connections with no request yet. The zero value is ready.
type Fresh struct {
	n     atomic.Int64 // len(conns), read without the lock
	mu    sync.Mutex
	conns map[net.Conn]time.Time // when each came
}

// ConnState is the http.Server ConnState hook.
func (f *Fresh) ConnState(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		f.add(c)
	case http.StateActive, http.StateClosed, http.StateHijacked:
		f.remove(c)
	}
}

func (f *Fresh) add(c net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		f.conns = map[net.Conn]time.Time{}
	}
	f.conns[c] = time.Now()
	f.n.Store(int64(len(f.conns)))
}

// remove forgets c; the common case (no fresh connection) takes no lock.
func (f *Fresh) remove(c net.Conn) {
	if f.n.Load() == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.conns, c)
	f.n.Store(int64(len(f.conns)))
}

// Shutdown runs hs.Shutdown(ctx) and meanwhile closes every connection
// that has been without a request for Grace.
func (f *Fresh) Shutdown(ctx context.Context, hs *http.Server) error {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(Grace / 2)
		defer t.Stop()
		for {
			f.closeStale(time.Now())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	err := hs.Shutdown(ctx)
	close(stop)
	<-done
	return err
}

func (f *Fresh) closeStale(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c, since := range f.conns {
		if now.Sub(since) >= Grace {
			_ = c.Close()
			delete(f.conns, c)
		}
	}
	f.n.Store(int64(len(f.conns)))
}
