package secure

import (
	"net/http"
	"slices"
	"strings"
)

// Route is a routed method and path pattern (":name" matches one segment,
// "*name" the rest of the path), as web routers list them.
type Route struct {
	Method, Path string
}

// MLflow's paths.
var (
	// ServerExempt are the paths MLflow's tracking server answers whatever
	// the Host.
	ServerExempt = []string{"/health", "/version"}
	// ServerAPI are the path prefixes of MLflow's REST API.
	ServerAPI = []string{"/api/", "/ajax-api/"}
	// TraceRenderer is the prefix of pages MLflow lets notebooks embed
	// (no X-Frame-Options).
	TraceRenderer = "/static-files/lib/notebook-trace-renderer"
)

// RouteMethods returns Options.Methods for a route table: the methods of
// the routes whose pattern matches the path (HEAD excluded), sorted.
func RouteMethods(routes []Route) func(string) []string {
	return func(path string) []string {
		var out []string
		for _, rt := range routes {
			if rt.Method == http.MethodHead || rt.Method == http.MethodOptions || !routeMatch(rt.Path, path) {
				continue
			}
			dup := false
			for _, m := range out {
				dup = dup || m == rt.Method
			}
			if !dup {
				out = append(out, rt.Method)
			}
		}
		slices.Sort(out)
		return out
	}
}

// routeMatch reports whether path matches a route pattern.
func routeMatch(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	for i, p := range ps {
		if strings.HasPrefix(p, "*") {
			return true
		}
		if i >= len(xs) {
			return false
		}
		if strings.HasPrefix(p, ":") {
			if xs[i] == "" {
				return false
			}
			continue
		}
		if p != xs[i] {
			return false
		}
	}
	return len(ps) == len(xs)
}
