package app

import (
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/secure"
)

// Security configures the security middleware (internal/secure) of a
// server: MLflow's Host and Origin protections and security headers.
type Security struct {
	// Disabled turns the middleware off (--disable-security-middleware).
	Disabled bool
	// AllowedHosts are the Host headers accepted (--allowed-hosts); empty
	// means MLflow's defaults (loopback and private addresses).
	AllowedHosts []string
	// AllowedOrigins are the origins besides localhost that may make
	// cross-origin requests (--cors-allowed-origins).
	AllowedOrigins []string
	// XFrameOptions is the X-Frame-Options value (--x-frame-options;
	// MLflow's default SAMEORIGIN, NONE sends none).
	XFrameOptions string
}

// serverGuard is the middleware of `mlgate server`: MLflow's rules for its
// tracking server, plus same-origin state changes (the UI served by
// mlgate) let through; OPTIONS answers list the engine's routes.
func (s Security) serverGuard(e *gin.Engine) gin.HandlerFunc {
	if s.Disabled {
		return nil
	}
	routes := sync.OnceValue(func() func(string) []string {
		var rs []secure.Route
		for _, r := range e.Routes() {
			rs = append(rs, secure.Route{Method: r.Method, Path: r.Path})
		}
		return secure.RouteMethods(rs)
	})
	g := secure.New(secure.Options{
		AllowedHosts: s.AllowedHosts, AllowedOrigins: s.AllowedOrigins, XFrameOptions: s.XFrameOptions,
		NoFrameOptions: []string{secure.TraceRenderer}, Exempt: secure.ServerExempt, API: secure.ServerAPI,
		Methods: func(p string) []string { return routes()(p) }, SameOrigin: true,
	})
	return func(c *gin.Context) {
		if !g.Check(c.Writer, c.Request) {
			c.Abort()
		}
	}
}

// serveGuard is the middleware of `mlgate models serve`: MLflow's scoring
// server has none, so it is on only when hosts or origins are configured;
// then every POST is an API call and the health routes are exempt.
func (s Security) serveGuard() *secure.Guard {
	if s.Disabled || (len(s.AllowedHosts) == 0 && len(s.AllowedOrigins) == 0) {
		return nil
	}
	return secure.New(secure.Options{
		AllowedHosts: s.AllowedHosts, AllowedOrigins: s.AllowedOrigins, XFrameOptions: s.XFrameOptions,
		Exempt: []string{"/ping", "/health", "/v2/health/live", "/v2/health/ready"}, API: []string{"/"}, SameOrigin: true,
	})
}

// guarded is h behind g (h itself when g is nil).
func guarded(g *secure.Guard, h http.Handler) http.Handler {
	if g == nil {
		return h
	}
	return g.Wrap(h)
}
