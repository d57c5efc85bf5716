package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
)

func ctxFor(method, target, body string) *gin.Context {
	gin.SetMode(gin.TestMode)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(method, target, strings.NewReader(body))
	c.Request.Header.Set("Content-Type", "application/json")
	return c
}

func TestReader(t *testing.T) {
	r, err := reader.Read(ctxFor(http.MethodGet, "/x?name=a&stages=None&stages=Staging&max_results=5&archive=TRUE", ""))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := r.Required("name"); n != "a" {
		t.Fatalf("name %q", n)
	}
	if st, _ := r.List("stages"); len(st) != 2 || st[1] != "Staging" {
		t.Fatalf("stages %v", st)
	}
	if m, _ := r.Int("max_results", 1); m != 5 {
		t.Fatalf("max_results %d", m)
	}
	if b, err := r.Bool("archive"); !b || err != nil {
		t.Fatalf("bool %v %v", b, err)
	}
	// Double-encoded legacy body, numeric strings for int64 fields.
	r, err = reader.Read(ctxFor(http.MethodPost, "/x", `"{\"name\": \"b\", \"max_results\": \"7\"}"`))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := r.Required("name"); n != "b" {
		t.Fatalf("legacy name %q", n)
	}
	if m, _ := r.Int("max_results", 1); m != 7 {
		t.Fatalf("string max_results %d", m)
	}
	r, _ = reader.Read(ctxFor(http.MethodPost, "/x", `{"name": 3, "flag": "x", "tags": [{"value": "v"}]}`))
	if _, err := r.Required("name"); err == nil {
		t.Fatal("number accepted as string")
	}
	if _, err := r.Bool("flag"); err == nil {
		t.Fatal("string accepted as bool")
	}
	if _, err := tags(r); err == nil {
		t.Fatal("tag without key accepted")
	}
	if _, err := r.Required("missing"); err == nil {
		t.Fatal("missing required accepted")
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"name":"a","tags":[{"key":"k","value":"v"}],"max_results":3}`, `"{\"name\":1}"`, `[1,2]`, `{"stages":"x"}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r, err := reader.Read(ctxFor(http.MethodPost, "/x", body))
		if err != nil {
			if apierr.From(err).HTTPStatus() >= 500 {
				t.Fatalf("server error for client input: %v", err)
			}
			return
		}
		for _, e := range []error{
			func() error { _, err := r.Required("name"); return err }(),
			func() error { _, err := r.Int("max_results", 1); return err }(),
			func() error { _, err := r.List("stages"); return err }(),
			func() error { _, err := tags(r); return err }(),
			func() error { _, err := r.Bool("archive_existing_versions"); return err }(),
		} {
			if e != nil && apierr.From(e).HTTPStatus() != http.StatusBadRequest {
				t.Fatalf("%q: error status %d: %v", body, apierr.From(e).HTTPStatus(), e)
			}
		}
	})
}
