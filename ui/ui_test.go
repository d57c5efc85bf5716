package ui

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func engine() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	Mount(e)
	return e
}

func do(e http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w
}

func TestPageAndAssets(t *testing.T) {
	e := engine()
	w := do(e, "/")
	if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), "text/html") || w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET / = %d %v", w.Code, w.Header())
	}
	m := regexp.MustCompile(`src="static-files/(app-[A-Z0-9]+\.js)"`).FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("index.html loads no script:\n%s", w.Body)
	}
	plain := do(e, AssetPrefix+m[1])
	if plain.Code != 200 || plain.Header().Get("Content-Encoding") != "" || !strings.HasPrefix(plain.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("plain asset: %d %v", plain.Code, plain.Header())
	}
	if !strings.Contains(plain.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("hashed asset not cached: %v", plain.Header())
	}
	gz := do(e, AssetPrefix+m[1], "Accept-Encoding", "br, gzip")
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Body.Len() >= plain.Body.Len() {
		t.Fatalf("gzip asset: %v, %d vs %d bytes", gz.Header(), gz.Body.Len(), plain.Body.Len())
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if string(b) != plain.Body.String() {
		t.Fatal("gzip twin differs from the asset")
	}
	if w := do(e, AssetPrefix+m[1], "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Fatal("gzip sent to a client that refused it")
	}
	if w := do(e, AssetPrefix+"favicon.svg"); w.Code != 200 || w.Header().Get("Content-Type") != "image/svg+xml" {
		t.Errorf("favicon: %d %v", w.Code, w.Header())
	}
	for _, p := range []string{AssetPrefix + m[1] + ".gz", AssetPrefix + "../ui.go", AssetPrefix + "index.html", AssetPrefix + "nope.js", AssetPrefix} {
		if w := do(e, p); w.Code != 404 || !strings.Contains(w.Body.String(), "ENDPOINT_NOT_FOUND") {
			t.Errorf("GET %s = %d %s, want 404", p, w.Code, w.Body)
		}
	}
}
