package auth

import (
	"context"
	"net"
	"sync/atomic"
	"time"
)

// A connection's sign-in: the Authorization header its last signed-in
// request carried and the user that header signed in. A client sends the
// same header on every request of a keep-alive connection, so the next
// request with that exact header is the same user without decoding and
// hashing it again; any other header (a proxy multiplexing users on one
// connection, a new password) takes the full path.
//
// It is trusted exactly as long as the credentials cache entry it copies:
// while no user changed on this server (the cache's generation) and for
// refreshAfter since the entry was checked against the store, so a
// password changed or a user deleted is seen as soon as without it. The
// header stays in memory while the connection is open, as it does in the
// request that carried it until collected; the credentials cache keeps
// only a hash.
type signIn struct {
	header string
	user   *User
	gen    uint64        // the credentials cache's generation when read
	at     time.Duration // when the cache entry was kept
}

// conn is a connection's memory: its last sign-in (an atomic pointer to an
// immutable value, since HTTP/2 serves a connection's streams at once).
type conn struct{ last atomic.Pointer[signIn] }

type connKey struct{}

// ConnContext gives each connection its memory; internal/app sets it as
// the http.Server's ConnContext. Without it (a handler served by
// httptest, say) every request takes the full path.
func (a *App) ConnContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, new(conn))
}

// connOf returns the memory of the connection a request came on, or nil.
func connOf(ctx context.Context) *conn {
	c, _ := ctx.Value(connKey{}).(*conn)
	return c
}

// remembered returns the user of the connection's last sign-in when header
// is the header it carried and the sign-in is still current.
func (a *App) remembered(c *conn, header string) (*User, bool) {
	if c == nil {
		return nil, false
	}
	s := c.last.Load()
	if s == nil || s.header != header || !a.creds.current(s.gen, s.at) {
		return nil, false
	}
	return s.user, true
}

// remember keeps a sign-in on the connection.
func (c *conn) remember(header string, u *User, gen uint64, at time.Duration) {
	if c != nil {
		c.last.Store(&signIn{header: header, user: u, gen: gen, at: at})
	}
}
