// Package ui is mlgate server's web UI: a single-page application for
// tracking (experiments, runs, metric charts, artifacts), the model registry
// and the serving dashboard, served at / from a bundle embedded in the
// binary (no CDN, works offline).
//
// The bundle in ui/dist is built from ui/web by ui/cmd/uibuild (esbuild's Go
// API, `make ui`) and committed, so `go build` needs no npm; a test rebuilds
// it and checks it matches. The UI talks to the server over HTTP only, through
// the same /ajax-api/2.0/mlflow routes MLflow's own UI calls, and uses MLflow's
// URL scheme (/#/experiments/<id>/runs/<run_id>, /#/models/<name>/versions/<v>)
// so the links the mlflow client prints open the right page.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

//go:embed all:dist
var dist embed.FS

// AssetPrefix is the URL folder of the bundle's hashed assets.
const AssetPrefix = "/static-files/"

// Mount registers GET / (the page) and the hashed assets under AssetPrefix
// on e. Who is signed in comes from the server's
// /ajax-api/2.0/mlgate/users/current (package auth).
func Mount(e *gin.Engine) {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embedded folder is fixed at build time
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		panic(err)
	}
	page := func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Header("X-Content-Type-Options", "nosniff")
		c.Data(http.StatusOK, "text/html; charset=utf-8", index)
	}
	e.GET("/", page)
	e.HEAD("/", page)
	assets := func(c *gin.Context) { serveAsset(c, files, strings.TrimPrefix(c.Param("file"), "/")) }
	e.GET(AssetPrefix+"*file", assets)
	e.HEAD(AssetPrefix+"*file", assets)
}

var types = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
	".ico": "image/x-icon",
}

// serveAsset answers a hashed asset, immutable for a year, gzip-encoded
// from its precompressed twin when the client accepts it.
func serveAsset(c *gin.Context, files fs.FS, name string) {
	ctype, ok := types[path.Ext(name)]
	if !ok || name == "" || strings.Contains(name, "..") || strings.HasSuffix(name, ".gz") || !fs.ValidPath(name) {
		notFound(c)
		return
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	if acceptsGzip(c.GetHeader("Accept-Encoding")) {
		if b, err := fs.ReadFile(files, name+".gz"); err == nil {
			h.Set("Content-Encoding", "gzip")
			c.Data(http.StatusOK, ctype, b)
			return
		}
	}
	b, err := fs.ReadFile(files, name)
	if err != nil {
		notFound(c)
		return
	}
	c.Data(http.StatusOK, ctype, b)
}

func acceptsGzip(v string) bool {
	for part := range strings.SplitSeq(v, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") || strings.Contains(params, "q=0.")
		}
	}
	return false
}

func notFound(c *gin.Context) {
	c.JSON(http.StatusNotFound, gin.H{"error_code": "ENDPOINT_NOT_FOUND", "message": "No such endpoint: " + c.Request.Method + " " + c.Request.URL.Path})
}
