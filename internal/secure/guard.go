package secure

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// MLflow's answers.
const (
	// InvalidHost is the body of the 403 for a Host that is not allowed.
	InvalidHost = "Invalid Host header - possible DNS rebinding attack detected"
	// CrossOriginBlocked is the body of the 403 for a cross-origin state
	// change.
	CrossOriginBlocked = "Cross-origin request blocked"
	// DisallowedOrigin is the body of the 400 for a preflight from an
	// origin that is not allowed.
	DisallowedOrigin = "Disallowed CORS origin"
)

// Options configure a Guard. The zero value is MLflow's default
// configuration without X-Frame-Options.
type Options struct {
	// AllowedHosts are the Host headers accepted: exact strings, or
	// fnmatch patterns when they hold a * ("*" alone turns the check off).
	// Empty means MLflow's defaults: localhost, 127.0.0.1, [::1] and
	// 0.0.0.0 with any port, and private-range IP addresses.
	AllowedHosts []string
	// AllowedOrigins are the origins, besides localhost ones, that may
	// make cross-origin requests (exact, or fnmatch patterns with a *).
	// "*" allows every origin without credentials and turns the
	// cross-origin refusal off.
	AllowedOrigins []string
	// XFrameOptions is the X-Frame-Options value (upper-cased); empty or
	// "NONE" sends none. MLflow's default is SAMEORIGIN.
	XFrameOptions string
	// NoFrameOptions are path prefixes answered without X-Frame-Options
	// (pages meant to be embedded).
	NoFrameOptions []string
	// Exempt are the paths whose Host is not checked (MLflow: /health and
	// /version).
	Exempt []string
	// API are the path prefixes where cross-origin state changes are
	// refused and OPTIONS is answered 204 (MLflow: /api/ and /ajax-api/);
	// "/" covers every path.
	API []string
	// Methods returns the methods routed at a path, for the Allow header
	// of a non-preflight OPTIONS request to an API path; nil (or no
	// methods) leaves such requests to the handler.
	Methods func(path string) []string
	// SameOrigin lets a state change through when its Origin names the
	// Host it was sent to (a page served by this server). MLflow refuses
	// such requests unless the origin is localhost or listed.
	SameOrigin bool
}

// Guard applies Options to requests.
type Guard struct {
	o          Options
	anyHost    bool
	anyOrigin  bool
	frameVal   []string // the X-Frame-Options value, nil for none
	allowMeths string
}

// nosniff is the X-Content-Type-Options value of every answer.
var nosniff = []string{"nosniff"}

// New builds a Guard.
func New(o Options) *Guard {
	g := &Guard{o: o}
	g.anyHost = slices.Contains(o.AllowedHosts, "*")
	g.anyOrigin = slices.Contains(o.AllowedOrigins, "*")
	if f := strings.ToUpper(strings.TrimSpace(o.XFrameOptions)); f != "" && f != "NONE" {
		g.frameVal = []string{f}
	}
	g.allowMeths = "GET, POST, PUT, DELETE, OPTIONS, PATCH"
	if g.anyOrigin {
		g.allowMeths = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
	}
	return g
}

// Wrap returns next behind the guard.
func (g *Guard) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Check(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// Check applies the guard to r: it either answers r itself (a refusal, a
// preflight, an OPTIONS request) and returns false, or sets the answer's
// headers and returns true for the handler to answer.
func (g *Guard) Check(w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	if !g.hostAllowed(r.Host) && !slices.Contains(g.o.Exempt, path) {
		plain(w, http.StatusForbidden, InvalidHost)
		return false
	}
	origin := r.Header.Get("Origin")
	h := w.Header()
	if origin != "" {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			g.preflight(w, r, origin)
			return false
		}
		if g.corsAllowed(origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			if g.anyOrigin {
				h.Set("Access-Control-Allow-Origin", "*")
			}
		}
		if !g.anyOrigin {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		h.Set("Access-Control-Expose-Headers", "*")
		h.Add("Vary", "Origin")
	}
	api := g.api(path)
	if api && origin != "" && g.blocked(origin, r.Method, r.Host) {
		plain(w, http.StatusForbidden, CrossOriginBlocked)
		return false
	}
	// Set without h.Set: the keys are canonical and the values shared (a
	// later Set or Add on them replaces or copies the slice).
	h["X-Content-Type-Options"] = nosniff
	if g.frameVal != nil && !g.frameExempt(path) {
		h["X-Frame-Options"] = g.frameVal
	}
	if api && r.Method == http.MethodOptions && g.o.Methods != nil {
		if m := g.o.Methods(path); len(m) > 0 {
			h.Set("Allow", strings.Join(append(slices.Clone(m), http.MethodOptions), ", "))
			w.WriteHeader(http.StatusNoContent)
			return false
		}
	}
	return true
}

// preflight answers a CORS preflight as MLflow's CORS layer does.
func (g *Guard) preflight(w http.ResponseWriter, r *http.Request, origin string) {
	h := w.Header()
	h.Set("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network")
	h.Set("Access-Control-Allow-Methods", g.allowMeths)
	h.Set("Access-Control-Max-Age", "600")
	if !g.anyOrigin {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	if !g.corsAllowed(origin) {
		plain(w, http.StatusBadRequest, DisallowedOrigin)
		return
	}
	if g.anyOrigin {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("OK"))
}

func (g *Guard) hostAllowed(host string) bool {
	if g.anyHost {
		return true
	}
	if host == "" {
		return false
	}
	if len(g.o.AllowedHosts) == 0 {
		return defaultHost(host)
	}
	return matchAny(g.o.AllowedHosts, host)
}

// corsAllowed reports whether origin gets CORS headers: a localhost
// origin or a listed one.
func (g *Guard) corsAllowed(origin string) bool {
	return g.anyOrigin || corsLocal(origin) || slices.Contains(g.o.AllowedOrigins, origin)
}

// blocked is MLflow's cross-origin refusal: a state-changing method from
// an origin that is neither localhost nor allowed.
func (g *Guard) blocked(origin, method, host string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch:
	default:
		return false
	}
	if g.anyOrigin || localOrigin(origin) || matchAny(g.o.AllowedOrigins, origin) {
		return false
	}
	return !g.o.SameOrigin || !sameOrigin(origin, host)
}

func (g *Guard) api(path string) bool {
	for _, p := range g.o.API {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func (g *Guard) frameExempt(path string) bool {
	for _, p := range g.o.NoFrameOptions {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// plain writes a text/plain answer with only the headers MLflow sends on
// its refusals.
func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
