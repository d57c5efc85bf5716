package serve

import (
	"fmt"
	"math/rand/v2"

	"github.com/gin-gonic/gin"
)

// A canary is a second model served under the same name that takes a
// share of the traffic: the new version of a rollout, next to the one
// being replaced. Requests pick it at random with that probability;
// requests to /v2/models/{name}/versions/{v} pick the version they name.

// InstallCanary serves m next to the main model and sends it percent (0
// to 100) of the requests. A canary already installed is replaced; it
// closes after its last request.
func (s *Server) InstallCanary(m *Model, percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("serve: canary share %d%% is not between 0 and 100", percent)
	}
	m.Name = s.opts.Name
	s.canary.install(newHandle(m, s))
	s.canaryPct.Store(int32(percent))
	return nil
}

// SetCanaryPercent changes the canary's share of the requests.
func (s *Server) SetCanaryPercent(percent int) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("serve: canary share %d%% is not between 0 and 100", percent)
	}
	s.canaryPct.Store(int32(percent))
	return nil
}

// RemoveCanary sends every request to the main model again; the canary
// closes after its last request.
func (s *Server) RemoveCanary() {
	s.canaryPct.Store(0)
	s.canary.retire()
}

// Canary returns the canary model, or nil. Its predictor must not be called.
func (s *Server) Canary() *Model {
	h := s.canary.acquire()
	if h == nil {
		return nil
	}
	defer h.release()
	return h.m
}

// route returns the handle a request for the served model goes to, with a
// reference held: the canary when version names it or, for a prediction
// (split), for its share of the requests; else the main model; nil when
// none is loaded.
func (s *Server) route(c *gin.Context, version string, split bool) *handle {
	if version != "" {
		if h := s.canary.acquire(); h != nil {
			if h.m.Version == version {
				c.Set(versionKey, version)
				return h
			}
			h.release()
		}
		return s.acquire(s.opts.Name)
	}
	if p := s.canaryPct.Load(); split && p > 0 && rand.IntN(100) < int(p) { //nolint:gosec // traffic split, not security
		if h := s.canary.acquire(); h != nil {
			c.Set(versionKey, h.m.Version)
			return h
		}
	}
	return s.acquire(s.opts.Name)
}

// versionKey holds, in a request's gin context, the version of a canary
// that answered it (metrics count the request under it).
const versionKey = "mlgate.version"

// requestVersion is the version label of a finished request.
func (s *Server) requestVersion(c *gin.Context) string {
	if v, ok := c.Get(versionKey); ok {
		if vs, ok := v.(string); ok {
			return vs
		}
	}
	return s.servedVersion()
}
