package auth

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"
)

func hash(t *testing.T, s string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(s), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestMiddleware(t *testing.T) {
	file := "# users\nalice:" + hash(t, "pw") + "\nbob:" + hash(t, "ro") + ":read\ntoken:ci:" + hash(t, "tok") + ":write\n"
	a, err := Parse(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(a.Middleware("/health"))
	r.GET("/health", func(c *gin.Context) { c.String(200, "OK") })
	r.GET("/api/2.0/mlflow/runs/get", func(c *gin.Context) { c.String(200, "{}") })
	r.POST("/api/2.0/mlflow/runs/create", func(c *gin.Context) { c.String(200, "{}") })
	r.POST("/api/2.0/mlflow/runs/search", func(c *gin.Context) { c.String(200, "{}") })
	basic := basicHeader
	cases := []struct {
		method, path, auth string
		want               int
	}{
		{"GET", "/health", "", 200},
		{"GET", "/api/2.0/mlflow/runs/get", "", 401},
		{"GET", "/api/2.0/mlflow/runs/get", basic("alice", "wrong"), 401},
		{"GET", "/api/2.0/mlflow/runs/get", basic("alice", "pw"), 200},
		{"POST", "/api/2.0/mlflow/runs/create", basic("alice", "pw"), 200},
		{"GET", "/api/2.0/mlflow/runs/get", basic("bob", "ro"), 200},
		{"POST", "/api/2.0/mlflow/runs/search", basic("bob", "ro"), 200},
		{"POST", "/api/2.0/mlflow/runs/create", basic("bob", "ro"), 403},
		{"POST", "/api/2.0/mlflow/runs/create", "Bearer tok", 200},
		{"POST", "/api/2.0/mlflow/runs/create", "Bearer nope", 401},
		// The scheme in any case, spaces before the credentials ignored
		// (werkzeug's reading); no scheme, or no space after it, is not one.
		{"GET", "/api/2.0/mlflow/runs/get", "basic " + basic("alice", "pw")[6:], 200},
		{"GET", "/api/2.0/mlflow/runs/get", "BASIC   " + basic("alice", "pw")[6:], 200},
		{"POST", "/api/2.0/mlflow/runs/create", "bearer tok", 200},
		{"GET", "/api/2.0/mlflow/runs/get", basic("alice", "pw")[6:], 401},
		{"GET", "/api/2.0/mlflow/runs/get", "Basic" + basic("alice", "pw")[6:], 401},
		{"POST", "/api/2.0/mlflow/runs/create", "Bearertok", 401},
	}
	for _, c := range cases {
		for i := 0; i < 2; i++ { // the second pass hits the cache
			req := httptest.NewRequest(c.method, c.path, nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != c.want {
				t.Fatalf("%s %s %q: status %d, want %d", c.method, c.path, c.auth, w.Code, c.want)
			}
			if w.Code == http.StatusUnauthorized && !strings.Contains(w.Body.String(), `"UNAUTHENTICATED"`) {
				t.Fatalf("401 body %s", w.Body.String())
			}
			if w.Code == http.StatusForbidden && !strings.Contains(w.Body.String(), `"PERMISSION_DENIED"`) {
				t.Fatalf("403 body %s", w.Body.String())
			}
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, f := range []string{"", "alice", "alice:notahash", "alice:" + hash(t, "x") + ":boss"} {
		if _, err := Parse(strings.NewReader(f)); err == nil {
			t.Errorf("%q: want an error", f)
		}
	}
}

func basicHeader(u, p string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p))
}
