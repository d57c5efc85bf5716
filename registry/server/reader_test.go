package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/mlgate/mlgate/internal/apierr"
)

func ctxFor(method, target, body string) *gin.Context {
	gin.SetMode(gin.TestMode)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(method, target, bytes.NewBufferString(body))
	c.Request.Header.Set("Content-Type", "application/json")
	return c
}

// TestReaderRules checks the registry's request rules (MLflow's): a
// legacy double-encoded body, an unparsable body read as empty, tags.
func TestReaderRules(t *testing.T) {
	r, err := reader.Read(ctxFor(http.MethodPost, "/x", `"{\"name\": \"b\", \"tags\": [{\"key\": \"k\"}]}"`))
	if err != nil {
		t.Fatal(err)
	}
	if n := r.Required("name"); n != "b" {
		t.Fatalf("legacy name %q", n)
	}
	if tg := tags(r); r.Err() != nil || len(tg) != 1 || tg[0].Key != "k" || tg[0].Value != "" {
		t.Fatalf("tags %v %v", tg, r.Err())
	}
	r, err = reader.Read(ctxFor(http.MethodPost, "/x", `{"name": `))
	if err != nil {
		t.Fatalf("unparsable body refused: %v", err)
	}
	if tg := tags(r); tg != nil || r.Err() != nil {
		t.Fatalf("absent tags %v %v", tg, r.Err())
	}
	for body, want := range map[string]string{
		`{"tags": {"key": "k"}}`: `Invalid value {"key":"k"} for parameter 'tags' supplied:  Hint: Value was of type 'dict'. See the API docs for more information about request parameters.`,
	} {
		r, _ := reader.Read(ctxFor(http.MethodPost, "/x", body))
		if tg := tags(r); tg != nil || r.Err() == nil || r.Err().Error() != want || apierr.From(r.Err()).HTTPStatus() != 400 {
			t.Errorf("%s: %v, want %q", body, r.Err(), want)
		}
	}
	// A keyless tag is read with the key "", which the store refuses in
	// MLflow's words (as MLflow's store does, its handler checks nothing).
	r, _ = reader.Read(ctxFor(http.MethodPost, "/x", `{"tags": [{"value": "v"}]}`))
	if tg := tags(r); r.Err() != nil || len(tg) != 1 || tg[0].Key != "" || tg[0].Value != "v" {
		t.Fatalf("keyless tag %v %v", tg, r.Err())
	}
	if r, _ := reader.Read(ctxFor(http.MethodGet, "/x?tags=k", "")); r == nil {
		t.Fatal("query refused")
	} else if tg := tags(r); tg != nil || r.Err() != nil {
		t.Fatalf("query tags %v %v", tg, r.Err())
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
		r.Required("name")
		r.Int("max_results", 1)
		r.List("stages")
		tags(r)
		r.Bool("archive_existing_versions")
		if e := r.Err(); e != nil && apierr.From(e).HTTPStatus() != http.StatusBadRequest {
			t.Fatalf("%q: error status %d: %v", body, apierr.From(e).HTTPStatus(), e)
		}
	})
}
