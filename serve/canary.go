package serve

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"

	"github.com/gin-gonic/gin"
)

// A canary is a second model served under the same name that takes a
// share of the traffic: the new version of a rollout, next to the one
// being replaced. Requests pick it with that probability, or, with
// Options.RouteKeyHeader, by a hash of the header's value, so that one
// key always lands on one version (on every replica); requests to
// /v2/models/{name}/versions/{v} pick the version they name.

// VersionHeader names, on every prediction answer, the version of the
// model that produced it.
const VersionHeader = "MLgate-Model-Version"

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

// PromoteCanary makes the canary the main model as it is, without loading
// it again: every request goes to it from now on and the old main model
// closes after its last request. It reports false (and changes nothing)
// when there is no canary.
func (s *Server) PromoteCanary() bool {
	s.canaryPct.Store(0)
	h := s.canary.cur.Swap(nil) // the slot's reference moves to the main slot
	if h == nil {
		return false
	}
	s.installHandle(h)
	return true
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
	if p := int(s.canaryPct.Load()); split && p > 0 && s.toCanary(c, p) {
		if h := s.canary.acquire(); h != nil {
			c.Set(versionKey, h.m.Version)
			return h
		}
	}
	return s.acquire(s.opts.Name)
}

// toCanary decides whether a prediction goes to a canary taking percent
// of the requests: by the bucket of its route key when the request has
// one, else at random.
func (s *Server) toCanary(c *gin.Context, percent int) bool {
	if s.opts.RouteKeyHeader != "" {
		if key := c.GetHeader(s.opts.RouteKeyHeader); key != "" {
			return RouteBucket(key) < percent
		}
	}
	return rand.IntN(100) < percent //nolint:gosec // traffic split, not security
}

// RouteBucket is the bucket, 0 to 99, of a route key: its 32-bit FNV-1a
// hash modulo 100. A key goes to a canary whose share is above its bucket,
// so a key stays on the canary once it got there while the share grows,
// and every replica sends it the same way.
func RouteBucket(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % 100)
}

// answeredBy records that h answers the prediction of c: metrics count it
// under h's version and the answer names it in VersionHeader.
func (s *Server) answeredBy(c *gin.Context, h *handle) {
	c.Set(versionKey, h.m.Version)
	if h.m.Version != "" {
		c.Header(VersionHeader, h.m.Version)
	}
}

// versionKey holds, in a request's gin context, the version of the model
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
